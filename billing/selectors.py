"""Reads: balances, lookups and reports. Nothing here writes."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from moneyed import Money

from billing.models import (
    INTERMEDIATE_EVENT_KINDS,
    ISSUED_STATUSES,
    PAYABLE_STATUSES,
    Allocation,
    BalanceEntry,
    CreditNote,
    Customer,
    Instalment,
    Invoice,
    InvoiceEvent,
    InvoiceStatus,
    MoneyBalance,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
    Refund,
    RefundDestination,
    RefundStatus,
    invoice_status,
)
from billing.money import currency_code, format_money, normalize, zero


def customer_credit(*, customer, currency):
    """The customer's credit in ``currency`` as Money (zero when they have none)."""
    code = currency_code(currency)
    balance = MoneyBalance.objects.filter(customer=customer, currency=code).first()
    return balance.amount if balance is not None else zero(code)


def currencies_in_use(model):
    """The currencies (of ``settings.CURRENCIES``) ``model`` has rows in, in that
    order: what a list's currency filter offers. One query of one index probe per
    currency (the models' ``(currency, id)`` indexes), however many rows there
    are: ``SELECT DISTINCT currency`` would read them all."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("currency").column)
    codes = " UNION ALL ".join("SELECT %s AS code" for _ in settings.CURRENCIES)
    sql = (
        f"SELECT code FROM ({codes}) AS currencies "
        f"WHERE EXISTS (SELECT 1 FROM {table} WHERE {table}.{column} = currencies.code)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(settings.CURRENCIES))
        found = {row[0] for row in cursor.fetchall()}
    return [code for code in settings.CURRENCIES if code in found]


# -- pages of rows -----------------------------------------------------------------

PAGE_SIZE = 25


@dataclass(frozen=True)
class Page:
    """One page of a list, with no total count (counting a million rows on every
    page load costs more than the page). ``next``/``previous`` are the query
    parameters of the neighbouring pages, for ``{% querystring %}``."""

    rows: list
    has_next: bool = False
    has_previous: bool = False
    next: dict = field(default_factory=dict)
    previous: dict = field(default_factory=dict)


def keyset_page(queryset, *, after=None, before=None, size=PAGE_SIZE):
    """``size`` rows of ``queryset`` after the cursor ``after`` (or before
    ``before``), fetching one extra row to know whether there is more.

    The queryset's ordering is the key: descending, unique, ending with the
    primary key (``-pk`` when it has none; the invoice list orders by
    ``-issue_date, -pk`` when filtered by date). A cursor is the key's values of
    a row joined by "~" (``"12345"``, ``"2026-03-14~12345"``); one that does not
    parse gives the first page. Keyset pagination costs the same on the first
    page and the ten-thousandth, where OFFSET reads and drops every row before.
    """
    keys = [key.lstrip("-") for key in queryset.query.order_by] or ["pk"]
    if keys[-1] not in ("pk", "id"):
        keys.append("pk")
    newest_first = queryset.order_by(*[f"-{key}" for key in keys])
    after, before = _cursor(queryset.model, keys, after), _cursor(queryset.model, keys, before)
    if before is not None:
        oldest_first = newest_first.reverse().filter(_beyond(keys, before, "gt"))
        rows = list(oldest_first[: size + 1])
        has_previous, rows = len(rows) > size, rows[:size][::-1]
        has_next = bool(rows)  # We came from the older page.
    else:
        if after is not None:
            newest_first = newest_first.filter(_beyond(keys, after, "lt"))
        rows = list(newest_first[: size + 1])
        has_next, rows = len(rows) > size, rows[:size]
        has_previous = after is not None and bool(rows)

    def cursor(row):
        return "~".join(str(getattr(row, key)) for key in keys)

    return Page(
        rows=rows,
        has_next=has_next,
        has_previous=has_previous,
        next={"after": cursor(rows[-1]), "before": None} if has_next else {},
        previous={"before": cursor(rows[0]), "after": None} if has_previous else {},
    )


def _cursor(model, keys, text):
    """A cursor's values, one per key, or None if there is none or it is junk."""
    if text in (None, ""):
        return None
    parts = str(text).split("~")
    if len(parts) != len(keys):
        return None
    try:
        values = [
            (model._meta.pk if key == "pk" else model._meta.get_field(key)).to_python(part)
            for key, part in zip(keys, parts, strict=True)
        ]
    except (ValidationError, FieldDoesNotExist):
        return None
    return values if None not in values else None


