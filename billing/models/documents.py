"""Receipts and the outbox: what leaves the system, written so a crash loses none of it."""

from django.db import models
from django.db.models import Q

from billing.models._base import actor_field


class Receipt(models.Model):
    """The receipt of one succeeded payment or one succeeded refund.

    ``number`` (``RCPT-2026-000001``) is gap-free per year: it is taken from the
    ``receipt`` DocumentSequence in the transaction that inserts this row, and
    never changes. At most one receipt per payment and per refund (unique).
    """

    number = models.CharField(max_length=30, unique=True)
    payment = models.OneToOneField(
        "billing.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    refund = models.OneToOneField(
        "billing.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(payment__isnull=False, refund__isnull=True)
                | Q(payment__isnull=True, refund__isnull=False),
                name="receipt_of_payment_or_refund",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def invoice(self):
        return (self.payment or self.refund.payment).invoice


class OutboxTopic(models.TextChoices):
    RECEIPT = "receipt", "Make a receipt"
    EMAIL = "email", "Send a document by e-mail"


class DocumentKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    CREDIT_NOTE = "credit_note", "Credit note"
    INVOICE = "invoice", "Invoice"


def _link(to):
    return models.ForeignKey(
        to, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )


class OutboxMessage(models.Model):
    """Work that must happen after a commit, written in the commit's transaction.

    A row is inserted by the operation that makes the work necessary (a payment
    that succeeded wants a receipt; a person asked for an e-mail), so the work is
    never lost with an ``on_commit`` callback. A task (one drain for a burst of
    rows) handles it and sets ``done_at`` in the transaction that does the work;
    ``outbox_sweep`` enqueues again what a lost task left undone. Handlers are
    idempotent.
    """

    topic = models.CharField(max_length=20, choices=OutboxTopic.choices)
    payment = _link("billing.Payment")
    refund = _link("billing.Refund")
    # An e-mail's document (one of the three) and where it goes.
    document = models.CharField(max_length=20, choices=DocumentKind.choices, blank=True)
    receipt = _link(Receipt)
    credit_note = _link("billing.CreditNote")
    invoice = _link("billing.Invoice")
    recipient = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field(null=True, blank=True, db_index=False)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Every succeeded payment inserts a row, so its foreign keys have no index
        # (each one more to update on the hottest write): only this partial index
        # of the rows not done, which the sweep and the handlers read.
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(done_at__isnull=True), name="outbox_pending"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(topic=OutboxTopic.RECEIPT)
                | Q(payment__isnull=False, refund__isnull=True)
                | Q(payment__isnull=True, refund__isnull=False),
                name="outbox_receipt_of_payment_or_refund",
            ),
            models.CheckConstraint(
                condition=~Q(topic=OutboxTopic.EMAIL) | (~Q(document="") & ~Q(recipient="")),
                name="outbox_email_has_document_and_recipient",
            ),
        ]

    def __str__(self):
        return f"{self.get_topic_display()} #{self.pk}"
