from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from billing.models._base import actor_field, currency_field, equal_amounts, same_currency
from billing.money import money_field, zero

PERMISSIONS = [
    ("view_billing", "Can view billing"),
    ("manage_invoices", "Can create customers, saved methods and invoices, and issue them"),
    ("void_invoice", "Can void invoices"),
    ("record_payment", "Can record external payments and apply credit"),
    ("charge_payment", "Can charge saved payment methods"),
    ("void_payment", "Can void payments"),
    ("refund_payment", "Can refund payments"),
    ("issue_credit_note", "Can issue credit notes"),
    ("adjust_balance", "Can adjust and pay out customer balances"),
    ("manage_webhooks", "Can manage outgoing webhook endpoints and re-send deliveries"),
]


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


PAYABLE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)
# Issued: the invoice's status follows from its amounts (``invoice_status``).
ISSUED_STATUSES = (*PAYABLE_STATUSES, InvoiceStatus.PAID)


def invoice_status(*, due, paid):
    """The status an issued invoice's amounts give it: ``paid`` when nothing is
    due (also when credit notes covered it), ``partially_paid`` when something is
    paid and something due, ``open`` when nothing is paid.

    The one status rule: the services apply it after every change of amounts
    (``services._common.move_invoice_amounts``), the credit-note preview shows
    it, and payment_record's one statement takes its two outcomes from it.
    """
    if due.amount == 0:
        return InvoiceStatus.PAID
    if paid.amount > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


class InvoiceQuerySet(models.QuerySet):
    def can_take_payment(self):
        """Invoices something can be paid on now (``Invoice.can_take_payment``)."""
        return self.filter(status__in=PAYABLE_STATUSES, amount_due__gt=F("amount_pending"))

    def overdue(self, today=None):
        """Invoices shown as overdue (``Invoice.is_overdue``)."""
        today = today or timezone.localdate()
        return self.filter(status__in=PAYABLE_STATUSES, due_date__lt=today, amount_due__gt=0)

    def with_overdue_instalments(self, today=None):
        """Each invoice annotated with ``overdue_instalment_count`` and the date
        its oldest overdue instalment was due (``overdue_since``, None if none):
        what ``Invoice.overdue_instalments`` reads, one subquery each."""
        from billing.models.schedules import Instalment

        overdue = Instalment.objects.overdue(today).filter(invoice=OuterRef("pk"))
        count = overdue.order_by().values("invoice").annotate(n=Count("pk")).values("n")
        since = overdue.order_by("due_date").values("due_date")[:1]
        return self.annotate(
            overdue_instalment_count=Coalesce(Subquery(count), 0),
            overdue_since=Subquery(since),
        )

    def overdue_by_instalment(self, today=None):
        """Invoices with something late: an overdue instalment when it has a
        schedule, else the invoice itself overdue (``Invoice.is_overdue_by_instalment``)."""
        from billing.models.schedules import Instalment

        today = today or timezone.localdate()
        late = Instalment.objects.overdue(today).filter(invoice=OuterRef("pk"))
        return self.filter(
            Q(has_schedule=True, status__in=PAYABLE_STATUSES) & Exists(late)
            | Q(has_schedule=False, status__in=PAYABLE_STATUSES)
            & Q(due_date__lt=today, amount_due__gt=0)
        )