def _beyond(keys, values, op):
    """Rows past ``values`` in key order: (k1, k2) < (v1, v2) written as
    ``k1 <= v1 AND (k1 < v1 OR k2 < v2)``, so an index on (k1, k2) answers it."""
    first, value = keys[0], values[0]
    if len(keys) == 1:
        return Q(**{f"{first}__{op}": value})
    return Q(**{f"{first}__{op}e": value}) & (
        Q(**{f"{first}__{op}": value}) | _beyond(keys[1:], values[1:], op)
    )


def offset_page(queryset, *, number=1, size=PAGE_SIZE):
    """Page ``number`` (from 1) of an ordered queryset; for short lists such as
    customers (thousands), where an offset is cheap."""
    number = max(int(number or 1), 1)
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    has_next, rows = len(rows) > size, rows[:size]
    return Page(
        rows=rows,
        has_next=has_next,
        has_previous=number > 1,
        next={"page": number + 1} if has_next else {},
        previous={"page": number - 1 if number > 2 else None} if number > 1 else {},
    )


# -- invoices ----------------------------------------------------------------------

OVERDUE = "overdue"
# A number-like search also finds customers named like it ("3M"); at most this many.
NAME_MATCHES_WITH_NUMBER = 50
# A number prefix matching at most this many invoices is looked up as their ids.
NUMBER_MATCHES_BY_ID = 1000


def _looks_like_number(text):
    return any(c.isdigit() for c in text) and not any(c.isspace() for c in text)


def invoice_list():
    """Invoices for the list page, newest first (lazy): billing.filters'
    InvoiceFilterSet filters them, ``keyset_page`` pages them. Each carries
    ``overdue_instalment_count`` and ``overdue_since`` (two subqueries on the
    instalments' invoice index, in the same query: no query per row)."""
    return Invoice.objects.select_related("customer").with_overdue_instalments()


def invoice_search_q(search):
    """The invoice list's search: an invoice number by its prefix
    ("INV-2026-0001", or "2026-0001" without the "INV-") or a customer's name
    anywhere. The name is resolved to customer ids first, so the database can
    use the invoice's customer index instead of joining every invoice to its
    customer."""
    customers = Customer.objects.filter(name__icontains=search).values("pk")
    if not _looks_like_number(search):
        return Q(customer__in=customers)
    # "INV-2026-0001" (or "2026-0001"): a prefix of the number, which the
    # invoice_number_prefix index (varchar_pattern_ops) answers. The few
    # customers whose name holds such text are looked up first: an OR with a
    # subquery would make PostgreSQL scan every invoice.
    prefix = search.upper()
    if prefix[0].isdigit():
        prefix = f"INV-{prefix}"
    numbered = Invoice.objects.filter(number__startswith=prefix).order_by().values("pk")
    customer_ids, number_ids = _pks_in_one_trip(
        customers[:NAME_MATCHES_WITH_NUMBER], numbered[: NUMBER_MATCHES_BY_ID + 1]
    )
    by_number = _number_prefix_q(prefix, number_ids)
    return by_number | Q(customer__in=customer_ids) if customer_ids else by_number


def _number_prefix_q(prefix, ids):
    """The invoices whose number starts with ``prefix``, given the ids of up to
    NUMBER_MATCHES_BY_ID + 1 of them (looked up through the invoice_number_prefix
    index): those ids when that is all of them (a prefix as people type it,
    "INV-2026-0001"), else the prefix.

    Left to the list's query (``ORDER BY id DESC LIMIT 26``), the plan hung on
    the planner's guess of how many numbers match: a guess of thousands (one
    ANALYZE's sample in twenty, benchmarks/README.md) had it walk the primary
    key backwards through a million invoices looking for a hundred. The ids are
    a fixed cost instead. A broader prefix ("INV-2026") stays in the list's
    query, where many matches near the top make walking the key the right plan."""
    if len(ids) > NUMBER_MATCHES_BY_ID:
        return Q(number__startswith=prefix)
    return Q(pk__in=ids)


