import uuid

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Upper
from django.urls import reverse
from moneyed import Money

from billing.models._base import (
    actor_field,
    at_most,
    currency_field,
    note_field,
    note_length,
    same_currency,
)
from billing.models.customers import card_label
from billing.models.events import InvoiceEvent, InvoiceEventKind
from billing.models.invoices import PAYABLE_STATUSES
from billing.models.refunds import RefundDestination
from billing.money import money_field


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    VOIDED = "voided", "Voided"


class PaymentMethodKind(models.TextChoices):
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card terminal"
    OTHER = "other", "Other"
    SAVED_METHOD = "saved_method", "Saved payment method"
    CUSTOMER_CREDIT = "customer_credit", "Customer credit"


# Money that arrived outside the system and was recorded by hand.
EXTERNAL_METHODS = (
    PaymentMethodKind.CASH,
    PaymentMethodKind.CHEQUE,
    PaymentMethodKind.BANK_TRANSFER,
    PaymentMethodKind.CARD,
    PaymentMethodKind.OTHER,
)


class PaymentQuerySet(models.QuerySet):
    def with_latest_attempt(self):
        """Each payment annotated with ``latest_attempt_id``: its invoice's latest
        charge of a saved method (``Payment.is_latest_attempt`` reads it), in one
        subquery rather than a query per row."""
        latest = Payment.objects.filter(
            invoice=OuterRef("invoice_id"), method=PaymentMethodKind.SAVED_METHOD
        ).order_by(*LATEST_FIRST)
        return self.annotate(latest_attempt_id=Subquery(latest.values("pk")[:1]))

    def with_disputed(self):
        """Each payment annotated with ``disputed``: whether its gateway told us
        the customer disputed it (a ``payment_disputed`` timeline entry), in one
        subquery rather than a query per row."""
        disputes = InvoiceEvent.objects.filter(
            payment=OuterRef("pk"), kind=InvoiceEventKind.PAYMENT_DISPUTED
        )
        return self.annotate(disputed=Exists(disputes))

    def retryable(self):
        """The SQL twin of ``Payment.can_retry``."""
        return self.with_latest_attempt().filter(
            status=PaymentStatus.FAILED,
            method=PaymentMethodKind.SAVED_METHOD,
            pk=F("latest_attempt_id"),
            # Invoice.objects.can_take_payment(), on the joined invoice.
            invoice__status__in=PAYABLE_STATUSES,
            invoice__amount_due__gt=F("invoice__amount_pending"),
        )


# The order of an invoice's charge attempts, the latest first.
LATEST_FIRST = ("-created_at", "-id")


