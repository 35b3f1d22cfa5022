from django.db import models

from billing.models._base import actor_field, currency_field
from billing.money import money_field


class InvoiceEventKind(models.TextChoices):
    CREATED = "created", "Draft created"
    ISSUED = "issued", "Issued"
    VOIDED = "voided", "Voided"
    PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
    PAYMENT_PENDING = "payment_pending", "Charge started"
    PAYMENT_SUCCEEDED = "payment_succeeded", "Charge succeeded"
    PAYMENT_FAILED = "payment_failed", "Charge failed"
    PAYMENT_UNKNOWN = "payment_unknown", "Charge outcome unknown"
    PAYMENT_VOIDED = "payment_voided", "Payment voided"
    OVERPAYMENT_TO_CREDIT = "overpayment_to_credit", "Overpayment sent to credit"
    CREDIT_APPLIED = "credit_applied", "Credit applied"
    REFUND_ISSUED = "refund_issued", "Refund issued"
    REFUND_PENDING = "refund_pending", "Refund sent to the gateway"
    REFUND_SUCCEEDED = "refund_succeeded", "Refund succeeded"
    REFUND_FAILED = "refund_failed", "Refund failed"
    CREDIT_NOTE_ISSUED = "credit_note_issued", "Credit note issued"
    DOCUMENT_EMAILED = "document_emailed", "Document e-mailed"
    PAYMENT_DISPUTED = "payment_disputed", "Payment disputed"
    SCHEDULE_SET = "schedule_set", "Payment schedule set"
    SCHEDULE_REMOVED = "schedule_removed", "Payment schedule removed"


# The intermediate steps of a gateway operation: its outcome (succeeded, failed,
# unknown) is an event of its own, so a feed of what happened leaves these out.
INTERMEDIATE_EVENT_KINDS = (InvoiceEventKind.PAYMENT_PENDING, InvoiceEventKind.REFUND_PENDING)


class InvoiceEvent(models.Model):
    """The invoice's timeline: what happened, which amount, who, when, why.

    Written by each service in the same transaction as the change it describes.
    """

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=InvoiceEventKind.choices)
    currency = currency_field(blank=True)
    amount = money_field(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    payment = models.ForeignKey(
        "billing.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        "billing.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credit_note = models.ForeignKey(
        "billing.CreditNote", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.invoice})"


class GatewayEvent(models.Model):
    """A gateway's own notification that billing recorded (a Stripe webhook event
    that wrote a timeline entry: a dispute), kept by the gateway's event id.

    Written in the transaction of the entry it caused, so a second delivery of
    the same event finds it and writes nothing; ``(gateway, event_id)`` is
    unique. Settling events need none: settling a record no longer pending
    changes nothing.
    """

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    invoice_event = models.OneToOneField(
        InvoiceEvent, on_delete=models.PROTECT, related_name="gateway_event"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_event_once"),
        ]

    def __str__(self):
        return f"{self.gateway} {self.type} {self.event_id}"