def _pks_in_one_trip(*querysets):
    """The primary keys of each queryset's rows (each a ``values("pk")``, with
    its own ORDER BY and LIMIT), a list per queryset, read in one statement: a
    ``UNION ALL`` of each as a subquery, one round trip where each would be one."""
    parts, params = [], []
    for number, queryset in enumerate(querysets):
        sql, part_params = queryset.query.sql_with_params()
        parts.append(f"SELECT {number}, part{number}.* FROM ({sql}) AS part{number}")
        params.extend(part_params)
    found = [[] for _ in querysets]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for number, pk in cursor.fetchall():
            found[number].append(pk)
    return found


def invoice_for_page(*, pk):
    """The invoice of the invoice page, or Invoice.DoesNotExist."""
    return Invoice.objects.select_related("customer", "created_by").get(pk=pk)


def invoice_lines(*, invoice):
    return invoice.lines.order_by("position", "id")


def invoice_payments(*, invoice):
    """The invoice's payments, oldest first, each with its refunds and saved method,
    ``payment.invoice`` being ``invoice`` itself and whether it is the latest
    charge attempt known (``Payment.can_retry`` asks both) and whether it is
    ``disputed``, with no query per row."""
    refunds = Refund.objects.select_related("created_by").order_by("created_at", "id")
    return (
        invoice.payments.with_latest_attempt()
        .with_disputed()
        .select_related("payment_method", "created_by", "voided_by")
        .prefetch_related(Prefetch("refunds", queryset=refunds))
        .order_by("created_at", "id")
    )


def invoice_instalments(*, invoice):
    """The invoice's payment schedule in sequence order (empty without one),
    each instalment with ``instalment.invoice`` being ``invoice`` (its
    ``is_overdue`` and ``can_be_named`` read it) and its allocations, oldest
    first, with their payments: two queries, none per row."""
    if not invoice.has_schedule:
        return []
    allocations = Allocation.objects.select_related("payment").order_by("pk")
    instalments = list(
        invoice.instalments.order_by("sequence").prefetch_related(
            Prefetch("allocations", queryset=allocations)
        )
    )
    for instalment in instalments:
        instalment.invoice = invoice
    return instalments


def invoice_instalment(*, invoice, pk):
    """The instalment ``pk`` (an id as a request carries it) of ``invoice``'s
    schedule, with ``instalment.invoice`` set, or None: what the per-instalment
    "Record payment" prefills. Only shows; the payment service checks the id."""
    pk = str(pk or "").strip()
    if not invoice.has_schedule or not pk.isdigit() or len(pk) > 18:
        return None
    instalment = invoice.instalments.filter(pk=int(pk)).first()
    if instalment is not None:
        instalment.invoice = invoice
    return instalment


def overdue_instalments(*, limit=10, today=None):
    """The ``limit`` instalments overdue the longest (``Instalment.objects.overdue``),
    oldest due first, with their invoice and its customer: the dashboard's
    "Overdue instalments". One query."""
    return list(
        Instalment.objects.overdue(today)
        .select_related("invoice", "invoice__customer")
        .order_by("due_date", "invoice_id", "sequence")[:limit]
    )


def invoice_credit_notes(*, invoice):
    """The invoice's credit notes, oldest first, each with the status (and a
    failure's reason) of its refund: a note refunds at most one payment, once,
    so two subqueries say it without a query per note."""
    refund = Refund.objects.filter(credit_note=OuterRef("pk")).order_by("pk")
    return (
        CreditNote.objects.filter(invoice=invoice)
        .select_related("created_by")
        .annotate(
            refund_status=Subquery(refund.values("status")[:1]),
            refund_failure=Subquery(refund.values("failure_reason")[:1]),
        )
        .order_by("created_at", "id")
    )


def invoice_refundable_payments(*, invoice):
    """The invoice's succeeded payments with something left to refund, oldest
    first (a credit note's refund takes one of them)."""
    payments = (
        Payment.objects.filter(invoice=invoice, status=PaymentStatus.SUCCEEDED)
        .select_related("payment_method")
        .order_by("created_at", "id")
    )
    return [payment for payment in payments if payment.refundable.amount > 0]


