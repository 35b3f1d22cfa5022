"""The refund of one payment, with or without a credit note."""

from django import forms

from billing.forms.fields import IdempotentForm, MoneyField, amount_initial, any_choice
from billing.models import NOTE_MAX_LENGTH, RefundDestination, RefundReason
from billing.money import format_money, normalize
from billing.templatetags.billing import card


class PaymentRefundForm(IdempotentForm):
    """A refund of one payment, and what it does to the invoice.

    "The customer owes this again" is a plain refund (services.payment_refund):
    the invoice's due grows back. "Also issue a credit note" is
    services.credit_note_issue with the refund: the invoice stays paid, and the
    money goes back the way it came (``Payment.natural_refund_destination``), so that
    destination must be the one chosen. The credit-note choice is offered only
    to people who may issue credit notes.
    """

    # With a credit note the service names the credit note's parts; here they
    # are all this form's amount (views._htmx.add_billing_error reads this).
    SERVICE_FIELDS = {"refund": "amount", "reduce_due": "amount"}

    OWES_AGAIN = "owes_again"
    CREDIT_NOTE = "credit_note"

    amount = MoneyField(label="Amount")
    destination = forms.ChoiceField(label="Where the money goes", widget=forms.RadioSelect)
    reason = forms.ChoiceField(
        label="Reason", choices=any_choice("Choose a reason", RefundReason.choices)
    )
    notes = forms.CharField(
        label="Notes",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=200,
        help_text="How it was paid back, e.g. the bank transfer's reference.",
    )
    invoice_effect = forms.ChoiceField(
        label="The invoice", widget=forms.RadioSelect, initial=OWES_AGAIN
    )

    def __init__(self, *args, payment, credit_note_allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.natural_destination = payment.natural_refund_destination
        refundable = normalize(payment.refundable)
        amount = self.fields["amount"]
        amount.currency = payment.currency
        amount.initial = amount_initial(refundable)
        amount.help_text = f"At most {format_money(refundable)} of this payment."
        labels = dict(RefundDestination.choices)
        if payment.payment_method_id:
            saved = payment.payment_method
            labels[RefundDestination.ORIGINAL_METHOD] = (
                f"Back to the card ({card(saved.brand, saved.last4)})"
            )
        destination = self.fields["destination"]
        destination.choices = [(d, labels[d]) for d in payment.refund_destinations]
        destination.initial = self.natural_destination
        self.natural_label = labels[self.natural_destination]
        effects = [(self.OWES_AGAIN, "The customer owes this again")]
        if credit_note_allowed:
            effects.append((self.CREDIT_NOTE, "Also issue a credit note so the invoice stays paid"))
            self.fields["invoice_effect"].help_text = (
                "A refund alone puts the amount back on what the invoice asks for. With a "
                "credit note the invoice stays paid, and the money goes back the way it "
                f"came: “{self.natural_label}”."
            )
        self.fields["invoice_effect"].choices = effects

    def clean(self):
        data = super().clean()
        if (
            data.get("invoice_effect") == self.CREDIT_NOTE
            and data.get("destination")
            and data["destination"] != self.natural_destination
        ):
            self.add_error(
                "destination",
                "A credit note refunds the way the money came: choose "
                f"“{self.natural_label}”, or let the customer owe it again.",
            )
        return data
