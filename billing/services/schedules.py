"""Payment schedules: an issued invoice split into instalments, and payments
allocated to them (docs/design.md, "Payment schedules").

Public: ``schedule_preview`` (writes nothing), ``schedule_set`` and
``schedule_remove``. The rest are steps the other services call inside their
own transaction, with the invoice already locked; each one returns at once,
without a query, for an invoice without a schedule:

- ``named_instalments``: the instalments a payment names, checked;
- ``allocate``: a payment's money reached the invoice's paid amount;
- ``release``: it left it again (void, refund, to credit), newest allocations first;
- ``reduce_for_credit`` / ``restore_credit``: a credit note lowered (or a failed
  credit-note refund raised again) what the invoice asks for.

Instalments and allocations are written only under their invoice's row lock,
so they take no lock of their own and the lock order is unchanged.
"""

import datetime
import itertools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from moneyed import Money

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.models import MAX_ID, Allocation, Instalment, InvoiceEventKind, PaymentStatus
from billing.money import format_money, parse_amount, parse_money, quantum, zero
from billing.services._common import Idempotency, due_date, event


class Split:
    """How ``schedule_preview``/``schedule_set`` make the parts."""

    EQUAL = "equal"
    PERCENT = "percent"
    FIXED = "fixed"
    ALL = (EQUAL, PERCENT, FIXED)


MAX_INSTALMENTS = 60


@dataclass(frozen=True)
class PlannedInstalment:
    """One part of a schedule as previewed: ``amount_paid`` is what payments
    already allocated to the instalment in that position (edits keep it)."""

    sequence: int
    due_date: datetime.date
    amount: Money
    amount_paid: Money

    @property
    def remaining(self):
        return self.amount - self.amount_paid


# -- making the parts ------------------------------------------------------------


def _due_dates(due_dates):
    if not isinstance(due_dates, list | tuple) or not due_dates:
        raise BillingError(
            ErrorCode.INVALID_VALUE, "Give each instalment a due date.", field="due_dates"
        )
    if len(due_dates) > MAX_INSTALMENTS:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"A schedule has at most {MAX_INSTALMENTS} instalments.",
            field="due_dates",
        )
    days = [due_date(value) for value in due_dates]
    if any(day is None for day in days):
        raise BillingError(
            ErrorCode.INVALID_DATE, "Give each instalment a due date.", field="due_dates"
        )
    if any(later < earlier for earlier, later in itertools.pairwise(days)):
        raise BillingError(
            ErrorCode.INVALID_DATE,
            "Instalments are due in order: each on or after the one before.",
            field="due_dates",
        )
    return days


def monthly_due_dates(first, count):
    """``count`` due dates a month apart from ``first`` (the 31st becomes the
    month's last day): the pages' default for a new schedule."""
    days = []
    for n in range(count):
        month = first.month - 1 + n
        year, month = first.year + month // 12, month % 12 + 1
        next_month = datetime.date(year + month // 12, month % 12 + 1, 1)
        last = (next_month - datetime.timedelta(days=1)).day
        days.append(datetime.date(year, month, min(first.day, last)))
    return days


def split_amounts(total, count, *, split, percentages=None, amounts=None):
    """``total`` (Money) in ``count`` parts, each at the currency's minor unit
    and positive, the last taking the rounding so they sum to ``total`` exactly.

    ``equal``: total / count rounded half-up. ``percent``: ``percentages`` (one
    per part, positive, summing to 100) of the total, rounded half-up.
    ``fixed``: ``amounts`` (one per part, the last may be None for "the rest").
    Refuses ``invalid_value``, ``invalid_amount``, ``schedule_total_mismatch``.
    """
    currency = total.currency.code
    step = quantum(currency)
    if split not in Split.ALL:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"{split!r} is not a way to split; use one of: {', '.join(Split.ALL)}.",
            field="split",
        )
    if split == Split.EQUAL:
        part = (total.amount / count).quantize(step, rounding=ROUND_HALF_UP)
        parts = [Money(part, currency)] * (count - 1)
    elif split == Split.PERCENT:
        if not isinstance(percentages, list | tuple) or len(percentages) != count:
            raise BillingError(
                ErrorCode.INVALID_VALUE,
                "Give one percentage per instalment.",
                field="percentages",
            )
        shares = [parse_amount(p, field="percentages") for p in percentages]
        if sum(shares, Decimal(0)) != 100:
            raise BillingError(
                ErrorCode.SCHEDULE_TOTAL_MISMATCH,
                f"The percentages add up to {sum(shares, Decimal(0)):f}%, not 100%.",
                field="percentages",
            )
        parts = [
            Money((total.amount * s / 100).quantize(step, rounding=ROUND_HALF_UP), currency)
            for s in shares[:-1]
        ]
    else:
        if not isinstance(amounts, list | tuple) or len(amounts) != count:
            raise BillingError(
                ErrorCode.INVALID_VALUE, "Give one amount per instalment.", field="amounts"
            )
        parts = [parse_money(a, currency, field="amounts") for a in amounts[:-1]]
        if amounts[-1] not in (None, ""):
            last = parse_money(amounts[-1], currency, field="amounts")
            given = sum(parts, zero(currency)) + last
            if given != total:
                raise BillingError(
                    ErrorCode.SCHEDULE_TOTAL_MISMATCH,
                    f"The instalments add up to {format_money(given)}; "
                    f"they must add up to {format_money(total)}.",
                    field="amounts",
                )
    last = total - sum(parts, zero(currency))
    parts.append(last)
    if any(part.amount <= 0 for part in parts):
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            f"{format_money(total)} cannot be split that way: every instalment must ask "
            "for something.",
            field="amounts" if split == Split.FIXED else "due_dates",
        )
    return parts