class Payment(models.Model):
    """Money taken against one invoice, in the invoice's currency.

    ``amount`` is what the customer paid and never changes. Two running totals
    move, under the invoice's and the payment's row locks: ``amount_refunded``
    (pending and succeeded refunds) and ``amount_to_credit`` (the part moved to the
    customer's balance: an overpayment's excess or a credit note's ``to_credit``).
    Their sum never exceeds ``amount``; what is left counts in the invoice's
    ``amount_paid`` while the payment has succeeded.

    ``paid_at`` is the day the customer paid; ``created_at``/``created_by`` say when
    and by whom it was recorded. ``gateway_key`` is the idempotency key this payment
    sends to a gateway, so a retried call can never charge twice.
    """

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="payments"
    )
    currency = currency_field()
    amount = money_field()
    status = models.CharField(max_length=20, choices=PaymentStatus.choices)
    method = models.CharField(max_length=20, choices=PaymentMethodKind.choices)
    payment_method = models.ForeignKey(
        "billing.PaymentMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name="saved method",
    )
    cheque_number = models.CharField(max_length=50, blank=True)
    card_brand = models.CharField(max_length=30, blank=True)
    card_last4 = models.CharField("card last 4 digits", max_length=4, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    paid_at = models.DateField("payment date")
    reference = models.CharField(max_length=200, blank=True)
    notes = note_field()
    # What an integration kept with the payment (GoHighLevel's ``meta``): its own
    # JSON object, at most META_MAX_BYTES serialised, returned as it was sent.
    # db_default: rows written by raw SQL (benchmarks, bulk loads) get {} too.
    meta = models.JSONField(default=dict, db_default={}, blank=True)
    gateway_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    gateway_charge_id = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    amount_refunded = money_field()
    amount_to_credit = money_field("amount sent to credit")
    void_reason = models.CharField(max_length=300, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = actor_field(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Which currencies have rows (selectors.currencies_in_use), and a list
            # filtered by currency, newest first.
            models.Index(fields=["currency", "id"], name="payment_currency_id"),
            models.Index(fields=["status", "created_at"], name="payment_status_created"),
            # The payments list filtered by payment date is sorted by (paid_at, id).
            models.Index(fields=["paid_at", "id"], name="payment_paid_at_id"),
            # The payments list's filters by what the clerk typed (filters.py):
            # a bank reference or cheque number in any case, a card's last 4, an
            # amount or a range of them.
            models.Index(Upper("bank_reference"), name="payment_bank_reference"),
            models.Index(Upper("cheque_number"), name="payment_cheque_number"),
            models.Index(fields=["card_last4"], name="payment_card_last4"),
            models.Index(fields=["amount"], name="payment_amount"),
            # Stripe's dispute and refund events name the charge by its id only.
            models.Index(
                fields=["gateway_charge_id"],
                condition=~Q(gateway_charge_id=""),
                name="payment_gateway_charge_id",
            ),
        ]
        constraints = [
            note_length("payment", "notes"),
            same_currency("payment", "amount", "amount_refunded", "amount_to_credit"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_to_credit__gte=0),
                name="payment_running_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=at_most(F("amount_refunded") + F("amount_to_credit"), F("amount")),
                name="payment_refunds_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(method=PaymentMethodKind.SAVED_METHOD, payment_method__isnull=False)
                | (~Q(method=PaymentMethodKind.SAVED_METHOD) & Q(payment_method__isnull=True)),
                name="payment_saved_method_iff_charged",
            ),
            models.CheckConstraint(
                condition=Q(status=PaymentStatus.SUCCEEDED)
                | Q(amount_refunded=0, amount_to_credit=0),
                name="payment_only_succeeded_refunded",
            ),
        ]

    def __str__(self):
        return f"Payment #{self.pk}"

    def get_absolute_url(self):
        return reverse("billing:payment_detail", args=[self.pk])

    @property
    def method_description(self):
        """How it was paid, with the detail a clerk recognises it by, written the
        same way on every page, toast, timeline entry and export: "Cheque #123",
        "Card terminal: Visa •••• 4242", "Bank transfer (ref TRX-1)",
        "Visa •••• 4242" (a saved method; reads ``self.payment_method``)."""
        label = self.get_method_display()
        if self.method == PaymentMethodKind.CHEQUE and self.cheque_number:
            return f"Cheque #{self.cheque_number}"
        if self.method == PaymentMethodKind.CARD and self.card_last4:
            return f"{label}: {card_label(self.card_brand, self.card_last4)}"
        if self.method == PaymentMethodKind.BANK_TRANSFER and self.bank_reference:
            return f"{label} (ref {self.bank_reference})"
        if self.method == PaymentMethodKind.SAVED_METHOD and self.payment_method_id:
            return str(self.payment_method)
        return label

    # The rules every door asks; the services ask them too, on the locked row.

    @property
    def is_external(self):
        return self.method in EXTERNAL_METHODS

    @property
    def is_gateway(self):
        return self.method == PaymentMethodKind.SAVED_METHOD

    @property
    def refundable(self):
        """What can still be refunded or sent to credit."""
        if self.status != PaymentStatus.SUCCEEDED:
            return Money(0, self.currency)
        return self.amount - self.amount_refunded - self.amount_to_credit

    @property
    def applied(self):
        """What of it still pays its invoice: a succeeded payment's amount less
        its refunds and what it sent to credit (its allocations sum to this on a
        scheduled invoice); zero for any other status."""
        return self.refundable

    @property
    def can_refund(self):
        return self.refundable.amount > 0

    @property
    def refund_destinations(self):
        """Where this payment's money can go back: to the card only for a charge
        of a saved method (the gateway needs its charge id); a payment from
        customer credit only back to credit."""
        if self.method == PaymentMethodKind.CUSTOMER_CREDIT:
            return (RefundDestination.CUSTOMER_CREDIT,)
        if self.is_gateway:
            return (
                RefundDestination.ORIGINAL_METHOD,
                RefundDestination.EXTERNAL,
                RefundDestination.CUSTOMER_CREDIT,
            )
        return (RefundDestination.EXTERNAL, RefundDestination.CUSTOMER_CREDIT)

    @property
    def natural_refund_destination(self):
        """Where a refund "the way the money came" goes: a credit note's refund."""
        return self.refund_destinations[0]

    def refund_destinations_for(self, *, credit_note):
        """Where a refund may go when it comes with a credit note (the invoice
        stays paid) or alone (the customer owes it again). A credit note refunds
        the way the money came (``credit_note_issue``), so with one there is a
        single destination; the refund form offers only these."""
        if credit_note:
            return (self.natural_refund_destination,)
        return self.refund_destinations

    @property
    def can_void(self):
        """Recorded by mistake and untouched: a succeeded payment recorded by hand
        with no refunds and nothing sent to credit (a gateway charge is refunded)."""
        return (
            self.status == PaymentStatus.SUCCEEDED
            and self.is_external
            and self.amount_refunded.amount == 0
            and self.amount_to_credit.amount == 0
        )

    @property
    def can_check_status(self):
        """A charge, or a refund of it through the gateway, waits for the
        gateway's answer: "Check status" asks it (``services.payment_check_status``,
        the code ``reconcile_payments`` runs). Reads ``self.refunds``, prefetched
        on the invoice page."""
        if self.status == PaymentStatus.PENDING and self.is_gateway:
            return True
        return self.is_gateway and any(refund.can_check_status for refund in self.refunds.all())

    @property
    def is_latest_attempt(self):
        """Whether this is its invoice's latest charge of a saved method. Read
        from ``PaymentQuerySet.with_latest_attempt`` when the row was loaded so,
        else one query."""
        latest = getattr(self, "latest_attempt_id", None)
        if latest is None:
            latest = (
                Payment.objects.filter(
                    invoice_id=self.invoice_id, method=PaymentMethodKind.SAVED_METHOD
                )
                .order_by(*LATEST_FIRST)
                .values_list("pk", flat=True)
                .first()
            )
        return latest == self.pk

    @property
    def is_retryable_attempt(self):
        """The payment's own part of ``can_retry``: a failed charge of a saved
        method that no later attempt followed. A retry charges the same card, so
        an older failure (declined twice, then paid with another card) is never
        offered again: retrying it would charge the declined card."""
        return self.status == PaymentStatus.FAILED and self.is_gateway and self.is_latest_attempt

    @property
    def can_retry(self):
        """May it be charged again now: ``is_retryable_attempt`` and its invoice
        ``can_take_payment`` (reads ``self.invoice``). ``services.payment_retry``
        asks both on the locked invoice; ``PaymentQuerySet.retryable`` is the SQL
        twin."""
        return self.is_retryable_attempt and self.invoice.can_take_payment

    @property
    def retry_amount(self):
        """What a retry charges: the failed amount, or what the invoice may be
        paid now if that is less (reads ``self.invoice``)."""
        payable = self.invoice.payable_now
        return min(self.amount, payable) if payable.amount > 0 else self.amount
