import uuid

from django.db import models
from django.db.models import Q

from billing.models._base import actor_field, currency_field, note_field, note_length, same_currency
from billing.money import money_field


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RefundDestination(models.TextChoices):
    ORIGINAL_METHOD = "original_method", "Back to the original payment method"
    EXTERNAL = "external", "Paid back outside the system"
    CUSTOMER_CREDIT = "customer_credit", "To customer credit"


class RefundReason(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
    PRODUCT_UNSATISFACTORY = "product_unsatisfactory", "Faulty or unsatisfactory product"
    DUPLICATE = "duplicate", "Duplicate"
    FRAUDULENT = "fraudulent", "Fraudulent"
    BOUNCED = "bounced", "Bounced"
    OTHER = "other", "Other"

    @property
    def keeps_invoice_paid(self):
        """Whether a refund for this reason usually comes with a credit note, so
        the invoice stays paid: the sale itself is undone (the customer asked,
        the product was faulty). Otherwise the customer owes the money again: a
        bounced cheque or a fraudulent payment never truly paid the invoice, and a
        duplicate leaves it paid by the other payment. The refund form's default."""
        return self in (RefundReason.REQUESTED_BY_CUSTOMER, RefundReason.PRODUCT_UNSATISFACTORY)


class Refund(models.Model):
    """Money given back from one payment, in its currency.

    A pending or succeeded refund counts in its payment's ``amount_refunded``;
    a failed one does not (and its failure is on the invoice's timeline).
    ``external_method`` and ``reference`` say how money paid back outside the
    system went; a refund to customer credit has a ``refund`` ledger entry.
    """

    payment = models.ForeignKey("billing.Payment", on_delete=models.PROTECT, related_name="refunds")
    currency = currency_field()
    amount = money_field()
    status = models.CharField(max_length=20, choices=RefundStatus.choices)
    destination = models.CharField(max_length=20, choices=RefundDestination.choices)
    external_method = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=30, choices=RefundReason.choices)
    notes = note_field()
    reference = models.CharField(max_length=200, blank=True)
    credit_note = models.ForeignKey(
        "billing.CreditNote",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
    )
    gateway_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    gateway_refund_id = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The refunds list filtered by date is sorted by (created_at, id).
            models.Index(fields=["created_at", "id"], name="refund_created_at_id"),
            # The currency filter offers only currencies in use (selectors.currencies_in_use).
            models.Index(fields=["currency", "id"], name="refund_currency_id"),
        ]
        constraints = [
            note_length("refund", "notes"),
            same_currency("refund", "amount"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self):
        return f"Refund #{self.pk}"

    @property
    def can_check_status(self):
        """Waiting for the gateway's answer (a timeout, a crash between the
        phases): "Check status" asks it (``services.payment_check_status``)."""
        return (
            self.status == RefundStatus.PENDING
            and self.destination == RefundDestination.ORIGINAL_METHOD
        )
