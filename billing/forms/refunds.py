"""The refund of one payment, with or without a credit note."""

from django import forms

from billing.forms.fields import IdempotentForm, MoneyField, amount_initial, any_choice
from billing.models import NOTE_MAX_LENGTH, RefundDestination, RefundReason
from billing.money import format_money, normalize
from billing.templatetags.billing import card


class PaymentRefundForm(IdempotentForm):
    """A refund of one payment, and what it does to the invoice.

    "The customer owes this again" is a plain refund (services.payment_refund):
    the invoice's due grows back. "Issue a credit note" is
    services.credit_note_issue with the refund: the invoice stays paid. Where
    the money may go with each is the payment's rule
    (``Payment.refund_destinations_for``): the destinations offered are only
    those valid with the choice posted (or the initial one), so an invalid pair
    is never offered, and one posted anyway is refused on the destination. The
    credit-note choice is offered only to people who may issue credit notes;
    its default follows the reason (``RefundReason.keeps_invoice_paid``).
    """

    # With a credit note the service names the credit note's parts; here they
    # are all this form's amount (views._htmx.add_billing_error reads this).
    SERVICE_FIELDS = {"refund": "amount", "reduce_due": "amount"}

    OWES_AGAIN = "owes_again"
    CREDIT_NOTE = "credit_note"

    amount = MoneyField(label="Amount")
    reason = forms.ChoiceField(
        label="Reason", choices=any_choice("Choose a reason", RefundReason.choices)
    )
    invoice_effect = forms.ChoiceField(label="The invoice", widget=forms.RadioSelect)
    destination = forms.ChoiceField(label="Where the money goes", widget=forms.RadioSelect)
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

    def __init__(self, *args, payment, credit_note_allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.credit_note_allowed = credit_note_allowed
        refundable = normalize(payment.refundable)
        amount = self.fields["amount"]
        amount.currency = payment.currency
        amount.initial = amount_initial(refundable)
        amount.help_text = f"At most {format_money(refundable)} of this payment."
        self.labels = labels = dict(RefundDestination.choices)
        if payment.payment_method_id:
            saved = payment.payment_method
            labels[RefundDestination.ORIGINAL_METHOD] = (
                f"Back to the card ({card(saved.brand, saved.last4)})"
            )
        effects = [(self.OWES_AGAIN, "The customer owes this again")]
        if credit_note_allowed:
            effects.append((self.CREDIT_NOTE, "Also issue a credit note so the invoice stays paid"))
        effect = self.fields["invoice_effect"]
        effect.choices = effects
        effect.initial = self.default_effect(self.initial.get("reason"))
        effect.help_text = (
            "A refund alone puts the amount back on what the invoice asks for; with a "
            "credit note the invoice stays paid. The default follows the reason."
        )
        self.with_credit_note = self._effect() == self.CREDIT_NOTE
        natural = labels[payment.natural_refund_destination]
        destination = self.fields["destination"]
        destination.choices = [
            (d, labels[d])
            for d in payment.refund_destinations_for(credit_note=self.with_credit_note)
        ]
        destination.initial = destination.choices[0][0]
        destination.error_messages["invalid_choice"] = (
            f"A credit note refunds the way the money came: “{natural}”. "
            "To send it elsewhere, let the customer owe it again."
            if self.with_credit_note
            else "This payment's money cannot go there."
        )
        if self.with_credit_note:
            destination.help_text = (
                f"With a credit note the money goes the way it came: {natural.lower()}."
            )

    def default_effect(self, reason):
        """The choice a reason suggests: a credit note when the sale is undone."""
        suggests_note = reason in RefundReason.values and RefundReason(reason).keeps_invoice_paid
        return self.CREDIT_NOTE if self.credit_note_allowed and suggests_note else self.OWES_AGAIN

    def _effect(self):
        """The invoice choice as posted when it is one on offer, else the initial one."""
        posted = self.data.get(self.add_prefix("invoice_effect")) if self.is_bound else None
        if posted in dict(self.fields["invoice_effect"].choices):
            return posted
        return self.fields["invoice_effect"].initial

    def following(self, reason_shown):
        """This form's data as the refund modal's choices should show it next:
        the invoice choice reset to the reason's default when the reason has
        changed since ``reason_shown``, and the destination moved to a valid one
        when the posted one is not valid with that choice. Unbound forms and
        submits are never changed; only the htmx refresh of the choices asks."""
        data = self.data.copy()
        reason = data.get("reason", "")
        if reason != (reason_shown or ""):
            data["invoice_effect"] = self.default_effect(reason)
        form = type(self)(data, payment=self.payment, credit_note_allowed=self.credit_note_allowed)
        valid = [value for value, _label in form.fields["destination"].choices]
        if data.get("destination") not in valid:
            data["destination"] = valid[0]
            form = type(self)(
                data, payment=self.payment, credit_note_allowed=self.credit_note_allowed
            )
        return form
