"""Outgoing webhooks: where events go (endpoints), what was said (events), and
each try to say it (deliveries and their attempts).

Nothing here is written by a billing operation. The relay (webhooks/relay.py)
derives events from the rows every operation already writes in its own
transaction (the invoice timeline, the balance ledger, receipts), so a
rolled-back operation has nothing to derive from and a committed one cannot be
missed (docs/decisions.md, "Outgoing webhooks read the timeline").
"""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from billing.models._base import actor_field


class EventType(models.TextChoices):
    PAYMENT_SUCCEEDED = "payment.succeeded", "A payment succeeded"
    PAYMENT_FAILED = "payment.failed", "A charge failed"
    PAYMENT_VOIDED = "payment.voided", "A payment was voided"
    REFUND_SUCCEEDED = "refund.succeeded", "A refund succeeded"
    REFUND_FAILED = "refund.failed", "A refund failed"
    CREDIT_NOTE_CREATED = "credit_note.created", "A credit note was issued"
    INVOICE_ISSUED = "invoice.issued", "An invoice was issued"
    INVOICE_PAYMENT_STATUS_UPDATED = (
        "invoice.payment_status_updated",
        "An invoice's payment status changed",
    )
    INVOICE_PAID = "invoice.paid", "An invoice was paid in full"
    INVOICE_VOIDED = "invoice.voided", "An invoice was voided"
    CUSTOMER_BALANCE_CHANGED = "customer.balance_changed", "A customer's credit balance changed"
    RECEIPT_CREATED = "receipt.created", "A receipt was made"


class WebhookEndpoint(models.Model):
    """A URL that wants some event types, signed with its own secret.

    ``secret`` is ``whsec_`` + base64 of 32 random bytes (Standard Webhooks); it is
    kept because every delivery is signed with it, and shown only on the answer
    that made it. After a rotation ``previous_secret`` signs too, beside the new
    one, until ``previous_secret_expires_at``. ``failing_since`` is the first
    failed attempt since the last success; an endpoint failing for
    WEBHOOKS_DISABLE_AFTER_SECONDS is disabled (``disabled_reason`` says why).
    """

    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField("events", default=list)
    enabled = models.BooleanField(default=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.url

    def get_absolute_url(self):
        return reverse("webhooks:endpoint_detail", args=[self.pk])

    def wants(self, event_type):
        return self.enabled and event_type in self.event_types


class WebhookEvent(models.Model):
    """One thing that happened, as sent: ``body`` is the exact JSON every attempt
    and every endpoint gets, and ``public_id`` its ``webhook-id``, so a receiver
    can drop a repeat. ``source`` names the row it was derived from and the type
    (``invoice_event:42:payment.succeeded``): unique, so deriving it twice makes
    one event."""

    public_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40, choices=EventType.choices)
    source = models.CharField(max_length=80, unique=True)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.type} {self.public_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """One event to one endpoint, tried until a 2xx answer or for
    WEBHOOKS_RETRY_FOR_SECONDS. ``next_attempt_at`` is when the sender next tries
    a pending delivery (the partial index is what it polls)."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.PENDING) | Q(next_attempt_at__isnull=False),
                name="webhook_pending_delivery_has_a_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=DeliveryStatus.PENDING),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: the delivery log. ``status_code`` is None
    when no answer came (``error`` says why); ``response_body`` is cut to
    WEBHOOKS_RESPONSE_BODY_LIMIT characters."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    created_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    manual = models.BooleanField(default=False)

    class Meta:
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.delivery}: {self.status_code or self.error}"

    @property
    def succeeded(self):
        return self.status_code is not None and 200 <= self.status_code < 300


class RelayCursor(models.Model):
    """How far the relay has read one source table (webhooks/relay.py).

    Every row with an id up to ``last_id`` was handled (or, for an id that never
    became visible, given up on). An id missing below a visible one is a
    transaction still running, or one rolled back: ``gap_since`` is when the
    relay first saw such a gap and ``gap_until`` the highest id visible then.
    """

    source = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)
    gap_since = models.DateTimeField(null=True, blank=True)
    gap_until = models.BigIntegerField(null=True, blank=True)

    def __str__(self):
        return f"{self.source} at {self.last_id}"


class AnnouncedInvoiceStatus(models.Model):
    """The invoice status the last event told receivers, so that
    ``invoice.payment_status_updated`` goes out when the status differs, once."""

    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    status = models.CharField(max_length=20)

    def __str__(self):
        return f"{self.invoice_id}: {self.status}"