@dataclass(frozen=True)
class CreditNoteAfter:
    """An invoice's amounts, and its customer's credit, after a credit note."""

    total: Money
    credited: Money
    paid: Money
    due: Money
    credit: Money
    status: str
    # {field or None: message} for parts beyond what the invoice allows.
    exceeds: dict = field(default_factory=dict)

    @property
    def status_label(self):
        return InvoiceStatus(self.status).label


def credit_note_after(*, invoice, credit, reduce_due, refund, to_credit, refund_payment=None):
    """What ``credit_note_issue`` would leave: pure arithmetic for a preview
    (no query, nothing written). The service stays the authority and checks
    every limit again on the locked rows; ``exceeds`` only names the parts a
    preview can already tell are too large.

    The note's total is credited; ``reduce_due`` lowers the due; ``refund`` and
    ``to_credit`` leave what is paid; ``to_credit`` (and a refund of a payment
    made from credit, which goes back where it came from) adds to the credit.
    """
    total = reduce_due + refund + to_credit
    credited = invoice.amount_credited + total
    paid = invoice.amount_paid - refund - to_credit
    due = invoice.amount_due - reduce_due
    back_to_credit = refund_payment is not None and (
        refund_payment.natural_refund_destination == RefundDestination.CUSTOMER_CREDIT
    )
    credit_after = credit + to_credit + (refund if back_to_credit else zero(credit.currency))
    exceeds = {}
    room = invoice.payable_now
    if reduce_due > room:
        exceeds["reduce_due"] = f"Only {format_money(room)} is due on invoice {invoice}."
    if refund_payment is not None and refund > refund_payment.refundable:
        exceeds["refund"] = (
            f"At most {format_money(refund_payment.refundable)} of this payment can be refunded."
        )
    if paid.amount < 0 and "refund" not in exceeds:
        exceeds["to_credit"] = (
            f"Only {format_money(invoice.amount_paid)} paid on invoice {invoice} can be "
            "refunded or go to credit."
        )
    creditable = invoice.creditable
    if total > creditable and not exceeds:
        exceeds[None] = (
            f"Only {format_money(creditable)} of invoice {invoice} can still be credited."
        )
    return CreditNoteAfter(
        total=invoice.total,
        credited=credited,
        paid=paid,
        due=due,
        credit=credit_after,
        status=invoice_status(due=due, paid=paid),
        exceeds=exceeds,
    )


def refund_after(*, invoice, credit, amount, destination):
    """What ``payment_refund`` alone would leave: the customer owes ``amount``
    again (what is paid falls, what is due grows back); a refund to customer
    credit adds to the credit. Pure arithmetic for the refund modal's figures,
    beside ``credit_note_after`` for the same refund with a credit note; the
    service stays the authority (the modal shows figures only for an amount
    within the payment's refundable part)."""
    paid = invoice.amount_paid - amount
    due = invoice.amount_due + amount
    to_credit = destination == RefundDestination.CUSTOMER_CREDIT
    return CreditNoteAfter(
        total=invoice.total,
        credited=invoice.amount_credited,
        paid=paid,
        due=due,
        credit=credit + amount if to_credit else credit,
        status=invoice_status(due=due, paid=paid),
    )


def invoice_events(*, invoice):
    """The invoice's timeline, newest first, with who did each thing."""
    return InvoiceEvent.objects.filter(invoice=invoice).select_related("created_by").order_by("-pk")


# -- customers ---------------------------------------------------------------------


def customer_list():
    """Customers by name, with their credit balances (lazy): billing.filters'
    CustomerFilterSet filters them by name, e-mail or external reference."""
    return Customer.objects.order_by("name", "pk").prefetch_related(
        Prefetch("balances", queryset=MoneyBalance.objects.filter(amount__gt=0))
    )


def customer_matches(*, search, limit):
    """At most ``limit`` customers, by name, whose name, e-mail or external
    reference contains ``search``; none for an empty search."""
    search = (search or "").strip()
    if not search:
        return []
    return list(Customer.objects.filter(customer_search_q(search)).order_by("name", "pk")[:limit])


def customer_search_q(search):
    return (
        Q(name__icontains=search) | Q(email__icontains=search) | Q(external_ref__icontains=search)
    )