def _plan(invoice, split, due_dates, percentages, amounts, existing):
    days = _due_dates(due_dates)
    parts = split_amounts(
        invoice.asks_for, len(days), split=split, percentages=percentages, amounts=amounts
    )
    currency = invoice.currency
    plan = []
    for n, (day, amount) in enumerate(zip(days, parts, strict=True), start=1):
        current = existing.get(n)
        paid = current.amount_paid if current is not None else zero(currency)
        plan.append(PlannedInstalment(n, day, amount, paid))
    _check_edit(plan, existing)
    return plan


def _check_edit(plan, existing):
    """An edit after payments changes only what is unpaid: an instalment with
    payments keeps its due date and asks for at least what it was paid; a
    settled one stays as it is; one with allocations is never dropped."""
    kept = {p.sequence: p for p in plan}
    for sequence, current in existing.items():
        planned = kept.get(sequence)
        has_history = current.amount_paid.amount > 0 or getattr(current, "has_allocations", False)
        if planned is None:
            if has_history:
                raise BillingError(
                    ErrorCode.INSTALMENT_ALREADY_PAID,
                    f"{current} has payments, so it cannot be removed from the schedule.",
                    field="due_dates",
                )
            continue
        if current.amount_paid.amount == 0:
            continue
        if current.is_settled and (
            planned.amount != current.amount or planned.due_date != current.due_date
        ):
            raise BillingError(
                ErrorCode.INSTALMENT_ALREADY_PAID,
                f"{current} is paid; it stays {format_money(current.amount)} due "
                f"{current.due_date:%d %b %Y}.",
                field="amounts",
            )
        if planned.due_date != current.due_date:
            raise BillingError(
                ErrorCode.INSTALMENT_ALREADY_PAID,
                f"{current} is partly paid; its due date stays {current.due_date:%d %b %Y}.",
                field="due_dates",
            )
        if planned.amount < current.amount_paid:
            raise BillingError(
                ErrorCode.INSTALMENT_ALREADY_PAID,
                f"{current} is paid {format_money(current.amount_paid)}; it cannot ask for less.",
                field="amounts",
            )


def _existing(invoice):
    instalments = Instalment.objects.filter(invoice=invoice).order_by("sequence")
    existing = {}
    with_allocations = set(
        Allocation.objects.filter(instalment__invoice=invoice).values_list(
            "instalment_id", flat=True
        )
    )
    for instalment in instalments:
        instalment.has_allocations = instalment.pk in with_allocations
        existing[instalment.sequence] = instalment
    return existing


def _ensure_schedulable(invoice):
    if not invoice.can_schedule:
        if invoice.is_payable:
            message = f"A charge or refund is in flight on invoice {invoice}; wait for it."
        else:
            message = (
                f"Invoice {invoice} is {invoice.get_status_display().lower()}; only an open "
                "or partially paid invoice can be split into instalments."
            )
        raise BillingError(ErrorCode.INVALID_STATE, message)


def schedule_preview(*, invoice, split, due_dates, percentages=None, amounts=None):
    """The instalments ``schedule_set`` would make with these arguments, as a
    list of ``PlannedInstalment``, writing nothing: the invoice as read now
    (what it asks for, what its current instalments were paid). Raises what
    ``schedule_set`` would (but ``permission_denied`` and ``idempotency_conflict``)."""
    _ensure_schedulable(invoice)
    return _plan(invoice, split, due_dates, percentages, amounts, _existing(invoice))


