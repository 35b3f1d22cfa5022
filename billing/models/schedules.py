"""Payment schedules: an issued invoice split into instalments, and the
allocations that say which instalment each payment paid.

Invariants, for an invoice with a schedule (``Invoice.has_schedule``), kept by
billing.services.schedules under the invoice's row lock (instalments and
allocations are written only while it is held, so they need no lock of their
own) and recomputed by ``check_billing``:

- its instalments' amounts sum to what it asks for: ``total - amount_credited``;
- an instalment's ``amount_paid`` is the sum of its allocations' net amounts,
  and lies between 0 and its ``amount``;
- a payment's allocations' net amounts sum to what it still pays of the
  invoice: a succeeded payment's amount less its refunds and what it sent to
  credit (``Payment.applied``), zero for any other status.

So the instalments' unpaid parts sum to the invoice's ``amount_due``.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from billing.models._base import at_most, currency_field, same_currency
from billing.money import money_field


class InstalmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    # A credit note took all of it: nothing was paid and nothing is asked.
    CREDITED = "credited", "Credited"


def instalment_status(*, amount, paid):
    """The status an instalment's amounts give it (shown, never stored)."""
    if paid.amount >= amount.amount:
        return InstalmentStatus.PAID if paid.amount > 0 else InstalmentStatus.CREDITED
    if paid.amount > 0:
        return InstalmentStatus.PARTIALLY_PAID
    return InstalmentStatus.OPEN


class InstalmentQuerySet(models.QuerySet):
    def unpaid(self):
        """Instalments with something left to pay (``Instalment.is_unpaid``)."""
        return self.filter(amount__gt=F("amount_paid"))

    def overdue(self, today=None):
        """Instalments shown as overdue (``Instalment.is_overdue``): due before
        ``today``, something left, on an invoice payments may be recorded on."""
        from billing.models.invoices import PAYABLE_STATUSES

        today = today or timezone.localdate()
        return self.unpaid().filter(due_date__lt=today, invoice__status__in=PAYABLE_STATUSES)

    def due_order(self):
        """The order payments fill them: oldest due first (then sequence)."""
        return self.order_by("due_date", "sequence", "pk")


class Instalment(models.Model):
    """One part of an invoice's payment schedule: what is asked, by when."""

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="instalments"
    )
    # 1, 2, 3 ... in the order people read the schedule.
    sequence = models.PositiveIntegerField()
    due_date = models.DateField()
    currency = currency_field()
    # What the part asks for; credit notes lower it (from the last part back).
    amount = money_field()
    # Running total of its allocations' net amounts.
    amount_paid = money_field("paid")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstalmentQuerySet.as_manager()

    class Meta:
        ordering = ["invoice", "sequence"]
        indexes = [
            # "Overdue by instalment" (the dashboard, the invoice list's filter).
            models.Index(fields=["due_date"], name="instalment_due_date"),
        ]
        constraints = [
            same_currency("instalment", "amount", "amount_paid"),
            models.UniqueConstraint(fields=["invoice", "sequence"], name="instalment_sequence"),
            models.CheckConstraint(
                condition=Q(amount__gte=0, amount_paid__gte=0), name="instalment_not_negative"
            ),
            models.CheckConstraint(
                condition=at_most(F("amount_paid"), F("amount")),
                name="instalment_paid_within_amount",
            ),
        ]

    def __str__(self):
        return f"Part {self.sequence}"

    # The rules every door asks.

    @property
    def remaining(self):
        """What is left to pay on it."""
        return self.amount - self.amount_paid

    @property
    def is_unpaid(self):
        return self.remaining.amount > 0

    @property
    def status(self):
        return instalment_status(amount=self.amount, paid=self.amount_paid)

    def get_status_display(self):
        return InstalmentStatus(self.status).label

    @property
    def is_overdue(self):
        """Shown, never stored: its due date has passed with something left, on
        an invoice that is payable (reads ``self.invoice``)."""
        return self.is_unpaid and self.due_date < timezone.localdate() and self.invoice.is_payable

    @property
    def can_be_named(self):
        """May a payment name it (``payment_record(instalments=...)``): something
        is left on it and its invoice is payable (reads ``self.invoice``)."""
        return self.is_unpaid and self.invoice.is_payable

    @property
    def is_settled(self):
        """Nothing left on it: a schedule edit may not change it."""
        return not self.is_unpaid


class Allocation(models.Model):
    """The part of one payment that paid one instalment.

    ``amount`` is what was allocated; ``amount_released`` is what refunds, voids
    and credit notes took back since (newest allocations first), a running total
    like ``Payment.amount_refunded``. An allocation is never deleted.
    """

    payment = models.ForeignKey(
        "billing.Payment", on_delete=models.PROTECT, related_name="allocations"
    )
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="allocations")
    currency = currency_field()
    amount = money_field()
    amount_released = money_field("released")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            same_currency("allocation", "amount", "amount_released"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_released__gte=0), name="allocation_released_not_negative"
            ),
            models.CheckConstraint(
                condition=at_most(F("amount_released"), F("amount")),
                name="allocation_released_within_amount",
            ),
        ]

    def __str__(self):
        return f"Allocation #{self.pk}"

    @property
    def net(self):
        """What of the payment still pays the instalment."""
        return self.amount - self.amount_released

    @property
    def is_active(self):
        return self.net.amount > 0