def outstanding_by_customer(*, customers):
    """{customer id: [Money per currency]} of what the customers' payable invoices
    still ask for; one grouped query for a page of customers."""
    rows = (
        Invoice.objects.filter(customer__in=customers, status__in=PAYABLE_STATUSES)
        .values("customer_id", "currency")
        .annotate(due=Sum("amount_due"))
        .order_by("customer_id", "currency")
    )
    outstanding = defaultdict(list)
    for row in rows:
        outstanding[row["customer_id"]].append(normalize(Money(row["due"], row["currency"])))
    return dict(outstanding)


def customer_for_page(*, pk):
    """The customer of the customer page, or Customer.DoesNotExist."""
    return Customer.objects.get(pk=pk)


def filter_customer(*, pk):
    """The customer a list is filtered by (its ``customer`` filter), for the
    filter's label: None, and no query, when there is no such filter; None too
    when no customer has that id (the list is then empty)."""
    if pk is None:
        return None
    return Customer.objects.filter(pk=pk).first()


def customer_invoices(*, customer, limit=10):
    return customer.invoices.order_by("-pk")[:limit]


def customer_payment_methods(*, customer):
    """The customer's saved methods that may be charged (not removed), the
    default first."""
    return customer.payment_methods.filter(removed_at__isnull=True).order_by("-is_default", "pk")


def default_payment_method(*, customer):
    """The saved method a charge takes when none is named, or None."""
    return customer.payment_methods.filter(is_default=True).first()


def customer_balances(*, customer):
    """Every credit balance the customer has had, by currency (zero ones too:
    their ledger still explains how they got there). ``has_payable_invoices``
    says whether credit in that currency could pay an invoice now ("Apply
    credit"); a subquery, so the region still runs one query."""
    payable = Invoice.objects.can_take_payment().filter(
        customer=OuterRef("customer"), currency=OuterRef("currency")
    )
    return customer.balances.annotate(has_payable_invoices=Exists(payable)).order_by("currency")


def customer_payable_invoices(*, customer, currency):
    """The customer's invoices in ``currency`` that credit can pay now, the
    oldest debt first (earliest due date; no due date last)."""
    return (
        Invoice.objects.can_take_payment()
        .filter(customer=customer, currency=currency_code(currency))
        .order_by(F("due_date").asc(nulls_last=True), "pk")
    )


def customer_ledger(*, customer, limit=100):
    """The latest ledger entries of all the customer's balances, newest first,
    with the refund an entry came from (its reason and notes are the entry's)."""
    return (
        BalanceEntry.objects.filter(balance__customer=customer)
        .select_related("created_by", "invoice", "credit_note", "refund")
        .order_by("-pk")[:limit]
    )


# -- payments and credit notes -----------------------------------------------------


def payment_list():
    """Payments for the list page and its CSV export, newest first (lazy):
    billing.filters' PaymentFilterSet filters them, ``keyset_page`` pages them."""
    return Payment.objects.select_related(
        "invoice__customer", "payment_method", "created_by"
    ).order_by("-pk")


def payment_for_page(*, pk):
    """The payment of the payment page, with its invoice, customer, saved
    method and people and whether it is ``disputed``, or Payment.DoesNotExist."""
    return (
        Payment.objects.with_disputed()
        .select_related("invoice__customer", "payment_method", "created_by", "voided_by")
        .get(pk=pk)
    )


def payment_refunds(*, payment):
    """The payment's refunds, oldest first, with who made them and the credit
    note each came with."""
    return (
        Refund.objects.filter(payment=payment)
        .select_related("created_by", "credit_note")
        .order_by("created_at", "id")
    )


def payment_events(*, payment):
    """The entries of the invoice's timeline about this payment or one of its
    refunds, newest first. Within the invoice's events (its index), so the
    OR costs nothing on a large table."""
    return (
        InvoiceEvent.objects.filter(invoice_id=payment.invoice_id)
        .filter(Q(payment=payment) | Q(refund__payment=payment))
        .select_related("created_by")
        .order_by("-pk")
    )


def refund_list():
    """Refunds for the refunds list and its CSV export, newest first (lazy):
    billing.filters' RefundFilterSet filters them, ``keyset_page`` pages them."""
    return Refund.objects.select_related(
        "payment__invoice__customer", "payment__payment_method", "credit_note", "created_by"
    ).order_by("-pk")


