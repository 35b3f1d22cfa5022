"""What the back office's forms share: the amount field (``MoneyField``), the
idempotency key of an action form, and the "any"/"choose" first choice of a
select."""

import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from moneyed import Money

from billing.errors import BillingError, ErrorCode
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
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or (number < 0 and not self.allow_negative):
            raise ValidationError(f"{text!r} is not an amount.", code=ErrorCode.INVALID_AMOUNT)
        return text


def amount_initial(money):
    """What a form prefills: ``money`` when there is some, else nothing."""
    return money if money.amount > 0 else None