class Invoice(models.Model):
    """What a customer is asked to pay, in one currency.

    Invariants, held by constraints where the database can:
    - total = amount_credited + amount_paid + amount_due, each >= 0 (every row);
    - every money column is in ``currency``;
    - ``number`` is set exactly when the invoice is no longer a draft, and unique;
    - the status follows from the amounts: ``paid`` iff nothing is due, ``open`` if
      nothing is paid, ``partially_paid`` otherwise; ``draft`` and ``void`` carry no
      payments or credit. A void invoice keeps amount_due = total for the identity,
      but nothing on it is receivable (selectors leave void invoices out).

    The amounts are running totals kept by billing.services under the invoice's
    row lock; ``manage.py check_billing`` recomputes them from the records.
    """

    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    customer = models.ForeignKey(
        "billing.Customer", on_delete=models.PROTECT, related_name="invoices"
    )
    currency = currency_field()
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    total = money_field()
    amount_credited = money_field()
    amount_paid = money_field()
    amount_due = money_field()
    # What pending gateway charges reserve of amount_due (never more than it);
    # kept under the invoice lock so "can more be paid?" needs no extra query.
    amount_pending = money_field()
    # Split into instalments (billing.models.schedules). Kept under the invoice
    # lock with them; payment_record's one statement takes only invoices without
    # one, so their payments are allocated by the ORM path.
    # db_default: rows inserted by raw SQL (the benchmarks' builders) need not name it.
    has_schedule = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        permissions = PERMISSIONS
        indexes = [
            # Which currencies have rows (selectors.currencies_in_use), and a list
            # filtered by currency, newest first.
            models.Index(fields=["currency", "id"], name="invoice_currency_id"),
            models.Index(fields=["status", "due_date"], name="invoice_status_due"),
            models.Index(fields=["customer", "status"], name="invoice_customer_status"),
            # The invoice list (newest first by id; benchmarks/invoice_list.py):
            # a number prefix search ("INV-2026-0001") needs pattern ops on
            # PostgreSQL, whose default collation keeps LIKE off the unique index;
            # filtered by issue date, the list is sorted by (issue_date, id).
            models.Index(
                fields=["number"], name="invoice_number_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["issue_date", "id"], name="invoice_issue_date_id"),
        ]
        constraints = [
            same_currency(
                "invoice", "total", "amount_credited", "amount_paid", "amount_due", "amount_pending"
            ),
            models.CheckConstraint(
                condition=Q(total__gte=0, amount_credited__gte=0, amount_paid__gte=0)
                & Q(amount_due__gte=0),
                name="invoice_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=equal_amounts(
                    F("total"), F("amount_credited") + F("amount_paid") + F("amount_due")
                ),
                name="invoice_identity",
            ),
            models.CheckConstraint(
                condition=Q(amount_pending__gte=0) & Q(amount_pending__lte=F("amount_due")),
                name="invoice_pending_within_due",
            ),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.DRAFT, number__isnull=True)
                | (~Q(status=InvoiceStatus.DRAFT) & Q(number__isnull=False)),
                name="invoice_number_iff_issued",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID])
                | Q(amount_paid=0, amount_credited=0),
                name="invoice_draft_or_void_unpaid",
            ),
            models.CheckConstraint(
                condition=~Q(status=InvoiceStatus.PAID) | Q(amount_due=0),
                name="invoice_paid_nothing_due",
            ),
            models.CheckConstraint(
                condition=~Q(status=InvoiceStatus.OPEN) | Q(amount_due__gt=0, amount_paid=0),
                name="invoice_open_unpaid",
            ),
            models.CheckConstraint(
                condition=~Q(status=InvoiceStatus.PARTIALLY_PAID)
                | Q(amount_due__gt=0, amount_paid__gt=0),
                name="invoice_partially_paid_amounts",
            ),
        ]

    def __str__(self):
        return self.number or f"Draft #{self.pk}"

    def get_absolute_url(self):
        return reverse("billing:invoice_detail", args=[self.pk])

    # The rules every door asks (pages, admin, API, commands). The services
    # ask them too, on the locked row, and refuse what they forbid.

    @property
    def is_draft(self):
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_payable(self):
        """Open or partially paid: payments may be recorded against it."""
        return self.status in PAYABLE_STATUSES

    @property
    def payable_now(self):
        """What may still be paid now: the due less what pending charges (and the
        due that pending gateway refunds gave back) reserve. Zero unless payable."""
        if not self.is_payable:
            return zero(self.currency)
        return self.amount_due - self.amount_pending

    @property
    def can_take_payment(self):
        """Something can be charged, paid from credit or retried on it now."""
        return self.payable_now.amount > 0

    def predates(self, day):
        """Whether ``day`` (a payment's date) is before the invoice was issued:
        allowed (a deposit, an early payment) but unusual enough that the back
        office asks the clerk to confirm it; the hard limits on a payment date
        are the service's (``services._common.payment_date``)."""
        return self.issue_date is not None and day < self.issue_date

    @property
    def creditable(self):
        """What credit notes may still credit: the total less what they did."""
        return self.total - self.amount_credited

    @property
    def can_credit(self):
        """A credit note may be issued: issued, not void, something left to credit."""
        return self.status in ISSUED_STATUSES and self.creditable.amount > 0

    @property
    def can_void(self):
        """Open with nothing paid, credited or in flight: it may be cancelled."""
        return (
            self.status == InvoiceStatus.OPEN
            and self.amount_credited.amount == 0
            and self.amount_pending.amount == 0
        )

    @property
    def is_overdue(self):
        """Shown, never stored: the due date has passed and something is still due."""
        return (
            self.is_payable
            and self.due_date is not None
            and self.due_date < timezone.localdate()
            and self.amount_due.amount > 0
        )

    # Payment schedules (billing.models.schedules, services.schedules).

    @property
    def asks_for(self):
        """What the invoice asks for: the total less what credit notes removed.
        A schedule's instalments sum to it."""
        return self.total - self.amount_credited

    @property
    def can_schedule(self):
        """May a schedule be set or edited: open or partially paid (an issued
        invoice with something still to pay) and nothing in flight."""
        return self.is_payable and self.amount_pending.amount == 0

    @property
    def overdue_instalments(self):
        """Its instalments shown as overdue, oldest due first (one query unless
        ``instalments`` was prefetched)."""
        if not self.has_schedule:
            return []
        return [i for i in self.instalments.all() if i.is_overdue]

    @property
    def is_overdue_by_instalment(self):
        """Late on something: an overdue instalment with a schedule, else
        ``is_overdue`` (the SQL twin: ``Invoice.objects.overdue_by_instalment``)."""
        if self.has_schedule:
            # A list row carries the count (``with_overdue_instalments``): the
            # same rule in SQL, read without a query per row.
            count = getattr(self, "overdue_instalment_count", None)
            if count is not None:
                return count > 0
            return bool(self.overdue_instalments)
        return self.is_overdue


