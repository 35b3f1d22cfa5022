"""The payment actions of the invoice page (docs/frontend.md, "Invoice payment
actions"): record, charge, void and retry. Refunds are in refunds.py."""

import datetime
from functools import cached_property

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.errors import BillingError
from billing.forms.fields import ISO_DATE, IdempotentForm, MoneyField, amount_initial
from billing.models import EXTERNAL_METHODS, NOTE_MAX_LENGTH, PaymentMethod, PaymentMethodKind
from billing.money import format_money, normalize
from billing.services._common import payment_date
from billing.templatetags.billing import card, card_expired


class PaymentRecordForm(IdempotentForm):
    """Money that arrived outside the system (services.payment_record).

    "Reference" is a bank transfer's bank reference (kept as the payment's
    ``bank_reference``, shown as "Bank transfer (ref …)"); for the other methods
    it is the payment's reference. Only the chosen method's details are passed
    on: the others stay in the page (CSS hides them) and are posted too.
    ``excess_to_credit`` counts only when the amount is above what is payable and
    "Write off the rest" only when it is below, so a choice left over from an
    earlier amount never reaches the service.
    """

    KEEP = "keep"
    WRITE_OFF = "write_off"
    # The service's refusal of a named instalment goes above the form: the
    # field is hidden.
    SERVICE_FIELDS = {"instalments": None}

    amount = MoneyField(label="Amount")
    paid_at = forms.DateField(
        label="Payment date",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": ISO_DATE},
    )
    # Shown once the payment date is before the invoice's issue date
    # (``Invoice.predates``): such a date is recorded only when confirmed.
    date_confirmed = forms.BooleanField(label="The payment date is right", required=False)
    method = forms.ChoiceField(
        label="Method", choices=[(m.value, m.label) for m in EXTERNAL_METHODS]
    )
    cheque_number = forms.CharField(
        label="Cheque number", required=False, max_length=50, help_text="For a cheque."
    )
    card_brand = forms.CharField(
        label="Card brand",
        required=False,
        max_length=30,
        help_text="For a card terminal: as on the receipt, e.g. Visa.",
    )
    card_last4 = forms.CharField(
        label="Last 4 digits",
        required=False,
        max_length=4,
        help_text="For a card terminal.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=100,
        help_text="For a bank transfer: the bank's reference.",
    )
    notes = forms.CharField(
        label="Notes",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    excess_to_credit = forms.BooleanField(
        label="Send the excess to customer credit", required=False
    )
    # The instalment a per-instalment "Record payment" names (its id, as the
    # page gave it): the payment pays it first. The service checks it.
    instalments = forms.CharField(required=False, widget=forms.HiddenInput)
    rest = forms.ChoiceField(
        label="The rest",
        required=False,
        initial=KEEP,
        widget=forms.RadioSelect,
        choices=[(KEEP, "Keep the invoice open for the rest"), (WRITE_OFF, "Write off the rest")],
    )

    def __init__(self, *args, invoice, may_write_off=True, instalment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.payable = invoice.payable_now
        # The instalment named (shown in the form; None when the id is not one
        # of the invoice's, which the service then refuses).
        self.instalment = instalment
        # Writing off is crediting (a write_off credit note): only for people who
        # may issue credit notes; for the others the rest simply stays due.
        self.may_write_off = may_write_off
        if not may_write_off:
            self.fields["rest"].choices = [(self.KEEP, "Keep the invoice open for the rest")]
        amount = self.fields["amount"]
        amount.currency = invoice.currency
        amount.initial = amount_initial(self.payable)
        if instalment is not None:
            amount.initial = amount_initial(min(instalment.remaining, self.payable))
            self.fields["instalments"].initial = instalment.pk
        today = timezone.localdate()
        self.fields["paid_at"].initial = today
        oldest = today - datetime.timedelta(days=settings.BILLING_PAYMENT_DATE_MAX_AGE_DAYS)
        self.fields["paid_at"].widget.attrs.update(max=today.isoformat(), min=oldest.isoformat())
        if self.is_bound and not self.data.get("rest"):
            # The choice below the due appears only once an amount is typed:
            # until one is made, "keep the invoice open" is the one shown chosen.
            self.data = self.data.copy()
            self.data["rest"] = self.KEEP

    def clean(self):
        data = super().clean()
        paid_at = data.get("paid_at")
        if self.date_needs_confirming(paid_at) and not data["date_confirmed"]:
            self.add_error(
                "paid_at",
                ValidationError(
                    f"{paid_at:%d %b %Y} is before invoice {self.invoice} was issued "
                    f"({self.invoice.issue_date:%d %b %Y}). If that is right (a deposit, "
                    "an early payment), tick “The payment date is right” and record it.",
                    code="date_before_issue",
                ),
            )
        amount = data.get("amount")
        data["excess_to_credit"] = bool(
            amount is not None and data.get("excess_to_credit") and amount > self.payable
        )
        data["write_off_remainder"] = bool(
            amount is not None and data.get("rest") == self.WRITE_OFF and amount < self.payable
        )
        return data

    def payment_details(self):
        """The ``details`` of the chosen method (services.payments.clean_details)."""
        data = self.cleaned_data
        method = data["method"]
        if method == PaymentMethodKind.BANK_TRANSFER:
            return {"bank_reference": data["reference"]}
        names = {
            PaymentMethodKind.CHEQUE: ("cheque_number",),
            PaymentMethodKind.CARD: ("card_brand", "card_last4"),
        }.get(method, ())
        return {name: data[name] for name in names}

    def named_instalments(self):
        """``payment_record``'s ``instalments``: the id posted, or None; the
        service says whether it is one of the invoice's instalments."""
        named = self.cleaned_data["instalments"].strip()
        return [named] if named else None

    def payment_reference(self):
        data = self.cleaned_data
        return "" if data["method"] == PaymentMethodKind.BANK_TRANSFER else data["reference"]

    def date_needs_confirming(self, day):
        """A date before the invoice's issue date that the service would take:
        one beyond its hard limits gets the service's refusal, not a warning
        to confirm first."""
        if day is None or not self.invoice.predates(day):
            return False
        try:
            payment_date(day)
        except BillingError:
            return False
        return True

    @property
    def date_predates_issue(self):
        """The typed date is before the invoice's issue date: the confirmation
        box is shown."""
        try:
            day = self.fields["paid_at"].clean(self["paid_at"].value())
        except ValidationError:
            return False
        return self.date_needs_confirming(day)

    @cached_property
    def typed_amount(self):
        """The amount in the field now (as typed, or prefilled), or None."""
        try:
            return self.fields["amount"].clean(self["amount"].value())
        except ValidationError:
            return None

    @property
    def excess(self):
        """How much the typed amount is above what is payable, or None."""
        amount = self.typed_amount
        return amount - self.payable if amount is not None and amount > self.payable else None

    @property
    def remainder(self):
        """How much the typed amount leaves payable, or None."""
        amount = self.typed_amount
        return self.payable - amount if amount is not None and amount < self.payable else None


def _saved_method_label(method):
    """ "Visa •••• 4242 · expires 04/2030 · default", as staff pick a card."""
    when = f"{method.exp_month:02d}/{method.exp_year}"
    expiry = f"expired {when}" if card_expired(method) else f"expires {when}"
    default = " · default" if method.is_default else ""
    return f"{card(method.brand, method.last4)} · {expiry}{default}"


class PaymentChargeForm(IdempotentForm):
    """A charge of one of the customer's saved methods (services.payment_charge),
    prefilled with what is payable now (the due less pending charges). With no
    saved method the field is optional, so the service's own refusal
    (``no_saved_payment_method``) is what the form shows."""

    payment_method = forms.ModelChoiceField(
        label="Saved method",
        queryset=PaymentMethod.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
    )
    amount = MoneyField(label="Amount")

    def __init__(self, *args, invoice, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.payable = invoice.payable_now
        field = self.fields["payment_method"]
        field.queryset = methods
        field.label_from_instance = _saved_method_label
        listed = list(methods)
        default = next((m for m in listed if m.is_default), listed[0] if listed else None)
        field.initial = default.pk if default else None
        field.required = bool(listed)
        amount = self.fields["amount"]
        amount.currency = invoice.currency
        amount.initial = amount_initial(self.payable)
        if invoice.amount_pending.amount > 0:
            amount.help_text = (
                f"{format_money(invoice.amount_pending)} is already being charged; at most "
                f"{format_money(normalize(self.payable))} more can be."
            )


class PaymentVoidForm(IdempotentForm):
    """Why an external payment is voided (services.payment_void). The service
    takes no idempotency key: a second void of the same payment is refused
    (``invalid_state``) and writes nothing, so a double submit voids once."""

    reason = forms.CharField(
        label="Reason",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why it was recorded by mistake. The payment stays listed, voided.",
    )


class PaymentRetryForm(IdempotentForm):
    """Confirms a new charge after a failed one (services.payment_retry)."""

    def __init__(self, *args, payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.amount = payment.retry_amount


class PaymentCheckStatusForm(forms.Form):
    """Confirms asking the gateway about a payment's pending charge or refunds
    (services.payment_check_status). Asking twice is harmless: a settled record
    is left as it is, so it needs no idempotency key."""