@transaction.atomic(durable=True)
def schedule_set(
    *, invoice, actor, split, due_dates, percentages=None, amounts=None, idempotency_key=None
):
    """Split an open or partially paid invoice into instalments, or change its
    schedule: one instalment per due date, amounts by ``split`` (``equal``,
    ``percent`` with ``percentages``, ``fixed`` with ``amounts``; see
    ``split_amounts``) of what the invoice asks for (``Invoice.asks_for``).

    A first schedule on an invoice already partly paid allocates its payments,
    oldest first, to the instalments oldest due first. An edit keeps the
    instalments in the same positions and may change only what is unpaid
    (``instalment_already_paid`` otherwise). Returns the instalments.
    Raises ``permission_denied`` (manage_invoices), ``invalid_state``,
    ``invalid_value``, ``invalid_amount``, ``invalid_date``,
    ``schedule_total_mismatch``, ``instalment_already_paid``,
    ``idempotency_conflict``. Locks: idempotency key, invoice.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    key = Idempotency(
        "schedule_set",
        idempotency_key,
        dict(
            invoice=getattr(invoice, "pk", invoice),
            split=split,
            due_dates=[str(d) for d in due_dates] if isinstance(due_dates, list | tuple) else None,
            percentages=[str(p) for p in percentages or ()],
            amounts=[str(a) for a in amounts or ()],
        ),
        actor,
    )
    if key.claim():
        return list(key.replay.instalments.order_by("sequence"))
    invoice = locks.lock_invoice(invoice)
    _ensure_schedulable(invoice)
    existing = _existing(invoice)
    plan = _plan(invoice, split, due_dates, percentages, amounts, existing)
    first = not invoice.has_schedule
    currency = invoice.currency
    instalments = []
    for planned in plan:
        instalment = existing.get(planned.sequence)
        if instalment is None:
            instalment = Instalment(
                invoice=invoice,
                sequence=planned.sequence,
                currency=currency,
                amount_paid=zero(currency),
            )
        instalment.due_date = planned.due_date
        instalment.amount = planned.amount
        instalment.save()
        instalments.append(instalment)
    dropped = [i.pk for s, i in existing.items() if s > len(plan)]
    if dropped:
        Instalment.objects.filter(pk__in=dropped).delete()
    if first:
        invoice.has_schedule = True
        invoice.save(update_fields=["has_schedule"])
        for payment in invoice.payments.filter(status=PaymentStatus.SUCCEEDED).order_by("pk"):
            if payment.applied.amount > 0:
                allocate(invoice, payment, payment.applied)
    event(
        invoice,
        InvoiceEventKind.SCHEDULE_SET,
        actor,
        amount=invoice.asks_for,
        message=f"{len(plan)} instalments: "
        + ", ".join(f"{format_money(p.amount)} due {p.due_date:%d %b %Y}" for p in plan),
    )
    key.finish(invoice)
    return list(invoice.instalments.order_by("sequence"))


@transaction.atomic(durable=True)
def schedule_remove(*, invoice, actor):
    """Remove an invoice's schedule: only while no payment was ever allocated to
    it (``invalid_state`` otherwise, and for an invoice without one).
    Locks: invoice."""
    permissions.require(actor, permissions.MANAGE_INVOICES)
    invoice = locks.lock_invoice(invoice)
    if not invoice.has_schedule:
        raise BillingError(ErrorCode.INVALID_STATE, f"Invoice {invoice} has no schedule.")
    if Allocation.objects.filter(instalment__invoice=invoice).exists():
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Payments were allocated to invoice {invoice}'s instalments; edit the schedule "
            "instead of removing it.",
        )
    Instalment.objects.filter(invoice=invoice).delete()
    invoice.has_schedule = False
    invoice.save(update_fields=["has_schedule"])
    event(invoice, InvoiceEventKind.SCHEDULE_REMOVED, actor)
    return invoice


# -- steps the payment services take, under the invoice lock ----------------------


def clean_instalment_ids(values):
    """A list of instalment ids from a caller (ints or digit strings), each once,
    in the order given; anything else, or a number no id can be (beyond a BIGINT,
    which SQLite would meet with OverflowError), is ``instalment_not_on_invoice``."""
    if values is None:
        return ()
    if not isinstance(values, list | tuple):
        values = [values]
    ids = []
    for value in values:
        text = value.strip() if isinstance(value, str) else value
        whole = not isinstance(value, bool) and (
            isinstance(text, int) or (isinstance(text, str) and text.isascii() and text.isdigit())
        )
        if not whole or not 0 < int(text) <= MAX_ID:
            raise BillingError(
                ErrorCode.INSTALMENT_NOT_ON_INVOICE,
                f"{str(value)[:40]!r} is not an instalment.",
                field="instalments",
            )
        if int(text) not in ids:
            ids.append(int(text))
    return tuple(ids)


def instalment_ids_by_sequence(invoice, sequences):
    """The ids of ``invoice``'s instalments numbered ``sequences`` (1, 2, 3 as
    people read the schedule; the command line names them so), or
    ``instalment_not_on_invoice``."""
    sequences = [int(s) for s in sequences or ()]
    found = dict(
        Instalment.objects.filter(invoice_id=invoice.pk, sequence__in=sequences).values_list(
            "sequence", "pk"
        )
    )
    for sequence in sequences:
        if sequence not in found:
            raise BillingError(
                ErrorCode.INSTALMENT_NOT_ON_INVOICE,
                f"Invoice {invoice} has no instalment {sequence}.",
                field="instalments",
            )
    return [found[s] for s in sequences]


def named_instalments(invoice, ids):
    """The instalments of ``invoice`` a payment names, or a refusal:
    ``instalment_not_on_invoice`` for an id that is not one of its instalments,
    ``instalment_already_paid`` for one with nothing left. Asks the rows as read
    (on the locked invoice in a service; as read now in a check)."""
    if not ids:
        return []
    found = {i.pk: i for i in Instalment.objects.filter(invoice_id=invoice.pk, pk__in=ids)}
    for pk in ids:
        instalment = found.get(pk)
        if instalment is None:
            raise BillingError(
                ErrorCode.INSTALMENT_NOT_ON_INVOICE,
                f"Instalment {pk} is not an instalment of invoice {invoice}.",
                field="instalments",
            )
        if not instalment.is_unpaid:
            raise BillingError(
                ErrorCode.INSTALMENT_ALREADY_PAID,
                f"{instalment} of invoice {invoice} (id {pk}) is already paid.",
                field="instalments",
            )
    return [found[pk] for pk in ids]


def allocate(invoice, payment, amount, named=()):
    """Allocate ``amount`` of ``payment`` (now counted in the locked invoice's
    paid amount) to its instalments: first to the ``named`` ones (ids) in due
    order, then the rest oldest due first."""
    if not invoice.has_schedule or amount.amount <= 0:
        return []
    instalments = list(Instalment.objects.filter(invoice_id=invoice.pk).due_order())
    named = set(named)
    order = [i for i in instalments if i.pk in named] + [
        i for i in instalments if i.pk not in named
    ]
    left = amount
    made = []
    for instalment in order:
        if left.amount <= 0:
            break
        take = min(left, instalment.remaining)
        if take.amount <= 0:
            continue
        made.append(
            Allocation(
                payment=payment,
                instalment=instalment,
                currency=invoice.currency,
                amount=take,
                amount_released=zero(invoice.currency),
            )
        )
        instalment.amount_paid += take
        instalment.save(update_fields=["amount_paid", "amount_paid_currency", "updated_at"])
        left -= take
    if left.amount > 0:
        # The instalments' unpaid parts sum to the due the payment fitted in.
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Invoice {invoice}'s instalments leave {format_money(left)} of the payment "
            "unallocated; run check_billing.",
        )
    Allocation.objects.bulk_create(made)
    return made


def release(invoice, payment, amount):
    """Take ``amount`` of ``payment`` back from its allocations, newest first,
    reopening those instalments (a void, a refund, money sent to credit)."""
    if not invoice.has_schedule or amount.amount <= 0:
        return
    left = amount
    allocations = Allocation.objects.filter(payment=payment).select_related("instalment")
    for allocation in allocations.order_by("-pk"):
        if left.amount <= 0:
            break
        take = min(left, allocation.net)
        if take.amount <= 0:
            continue
        allocation.amount_released += take
        allocation.save(update_fields=["amount_released", "amount_released_currency"])
        instalment = allocation.instalment
        instalment.amount_paid -= take
        instalment.save(update_fields=["amount_paid", "amount_paid_currency", "updated_at"])
        left -= take
    if left.amount > 0:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Payment #{payment.pk}'s allocations hold less than {format_money(amount)}; "
            "run check_billing.",
        )


def reduce_for_credit(invoice, amount):
    """A credit note lowered what the invoice asks for by ``amount``: lower the
    instalments' unpaid parts from the last one backwards. Call after releasing
    what the note refunded or sent to credit."""
    if not invoice.has_schedule or amount.amount <= 0:
        return
    left = amount
    for instalment in Instalment.objects.filter(invoice_id=invoice.pk).order_by("-sequence"):
        if left.amount <= 0:
            break
        take = min(left, instalment.remaining)
        if take.amount <= 0:
            continue
        instalment.amount -= take
        instalment.save(update_fields=["amount", "amount_currency", "updated_at"])
        left -= take
    if left.amount > 0:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Invoice {invoice}'s instalments leave less than {format_money(amount)} unpaid; "
            "run check_billing.",
        )


def restore_credit(invoice, amount):
    """What a credit note removed came back (its refund failed at the gateway):
    the last instalment asks for it again."""
    if not invoice.has_schedule or amount.amount <= 0:
        return
    last = Instalment.objects.filter(invoice_id=invoice.pk).order_by("-sequence").first()
    last.amount += amount
    last.save(update_fields=["amount", "amount_currency", "updated_at"])