def refund_search_q(search):
    """The refunds list's search: its payment's invoice number by prefix, or a
    customer's name, as on the payments list."""
    return _by_invoice_search_q(search, via="payment__invoice")


def card_last4_q(last4):
    """Payments made with a card ending in ``last4``: typed in at a card
    terminal, or a saved method's. The saved methods are looked up first (one
    query; a few per last 4 even among a million cards): with their ids as
    values PostgreSQL answers the OR from two indexes (card_last4 and the
    saved method's), where an OR with a subquery made it scan every payment
    (300 ms at 300,000 payments, against under 1 ms)."""
    saved = list(PaymentMethod.objects.filter(last4=last4).values_list("pk", flat=True))
    by_terminal = Q(card_last4=last4)
    return by_terminal | Q(payment_method__in=saved) if saved else by_terminal


def credit_note_list():
    """Credit notes for the list page and its CSV export, newest first (lazy):
    billing.filters' CreditNoteFilterSet filters them, ``keyset_page`` pages them."""
    return CreditNote.objects.select_related("invoice__customer", "created_by").order_by("-pk")


def payment_search_q(search):
    """The payments list's search: an invoice number's prefix or a customer's
    name, as on the invoice list."""
    return _by_invoice_search_q(search)


def credit_note_search_q(search):
    """The credit notes list's search: a prefix of the credit note's or its
    invoice's number ("CN-2026-0001", "INV-2026-0001", or "2026-0001" for
    both) or a customer's name."""
    return _by_invoice_search_q(search, own_number="CN")


def _by_invoice_search_q(search, *, own_number=None, via="invoice"):
    """A payment's, refund's or credit note's search, as the invoice list's:
    its invoice's number by prefix (and, with ``own_number``, its own), or its
    customer's name anywhere, resolved to customer ids first. ``via`` is the
    path to the invoice."""
    customers = Customer.objects.filter(name__icontains=search).values("pk")
    if not _looks_like_number(search):
        return Q(**{f"{via}__customer__in": customers})
    text = search.upper()
    number = f"INV-{text}" if text[0].isdigit() else text
    by_number = Q(**{f"{via}__number__startswith": number})
    if own_number:
        by_number |= Q(number__startswith=f"{own_number}-{text}" if text[0].isdigit() else text)
    ids = [row["pk"] for row in customers[:NAME_MATCHES_WITH_NUMBER]]
    return by_number | Q(**{f"{via}__customer__in": ids}) if ids else by_number


