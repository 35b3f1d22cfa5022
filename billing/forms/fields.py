"""What the back office's forms share: the idempotency key of an action form,
the "any"/"choose" first choice of a select, and the amount fields' helpers."""

import uuid

from django import forms
from django.core.exceptions import ValidationError

from billing.errors import BillingError
from billing.money import normalize, parse_money


def any_choice(label, choices):
    """``choices`` after an empty first choice reading ``label`` ("Any status")."""
    return [("", label), *choices]


class IdempotentForm(forms.Form):
    # One key per opened form: a double submit acts once.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4()


def amount_suffix(field, currency):
    """Show the currency after the input, so the label stays exactly the field's
    name (components/form_fields.html)."""
    field.suffix = currency
    field.widget.attrs.setdefault("inputmode", "decimal")
    field.widget.attrs.setdefault("autocomplete", "off")
    return field


def amount_initial(money):
    """An amount to prefill, at its currency's decimals: 48000, 100.00, 375.125."""
    return normalize(money).amount if money.amount > 0 else ""


def parse_amount(value, currency):
    try:
        return parse_money(value, currency)
    except BillingError as error:
        raise ValidationError(error.message) from None


def money_field_error(value, currency, **kwargs):
    try:
        return parse_money(value, currency, **kwargs)
    except BillingError as error:
        raise ValidationError(error.message) from None
