"""The credit note form of the invoice page: its reason, memo and three parts."""

from django import forms
from django.core.exceptions import ValidationError

from billing.forms.fields import IdempotentForm, MoneyField, any_choice
from billing.models import NOTE_MAX_LENGTH, CreditNoteReason, PaymentMethodKind
from billing.money import format_money, normalize, zero
from billing.templatetags.billing import payment_method as payment_method_label

CREDIT_NOTE_PARTS = ("reduce_due", "refund", "to_credit")


def _refund_choice_label(payment):
    how = {
        PaymentMethodKind.SAVED_METHOD: "back to the card",
        PaymentMethodKind.CUSTOMER_CREDIT: "back to customer credit",
    }.get(payment.method, "paid back outside the system")
    return (
        f"{payment_method_label(payment)} · {payment.paid_at:%Y-%m-%d} · "
        f"{format_money(normalize(payment.refundable))} refundable ({how})"
    )


class CreditNoteIssueForm(IdempotentForm):
    """A credit note's reason, memo and three parts, any of them empty. The
    parts' limits are the service's to check (credit_note_issue)."""

    reason = forms.ChoiceField(
        label="Reason", choices=any_choice("Choose a reason", CreditNoteReason.choices)
    )
    reduce_due = MoneyField(label="Reduce what is due", required=False, allow_zero=True)
    refund = MoneyField(label="Refund", required=False, allow_zero=True)
    refund_payment = forms.TypedChoiceField(
        label="From payment", required=False, coerce=int, empty_value=None
    )
    to_credit = MoneyField(label="Move to customer credit", required=False, allow_zero=True)
    memo = forms.CharField(
        label="Notes",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, invoice, payments, preview=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.payments = {payment.pk: payment for payment in payments}
        # A preview (also htmx's, on every change) shows what the parts do: it
        # does not insist on a reason or on a part yet.
        self.preview = preview
        self.fields["reason"].required = not preview
        for name in CREDIT_NOTE_PARTS:
            self.fields[name].currency = invoice.currency
        due = format_money(invoice.amount_due)
        self.fields["reduce_due"].help_text = f"Up to what is due: {due}."
        if not self.payments:
            # Nothing paid that could be refunded or moved to credit.
            del self.fields["refund"], self.fields["refund_payment"], self.fields["to_credit"]
            return
        self.fields["refund_payment"].choices = any_choice(
            "Choose the payment to refund",
            [(pk, _refund_choice_label(payment)) for pk, payment in self.payments.items()],
        )
        if len(self.payments) == 1:
            self.fields["refund_payment"].initial = next(iter(self.payments))
        self.fields["to_credit"].help_text = "Paid money the customer keeps as credit."

    def clean_refund_payment(self):
        pk = self.cleaned_data.get("refund_payment")
        return self.payments.get(pk) if pk is not None else None

    def clean(self):
        data = super().clean()
        parts = self.parts()
        if any(name in self.errors for name in CREDIT_NOTE_PARTS):
            return data
        if not self.preview and not any(amount.amount > 0 for amount in parts.values()):
            raise ValidationError("Enter what the credit note credits: at least one part.")
        if parts["refund"].amount > 0 and data.get("refund_payment") is None:
            self.add_error("refund_payment", "Choose the payment to refund.")
        return data

    def parts(self):
        """{part: Money}, zero for a part left empty or not offered."""
        currency = self.invoice.currency
        return {
            name: self.cleaned_data.get(name) or zero(currency)
            if name in self.fields
            else zero(currency)
            for name in CREDIT_NOTE_PARTS
        }