def charges_due_for_retry(*, max_attempts, spacing, now=None):
    """The failed charges to retry now: those ``Payment.can_retry`` allows (the
    invoice's latest attempt, something payable; ``PaymentQuerySet.retryable``)
    with nothing in flight on the invoice, when it failed at least ``spacing`` ago
    and the invoice has had at most ``max_attempts`` failed attempts (the first
    and its retries)."""
    now = now or timezone.now()
    failures = (
        Payment.objects.filter(
            invoice=OuterRef("invoice_id"),
            method=PaymentMethodKind.SAVED_METHOD,
            status=PaymentStatus.FAILED,
        )
        .values("invoice_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Payment.objects.retryable()
        .filter(created_at__lte=now - spacing, invoice__amount_pending=0)
        .annotate(failures=Subquery(failures))
        .filter(failures__lte=max_attempts)
        .select_related("invoice__customer", "payment_method")
        .order_by("pk")
    )


# -- dashboard ---------------------------------------------------------------------

AGEING_BUCKETS = (
    # key, label, (min, max) days past the due date; None is open-ended.
    ("current", "Current", (None, 0)),
    ("d1_30", "1–30 days", (1, 30)),
    ("d31_60", "31–60 days", (31, 60)),
    ("d61_90", "61–90 days", (61, 90)),
    ("d90_plus", "90+ days", (91, None)),
)


def _days_overdue_q(low, high, today):
    """Invoices ``low``..``high`` days past due (inclusive); "current" also holds
    invoices without a due date."""
    if high is not None and high <= 0:
        return Q(due_date__isnull=True) | Q(due_date__gte=today)
    q = Q(due_date__lte=today - timedelta(days=low))
    if high is not None:
        q &= Q(due_date__gte=today - timedelta(days=high))
    return q


def receivables(*, today=None):
    """Per currency, what payable invoices still ask for: the outstanding total,
    the overdue part, and the ageing buckets (by days past the due date).
    One grouped query; sums never mix currencies."""
    today = today or timezone.localdate()
    sums = {
        key: Sum("amount_due", filter=_days_overdue_q(low, high, today))
        for key, _label, (low, high) in AGEING_BUCKETS
    }
    rows = (
        Invoice.objects.filter(status__in=PAYABLE_STATUSES)
        .values("currency")
        .annotate(outstanding=Sum("amount_due"), count=Count("pk"), **sums)
        .order_by("currency")
    )
    result = []
    for row in rows:
        currency = row["currency"]

        def money(value, currency=currency):
            return normalize(Money(value or 0, currency))

        outstanding = money(row["outstanding"])
        buckets = []
        for key, label, _days in AGEING_BUCKETS:
            amount = money(row[key])
            share = amount.amount / outstanding.amount * 100 if outstanding.amount else 0
            buckets.append({"key": key, "label": label, "amount": amount, "percent": round(share)})
        overdue = sum((b["amount"] for b in buckets[1:]), zero(currency))
        result.append(
            {
                "currency": currency,
                "count": row["count"],
                "outstanding": outstanding,
                "overdue": overdue,
                "buckets": buckets,
            }
        )
    return result


def week_start(today=None):
    """Monday 00:00 of this week, in the business's time zone."""
    today = today or timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    return timezone.make_aware(datetime.combine(monday, time.min))


def payments_this_week(*, today=None):
    """Succeeded payments recorded since Monday, per currency, with their count.
    Credit applied to invoices is left out: no money arrived."""
    rows = (
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED, created_at__gte=week_start(today))
        .exclude(method=PaymentMethodKind.CUSTOMER_CREDIT)
        .values("currency")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .order_by("currency")
    )
    return [
        {"amount": normalize(Money(row["total"], row["currency"])), "count": row["count"]}
        for row in rows
    ]


def recent_events(*, limit=15):
    """The latest events on any invoice, with the invoice, customer and person,
    without the intermediate steps of gateway operations ("Charge started",
    "Refund sent to the gateway"): their outcome follows as an event of its own."""
    return (
        InvoiceEvent.objects.exclude(kind__in=INTERMEDIATE_EVENT_KINDS)
        .select_related("invoice__customer", "created_by")
        .order_by("-pk")[:limit]
    )


# The finance manager's figures (docs/frontend.md, "Dashboard figures"). Each is one
# grouped query whatever the number of rows; sums never mix currencies.

CASH_WEEKS = 13


@dataclass(frozen=True)
class CashWeek:
    """One week (Monday to Sunday) of money in and out in one currency."""

    start: date
    collected: Money
    refunded: Money

    @property
    def net(self):
        return self.collected - self.refunded


@dataclass(frozen=True)
class CashFlow:
    """A currency's weeks, oldest first, and their totals."""

    currency: str
    weeks: list

    @property
    def collected(self):
        return sum((week.collected for week in self.weeks), zero(self.currency))

    @property
    def refunded(self):
        return sum((week.refunded for week in self.weeks), zero(self.currency))

    @property
    def net(self):
        return self.collected - self.refunded


def _weekly_sums(queryset, starts, end):
    """{currency: [sum per week]} of ``queryset``'s amounts by ``created_at``:
    one query, one row per currency, one conditional sum per week."""
    bounds = [*starts, end]
    sums = {
        f"w{index}": Sum("amount", filter=Q(created_at__gte=low, created_at__lt=high))
        for index, (low, high) in enumerate(pairwise(bounds))
    }
    rows = (
        queryset.filter(created_at__gte=starts[0], created_at__lt=end)
        .values("currency")
        .annotate(**sums)
        .order_by("currency")
    )
    return {
        row["currency"]: [
            normalize(Money(row[f"w{index}"] or 0, row["currency"])) for index in range(len(starts))
        ]
        for row in rows
    }