class InvoiceLine(models.Model):
    """One line of an invoice. ``net`` = quantity × unit price and ``tax`` = net ×
    rate, each rounded half-up to the currency's minor unit once, when computed;
    ``total`` = net + tax. Lines change only while the invoice is a draft."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    currency = currency_field()
    unit_price = money_field()
    tax_rate = models.DecimalField("tax rate (%)", max_digits=7, decimal_places=4, default=0)
    net = money_field()
    tax = money_field()
    total = money_field()

    class Meta:
        ordering = ["invoice", "position", "id"]
        constraints = [
            same_currency("invoice_line", "unit_price", "net", "tax", "total"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0, net__gte=0, tax__gte=0),
                name="invoice_line_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="invoice_line_tax_rate_range"
            ),
            models.CheckConstraint(
                condition=equal_amounts(F("total"), F("net") + F("tax")),
                name="invoice_line_total_is_net_plus_tax",
            ),
        ]

    def __str__(self):
        return self.description


class DocumentSequence(models.Model):
    """The last number given for a kind of document in a year.

    Numbers are taken under this row's lock inside the issuing transaction, so a
    rolled-back issue gives its number back: numbers are gap-free and unique.
    """

    kind = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="document_sequence_unique"),
        ]

    def __str__(self):
        return f"{self.kind} {self.year}: {self.last_number}"
