"""The built-in sandbox gateway's own books (``billing.gateways.sandbox``).

These tables stand in for the records a real gateway keeps on its side, so that
another process (``manage.py reconcile_payments``) can look a charge or refund up
by its idempotency key after the caller timed out or crashed. Billing's own money
records never point at them by foreign key: only by the gateway's string ids,
exactly as with Stripe.
"""

from django.db import models
from django.db.models import F, Q
from moneyed import Money

from billing.models._base import at_most, currency_field, same_currency
from billing.money import money_field


class SandboxStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SandboxCharge(models.Model):
    """One charge attempt the sandbox answered, succeeded or declined.

    ``idempotency_key`` is unique: a request repeated with the same key is answered
    from this row and never charges twice. ``amount_refunded`` is the sum of the
    charge's succeeded refunds; it moves only under this row's lock and never
    exceeds ``amount`` (a constraint). A failed charge took nothing and has no
    refunds. A charge that timed out before taking money has no row at all.
    """

    charge_id = models.CharField(max_length=100, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    token = models.CharField(max_length=255)
    currency = currency_field()
    amount = money_field()
    status = models.CharField(max_length=20, choices=SandboxStatus.choices)
    failure_reason = models.CharField(max_length=300, blank=True)
    failure_code = models.CharField(max_length=50, blank=True)
    amount_refunded = money_field()
    description = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            same_currency("sandbox_charge", "amount", "amount_refunded"),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="sandbox_charge_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SandboxStatus.values), name="sandbox_charge_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & at_most(F("amount_refunded"), F("amount")),
                name="sandbox_charge_refunds_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status=SandboxStatus.SUCCEEDED) | Q(amount_refunded=0),
                name="sandbox_charge_only_succeeded_refunded",
            ),
        ]

    def __str__(self):
        return self.charge_id

    @property
    def refundable(self):
        """What can still be given back: nothing for a failed charge."""
        if self.status != SandboxStatus.SUCCEEDED:
            return Money(0, self.currency)
        return self.amount - self.amount_refunded


class SandboxRefund(models.Model):
    """One refund attempt on a sandbox charge, succeeded or refused.

    ``idempotency_key`` is unique, as for charges. Only succeeded refunds count in
    their charge's ``amount_refunded``; a refused one is kept so that a repeated
    request gets the same refusal.
    """

    refund_id = models.CharField(max_length=100, unique=True)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=255, unique=True)
    currency = currency_field()
    amount = money_field()
    status = models.CharField(max_length=20, choices=SandboxStatus.choices)
    failure_reason = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            same_currency("sandbox_refund", "amount"),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="sandbox_refund_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SandboxStatus.values), name="sandbox_refund_status_valid"
            ),
        ]

    def __str__(self):
        return self.refund_id