def cash_by_week(*, weeks=CASH_WEEKS, today=None):
    """Per currency, the last ``weeks`` weeks (this one last): money collected
    (succeeded payments, by when they were recorded, as "Payments this week";
    credit applied to an invoice is not money arriving) and money refunded
    (succeeded refunds back to the card or paid back outside; a refund to
    customer credit stays with us), and their difference, the net. Two queries."""
    this_week = week_start(today)
    starts = [this_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    end = this_week + timedelta(weeks=1)
    collected = _weekly_sums(
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED).exclude(
            method=PaymentMethodKind.CUSTOMER_CREDIT
        ),
        starts,
        end,
    )
    refunded = _weekly_sums(
        Refund.objects.filter(status=RefundStatus.SUCCEEDED).exclude(
            destination=RefundDestination.CUSTOMER_CREDIT
        ),
        starts,
        end,
    )
    flows = []
    for currency in sorted({*collected, *refunded}):
        nothing = [zero(currency)] * weeks
        ins, outs = collected.get(currency, nothing), refunded.get(currency, nothing)
        flows.append(
            CashFlow(
                currency=currency,
                weeks=[
                    CashWeek(start=timezone.localtime(start).date(), collected=i, refunded=o)
                    for start, i, o in zip(starts, ins, outs, strict=True)
                ],
            )
        )
    return flows


OVERDUE_BUCKETS = AGEING_BUCKETS[1:]


def overdue_by_customer(*, limit=10, today=None):
    """Per currency, the ``limit`` customers who owe the most past its due date
    (``Invoice.objects.overdue()``), the most first, each with the overdue
    amount, its ageing buckets (1–30 … 90+ days past due), the number of
    overdue invoices and the oldest due date. One query: the customers are
    ranked per currency by a window function and the rest left in the
    database."""
    today = today or timezone.localdate()
    sums = {
        key: Sum("amount_due", filter=_days_overdue_q(low, high, today))
        for key, _label, (low, high) in OVERDUE_BUCKETS
    }
    rows = (
        Invoice.objects.overdue(today)
        .values("currency", "customer_id", "customer__name")
        .annotate(overdue=Sum("amount_due"), count=Count("pk"), oldest=Min("due_date"), **sums)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("currency")],
                order_by=[F("overdue").desc(), F("customer_id").asc()],
            )
        )
        .filter(rank__lte=limit)
        .order_by("currency", "rank")
    )
    result = defaultdict(list)
    for row in rows:
        currency = row["currency"]
        result[currency].append(
            {
                "customer_id": row["customer_id"],
                "name": row["customer__name"],
                "overdue": normalize(Money(row["overdue"], currency)),
                "count": row["count"],
                "oldest": row["oldest"],
                "days": (today - row["oldest"]).days,
                "buckets": [
                    normalize(Money(row[key] or 0, currency)) for key, _l, _d in OVERDUE_BUCKETS
                ],
            }
        )
    return [{"currency": currency, "customers": rows} for currency, rows in result.items()]


DSO_DAYS = 90


def days_sales_outstanding(*, receivables, days=DSO_DAYS, today=None):
    """Per currency of ``receivables`` (``receivables()``'s rows): days sales
    outstanding over the last ``days`` days,

        DSO = outstanding now / invoiced in the last ``days`` days × ``days``

    where "invoiced" is the total of the invoices issued in those days (today
    included) less what credit notes took off them; void invoices are left out.
    None when nothing was invoiced then (no sales to measure against). One
    grouped query."""
    today = today or timezone.localdate()
    since = today - timedelta(days=days - 1)
    rows = (
        Invoice.objects.filter(status__in=ISSUED_STATUSES, issue_date__gte=since)
        .values("currency")
        .annotate(total=Sum("total"), credited=Sum("amount_credited"))
        .order_by()
    )
    sales = {row["currency"]: (row["total"] or 0) - (row["credited"] or 0) for row in rows}
    result = []
    for row in receivables:
        invoiced = normalize(Money(sales.get(row["currency"], 0), row["currency"]))
        dso = None
        if invoiced.amount > 0:
            dso = round(row["outstanding"].amount / invoiced.amount * days, 1)
        result.append(
            {
                "currency": row["currency"],
                "outstanding": row["outstanding"],
                "invoiced": invoiced,
                "days": dso,
            }
        )
    return result
