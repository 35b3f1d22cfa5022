"""Recompute billing's running totals from the records and report disagreements.

``find_disagreements()`` runs one set-based SQL query per invariant
(docs/design.md, "The invoice identity") and returns one human-readable line per record that
disagrees; an empty list means everything agrees. ``manage.py check_billing``
prints them.

PostgreSQL's numeric is exact, so amounts are compared exactly there. SQLite
sums decimals as floats: there two amounts disagree only when they differ by at
least half a minor unit of their currency (a CASE over the currencies present).
"""

import re
from decimal import Decimal

from django.db import connection

from billing.errors import BillingError
from billing.models import (
    Allocation,
    BalanceEntry,
    BalanceEntryKind,
    CreditNote,
    Instalment,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    MoneyBalance,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from billing.money import minor_unit

FOUR_PLACES = Decimal("0.0001")
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


def _t(model):
    return connection.ops.quote_name(model._meta.db_table)


def _lit(value):
    """A SQL string literal for one of our own constants (choices, never user input)."""
    return "'" + str(value).replace("'", "''") + "'"


def _amount(value):
    """A stored or summed amount as a Decimal with the storage's four places."""
    if value is None:
        value = 0
    return Decimal(str(value)).quantize(FOUR_PLACES)


class _Compare:
    """SQL snippets comparing decimal expressions, exact or at the minor unit."""

    def __init__(self):
        self.exact = connection.vendor == "postgresql"
        self.tolerances = {} if self.exact else self._tolerances()

    def _tolerances(self):
        tables = (
            Invoice,
            InvoiceLine,
            Payment,
            Refund,
            CreditNote,
            MoneyBalance,
            BalanceEntry,
            Instalment,
        )
        sql = " UNION ".join(f"SELECT DISTINCT currency FROM {_t(model)}" for model in tables)
        with connection.cursor() as cursor:
            cursor.execute(sql)
            codes = sorted({row[0] for row in cursor.fetchall() if row[0]})
        tolerances = {}
        for code in codes:
            if not CURRENCY_CODE.match(code):
                continue
            try:
                places = minor_unit(code)
            except BillingError:
                places = 4
            tolerances[code] = Decimal(5).scaleb(-places - 1)  # half a minor unit
        return tolerances

    def _tolerance(self, currency):
        if not self.tolerances:
            return "0.00005"
        cases = " ".join(f"WHEN {_lit(code)} THEN {tol}" for code, tol in self.tolerances.items())
        return f"(CASE {currency} {cases} ELSE 0.00005 END)"

    def differ(self, left, right, currency):
        if self.exact:
            return f"(({left}) <> ({right}))"
        return f"(ABS(({left}) - ({right})) >= {self._tolerance(currency)})"

    def above(self, left, right, currency):
        """``left > right``."""
        if self.exact:
            return f"(({left}) > ({right}))"
        return f"((({left}) - ({right})) >= {self._tolerance(currency)})"

    def positive(self, value, currency):
        return self.above(value, "0", currency)

    def negative(self, value, currency):
        return self.above("0", value, currency)

    def is_zero(self, value, currency):
        return f"(NOT {self.differ(value, '0', currency)})"


def _rows(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _invoice_name(number, pk):
    return f"invoice {number or 'draft'} (id {pk})"


def _payment_name(pk, invoice_number, invoice_id):
    return f"payment #{pk} of {_invoice_name(invoice_number, invoice_id)}"


def _balance_name(pk, customer_id, currency):
    return f"balance {currency} of customer {customer_id} (id {pk})"


def _invoice_checks(cmp):
    inv, line, note, pay = _t(Invoice), _t(InvoiceLine), _t(CreditNote), _t(Payment)
    draft, void = _lit(InvoiceStatus.DRAFT), _lit(InvoiceStatus.VOID)
    succeeded = _lit(PaymentStatus.SUCCEEDED)
    out = []

    # total = credited + paid + due, each >= 0.
    parts = ("i.total", "i.amount_credited", "i.amount_paid", "i.amount_due")
    identity = cmp.differ(
        "i.total", "i.amount_credited + i.amount_paid + i.amount_due", "i.currency"
    )
    sql = f"""
        SELECT i.id, i.number, i.currency, i.total, i.amount_credited, i.amount_paid,
               i.amount_due
        FROM {inv} i
        WHERE i.status <> {draft} AND (
            {identity}
            OR {" OR ".join(cmp.negative(p, "i.currency") for p in parts)}
        )
        ORDER BY i.id
    """
    for pk, number, cur, total, credited, paid, due in _rows(sql):
        out.append(
            f"{_invoice_name(number, pk)}: total {_amount(total)} {cur} but credited "
            f"{_amount(credited)} + paid {_amount(paid)} + due {_amount(due)} "
            f"(each must be >= 0 and they must add up to the total)"
        )

    # total = sum of its lines' totals.
    sql = f"""
        SELECT i.id, i.number, i.currency, i.total, COALESCE(l.s, 0)
        FROM {inv} i
        LEFT JOIN (SELECT invoice_id, SUM(total) AS s FROM {line} GROUP BY invoice_id) l
            ON l.invoice_id = i.id
        WHERE {cmp.differ("i.total", "COALESCE(l.s, 0)", "i.currency")}
        ORDER BY i.id
    """
    for pk, number, cur, total, lines in _rows(sql):
        out.append(
            f"{_invoice_name(number, pk)}: total {_amount(total)} {cur} but its lines give "
            f"{_amount(lines)}"
        )

    # amount_credited = sum of its credit notes' totals, less the refunds of credit
    # notes that the gateway refused (their part was undone on the invoice).
    ref, pay_t = _t(Refund), _t(Payment)
    failed = _lit(RefundStatus.FAILED)
    sql = f"""
        SELECT i.id, i.number, i.currency, i.amount_credited, COALESCE(c.s, 0) - COALESCE(f.s, 0)
        FROM {inv} i
        LEFT JOIN (SELECT invoice_id, SUM(total) AS s FROM {note} GROUP BY invoice_id) c
            ON c.invoice_id = i.id
        LEFT JOIN (
            SELECT p.invoice_id, SUM(r.amount) AS s
            FROM {ref} r JOIN {pay_t} p ON p.id = r.payment_id
            WHERE r.status = {failed} AND r.credit_note_id IS NOT NULL
            GROUP BY p.invoice_id
        ) f ON f.invoice_id = i.id
        WHERE {cmp.differ("i.amount_credited", "COALESCE(c.s, 0) - COALESCE(f.s, 0)", "i.currency")}
        ORDER BY i.id
    """
    for pk, number, cur, credited, notes in _rows(sql):
        out.append(
            f"{_invoice_name(number, pk)}: amount_credited {_amount(credited)} {cur} but its "
            f"credit notes give {_amount(notes)}"
        )

    # amount_paid = succeeded payments less their refunds and what went to credit.
    sql = f"""
        SELECT i.id, i.number, i.currency, i.amount_paid, COALESCE(p.s, 0)
        FROM {inv} i
        LEFT JOIN (
            SELECT invoice_id, SUM(amount - amount_refunded - amount_to_credit) AS s
            FROM {pay} WHERE status = {succeeded} GROUP BY invoice_id
        ) p ON p.invoice_id = i.id
        WHERE {cmp.differ("i.amount_paid", "COALESCE(p.s, 0)", "i.currency")}
        ORDER BY i.id
    """
    for pk, number, cur, paid, payments in _rows(sql):
        out.append(
            f"{_invoice_name(number, pk)}: amount_paid {_amount(paid)} {cur} but its "
            f"payments give {_amount(payments)}"
        )

    # amount_pending = its pending charges + the due its pending gateway refunds gave
    # back (a credit note's refund gives back no due, so it reserves nothing).
    pending = _lit(PaymentStatus.PENDING)
    sql = f"""
        SELECT i.id, i.number, i.currency, i.amount_pending,
               COALESCE(p.s, 0) + COALESCE(r.s, 0)
        FROM {inv} i
        LEFT JOIN (
            SELECT invoice_id, SUM(amount) AS s FROM {pay} WHERE status = {pending}
            GROUP BY invoice_id
        ) p ON p.invoice_id = i.id
        LEFT JOIN (
            SELECT p.invoice_id, SUM(r.amount) AS s
            FROM {ref} r JOIN {pay_t} p ON p.id = r.payment_id
            WHERE r.status = {_lit(RefundStatus.PENDING)} AND r.credit_note_id IS NULL
            GROUP BY p.invoice_id
        ) r ON r.invoice_id = i.id
        WHERE {cmp.differ("i.amount_pending", "COALESCE(p.s, 0) + COALESCE(r.s, 0)", "i.currency")}
        ORDER BY i.id
    """
    for pk, number, cur, recorded, records in _rows(sql):
        out.append(
            f"{_invoice_name(number, pk)}: amount_pending {_amount(recorded)} {cur} but its "
            f"pending charges and refunds give {_amount(records)}"
        )

    # The status follows from the amounts.
    c = "i.currency"
    due_zero, paid_zero = cmp.is_zero("i.amount_due", c), cmp.is_zero("i.amount_paid", c)
    credited_zero = cmp.is_zero("i.amount_credited", c)
    due_pos, paid_pos = cmp.positive("i.amount_due", c), cmp.positive("i.amount_paid", c)
    known = ", ".join(_lit(s) for s in InvoiceStatus.values)
    sql = f"""
        SELECT i.id, i.number, i.currency, i.status, i.amount_paid, i.amount_due,
               i.amount_credited
        FROM {inv} i
        WHERE i.status NOT IN ({known})
           OR (i.status IN ({draft}, {void}) AND NOT ({paid_zero} AND {credited_zero}))
           OR (i.status = {_lit(InvoiceStatus.PAID)} AND NOT {due_zero})
           OR (i.status = {_lit(InvoiceStatus.PARTIALLY_PAID)} AND NOT ({due_pos} AND {paid_pos}))
           OR (i.status = {_lit(InvoiceStatus.OPEN)} AND NOT ({due_pos} AND {paid_zero}))
        ORDER BY i.id
    """
    for pk, number, cur, status, paid, due, credited in _rows(sql):
        out.append(
            f"{_invoice_name(number, pk)}: status {status} does not fit paid "
            f"{_amount(paid)} {cur}, due {_amount(due)}, credited {_amount(credited)}"
        )
    return out


def _payment_checks(cmp):
    inv, pay, ref, entry = _t(Invoice), _t(Payment), _t(Refund), _t(BalanceEntry)
    counted = f"{_lit(RefundStatus.PENDING)}, {_lit(RefundStatus.SUCCEEDED)}"
    to_credit_kinds = f"{_lit(BalanceEntryKind.OVERPAYMENT)}, {_lit(BalanceEntryKind.CREDIT_NOTE)}"
    applied = _lit(BalanceEntryKind.APPLIED_TO_INVOICE)
    out = []

    # amount_refunded = its pending and succeeded refunds.
    sql = f"""
        SELECT p.id, i.number, i.id, p.currency, p.amount_refunded, COALESCE(r.s, 0)
        FROM {pay} p
        JOIN {inv} i ON i.id = p.invoice_id
        LEFT JOIN (
            SELECT payment_id, SUM(amount) AS s FROM {ref}
            WHERE status IN ({counted}) GROUP BY payment_id
        ) r ON r.payment_id = p.id
        WHERE {cmp.differ("p.amount_refunded", "COALESCE(r.s, 0)", "p.currency")}
        ORDER BY p.id
    """
    for pk, number, inv_id, cur, refunded, refunds in _rows(sql):
        out.append(
            f"{_payment_name(pk, number, inv_id)}: amount_refunded {_amount(refunded)} {cur} "
            f"but its refunds give {_amount(refunds)}"
        )

    # Refunded + sent to credit never exceed the amount (and none is negative).
    c = "p.currency"
    sql = f"""
        SELECT p.id, i.number, i.id, p.currency, p.amount, p.amount_refunded, p.amount_to_credit
        FROM {pay} p
        JOIN {inv} i ON i.id = p.invoice_id
        WHERE {cmp.above("p.amount_refunded + p.amount_to_credit", "p.amount", c)}
           OR {cmp.negative("p.amount_refunded", c)} OR {cmp.negative("p.amount_to_credit", c)}
           OR NOT {cmp.positive("p.amount", c)}
        ORDER BY p.id
    """
    for pk, number, inv_id, cur, amount, refunded, to_credit in _rows(sql):
        out.append(
            f"{_payment_name(pk, number, inv_id)}: refunded {_amount(refunded)} {cur} + sent "
            f"to credit {_amount(to_credit)} exceed its amount {_amount(amount)} "
            f"(or an amount is negative)"
        )

    # amount_to_credit = its overpayment and credit-note ledger entries.
    sql = f"""
        SELECT p.id, i.number, i.id, p.currency, p.amount_to_credit, COALESCE(e.s, 0)
        FROM {pay} p
        JOIN {inv} i ON i.id = p.invoice_id
        LEFT JOIN (
            SELECT payment_id, SUM(amount) AS s FROM {entry}
            WHERE payment_id IS NOT NULL AND kind IN ({to_credit_kinds}) GROUP BY payment_id
        ) e ON e.payment_id = p.id
        WHERE {cmp.differ("p.amount_to_credit", "COALESCE(e.s, 0)", "p.currency")}
        ORDER BY p.id
    """
    for pk, number, inv_id, cur, to_credit, entries in _rows(sql):
        out.append(
            f"{_payment_name(pk, number, inv_id)}: amount_to_credit {_amount(to_credit)} {cur} "
            f"but its ledger entries give {_amount(entries)}"
        )

    # A payment is in its invoice's currency.
    sql = f"""
        SELECT p.id, i.number, i.id, p.currency, i.currency
        FROM {pay} p
        JOIN {inv} i ON i.id = p.invoice_id
        WHERE p.currency <> i.currency
        ORDER BY p.id
    """
    for pk, number, inv_id, cur, inv_cur in _rows(sql):
        out.append(
            f"{_payment_name(pk, number, inv_id)}: currency {cur} but its invoice is in {inv_cur}"
        )

    # A customer_credit payment is funded by its applied_to_invoice entries.
    sql = f"""
        SELECT p.id, i.number, i.id, p.currency, p.amount, COALESCE(e.s, 0)
        FROM {pay} p
        JOIN {inv} i ON i.id = p.invoice_id
        LEFT JOIN (
            SELECT payment_id, -SUM(amount) AS s FROM {entry}
            WHERE payment_id IS NOT NULL AND kind = {applied} GROUP BY payment_id
        ) e ON e.payment_id = p.id
        WHERE p.method = {_lit(PaymentMethodKind.CUSTOMER_CREDIT)}
          AND {cmp.differ("p.amount", "COALESCE(e.s, 0)", "p.currency")}
        ORDER BY p.id
    """
    for pk, number, inv_id, cur, amount, funded in _rows(sql):
        out.append(
            f"{_payment_name(pk, number, inv_id)}: customer credit payment of {_amount(amount)} "
            f"{cur} but its applied_to_invoice entries give {_amount(funded)}"
        )
    return out


def _balance_checks(cmp):
    bal, entry = _t(MoneyBalance), _t(BalanceEntry)
    out = []

    # amount = sum of its entries, and never negative.
    sql = f"""
        SELECT b.id, b.customer_id, b.currency, b.amount, COALESCE(e.s, 0)
        FROM {bal} b
        LEFT JOIN (SELECT balance_id, SUM(amount) AS s FROM {entry} GROUP BY balance_id) e
            ON e.balance_id = b.id
        WHERE {cmp.differ("b.amount", "COALESCE(e.s, 0)", "b.currency")}
           OR {cmp.negative("b.amount", "b.currency")}
        ORDER BY b.id
    """
    for pk, customer_id, cur, amount, entries in _rows(sql):
        out.append(
            f"{_balance_name(pk, customer_id, cur)}: amount {_amount(amount)} {cur} but its "
            f"entries give {_amount(entries)} (and it must not be negative)"
        )

    # The latest entry's balance_after is the balance.
    sql = f"""
        SELECT b.id, b.customer_id, b.currency, b.amount, e.id, e.balance_after
        FROM {bal} b
        JOIN (SELECT balance_id, MAX(id) AS last_id FROM {entry} GROUP BY balance_id) m
            ON m.balance_id = b.id
        JOIN {entry} e ON e.id = m.last_id
        WHERE {cmp.differ("e.balance_after", "b.amount", "b.currency")}
        ORDER BY b.id
    """
    for pk, customer_id, cur, amount, entry_id, after in _rows(sql):
        out.append(
            f"{_balance_name(pk, customer_id, cur)}: amount {_amount(amount)} {cur} but its "
            f"latest entry #{entry_id} says balance_after {_amount(after)}"
        )
    return out


def _schedule_checks(cmp):
    """Payment schedules (billing/models/schedules.py): the instalments sum to
    what the invoice asks for, each instalment's paid amount is its allocations',
    and a payment's allocations are what it still pays of a scheduled invoice."""
    inv, inst, alloc, pay = _t(Invoice), _t(Instalment), _t(Allocation), _t(Payment)
    succeeded = _lit(PaymentStatus.SUCCEEDED)
    out = []

    # has_schedule is set exactly when the invoice has instalments, and they sum to
    # the total less what credit notes removed.
    asks = "i.total - i.amount_credited"
    sql = f"""
        SELECT i.id, i.number, i.currency, i.has_schedule, s.n, {asks}, COALESCE(s.s, 0)
        FROM {inv} i
        LEFT JOIN (
            SELECT invoice_id, COUNT(*) AS n, SUM(amount) AS s FROM {inst} GROUP BY invoice_id
        ) s ON s.invoice_id = i.id
        WHERE (i.has_schedule AND ({cmp.differ(asks, "COALESCE(s.s, 0)", "i.currency")}
                                   OR s.n IS NULL))
           OR (NOT i.has_schedule AND s.n IS NOT NULL)
        ORDER BY i.id
    """
    for pk, number, cur, scheduled, count, asked, parts in _rows(sql):
        if not scheduled or not count:
            out.append(
                f"{_invoice_name(number, pk)}: has_schedule is {bool(scheduled)} but it has "
                f"{count or 0} instalments"
            )
            continue
        out.append(
            f"{_invoice_name(number, pk)}: asks for {_amount(asked)} {cur} but its "
            f"instalments give {_amount(parts)}"
        )

    # An instalment's amount_paid = its allocations' net amounts, within its amount,
    # in its invoice's currency.
    net = "COALESCE(a.s, 0)"
    c = "t.currency"
    sql = f"""
        SELECT t.id, t.sequence, i.number, i.id, t.currency, t.amount, t.amount_paid, {net}
        FROM {inst} t
        JOIN {inv} i ON i.id = t.invoice_id
        LEFT JOIN (
            SELECT instalment_id, SUM(amount - amount_released) AS s FROM {alloc}
            GROUP BY instalment_id
        ) a ON a.instalment_id = t.id
        WHERE {cmp.differ("t.amount_paid", net, c)}
           OR {cmp.above("t.amount_paid", "t.amount", c)}
           OR {cmp.negative("t.amount_paid", c)}
           OR t.currency <> i.currency
        ORDER BY t.id
    """
    for pk, sequence, number, inv_id, cur, amount, paid, allocated in _rows(sql):
        out.append(
            f"instalment {sequence} (id {pk}) of {_invoice_name(number, inv_id)}: paid "
            f"{_amount(paid)} {cur} of {_amount(amount)} but its allocations give "
            f"{_amount(allocated)} (or its currency is not the invoice's)"
        )

    # A payment of a scheduled invoice is allocated exactly what it still pays of
    # it; an allocation joins a payment and an instalment of the same invoice.
    applied = (
        f"CASE WHEN p.status = {succeeded} "
        "THEN p.amount - p.amount_refunded - p.amount_to_credit ELSE 0 END"
    )
    sql = f"""
        SELECT p.id, i.number, i.id, p.currency, {applied}, COALESCE(a.s, 0)
        FROM {pay} p
        JOIN {inv} i ON i.id = p.invoice_id
        LEFT JOIN (
            SELECT payment_id, SUM(amount - amount_released) AS s FROM {alloc}
            GROUP BY payment_id
        ) a ON a.payment_id = p.id
        WHERE (i.has_schedule OR a.s IS NOT NULL)
          AND {cmp.differ(applied, "COALESCE(a.s, 0)", "p.currency")}
        ORDER BY p.id
    """
    for pk, number, inv_id, cur, pays, allocated in _rows(sql):
        out.append(
            f"{_payment_name(pk, number, inv_id)}: pays {_amount(pays)} {cur} of its invoice "
            f"but its allocations give {_amount(allocated)}"
        )
    sql = f"""
        SELECT a.id, a.payment_id, p.invoice_id, t.invoice_id
        FROM {alloc} a
        JOIN {pay} p ON p.id = a.payment_id
        JOIN {inst} t ON t.id = a.instalment_id
        WHERE p.invoice_id <> t.invoice_id OR a.currency <> p.currency
        ORDER BY a.id
    """
    for pk, payment_id, pay_invoice, inst_invoice in _rows(sql):
        out.append(
            f"allocation #{pk}: payment #{payment_id} of invoice id {pay_invoice} allocated "
            f"to an instalment of invoice id {inst_invoice} (or in another currency)"
        )
    return out


def find_disagreements():
    """Every record whose stored totals disagree with the records they summarise."""
    cmp = _Compare()
    return (
        _invoice_checks(cmp) + _payment_checks(cmp) + _balance_checks(cmp) + _schedule_checks(cmp)
    )
