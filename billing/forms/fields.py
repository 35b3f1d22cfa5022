"""What the back office's forms share: the amount field (``MoneyField``), the
plain number field (``PlainDecimalField``), the idempotency key of an action
form, and the "any"/"choose" first choice of a select."""

import re
import uuid
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from moneyed import Money

from billing.errors import BillingError
from billing.money import normalize, parse_amount, parse_money


def any_choice(label, choices):
    """``choices`` after an empty first choice reading ``label`` ("Any status")."""
    return [("", label), *choices]


class IdempotentForm(forms.Form):
    # One key per opened form: a double submit acts once.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4()


# The one way dates are typed (config/formats/en/formats.py): what a date field says
# when it cannot read one.
ISO_DATE = "Write the date as YYYY-MM-DD, for example 2026-03-14."


class MoneyField(forms.CharField):
    """An amount typed in ``currency``: it cleans to a ``moneyed.Money`` through
    ``billing.money.parse_money``, the one parser of amounts, or to a field error
    with its message and code. ``allow_zero`` and ``allow_negative`` are
    parse_money's; left empty (``required=False``) it cleans to None.

    The form sets ``currency`` (``self.fields["amount"].currency = ...`` in its
    ``__init__``): the invoice's, the payment's, the credit's. The field shows
    it after the input (``suffix``, components/form_row.html), so the label
    stays exactly the field's name. Until the currency is known (a new draft's
    lines before a customer is chosen) only the number is checked, and it
    cleans to the text as typed. Its initial value may be Money:
    it is shown as typed, at the currency's decimals (48000, 100.00, 375.125).
    """

    def __init__(self, *, currency=None, allow_zero=False, allow_negative=False, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)
        self.currency = currency
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        if not allow_negative:
            # A decimal keypad has no minus sign: a signed amount keeps the keyboard.
            self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("autocomplete", "off")

    @property
    def suffix(self):
        return self.currency

    def prepare_value(self, value):
        if isinstance(value, Money):
            return f"{normalize(value).amount:f}"
        return super().prepare_value(value)

    def clean(self, value):
        # The CharField's checks (required, max_length) first, on the text.
        text = super().clean(value)
        if text in self.empty_values:
            return None
        if self.currency is None:
            return self._number(text)
        return self.to_money(text, self.currency)

    def to_money(self, text, currency):
        """``text`` as Money in ``currency``, or a ValidationError."""
        try:
            return parse_money(
                text, currency, allow_zero=self.allow_zero, allow_negative=self.allow_negative
            )
        except BillingError as error:
            raise ValidationError(error.message, code=error.code) from None

    def _number(self, text):
        try:
            parse_amount(text, allow_zero=True, allow_negative=self.allow_negative)
        except BillingError as error:
            raise ValidationError(error.message, code=error.code) from None
        return text


class PlainDecimalField(forms.DecimalField):
    """A number that is not an amount (a quantity, a tax rate), written with
    ASCII digits and at most one decimal point: ``2``, ``0.5``, ``19.25``.
    Django's DecimalField reads exponents, other scripts' digits, NaN and
    Infinity (and comparing a signalling NaN raises); this refuses them."""

    PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            text = f"{value:f}" if value.is_finite() else "NaN"
        else:
            text = str(value).strip()
        if not self.PLAIN.fullmatch(text):
            raise ValidationError(
                f"Write the number with digits and one decimal point, like 2.5; "
                f"{text[:20]!r} is not one.",
                code="invalid",
            )
        return Decimal(text)


def amount_initial(money):
    """What a form prefills: ``money`` when there is some, else nothing."""
    return money if money.amount > 0 else None
