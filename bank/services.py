"""Every write of the bank app: import a statement, record a line automatically,
and the Bank page's actions (match or split, confirm, ignore, undo).

Like billing.services, each public function takes keyword arguments, checks
the actor's permission, runs in one durable transaction, and refuses with a
``BillingError`` that writes nothing. Payments are made by billing's own
services (``record_payment``, ``void_payment``, ``adjust_balance``: the
non-durable cores of ``payment_record``, ``payment_void``, ``balance_adjust``),
run inside the bank operation's transaction, so a line and the payments it made
are written, or undone, together.

Locks: the bank line first (``_lock_line``), then billing's order
(idempotency key → invoice → payment → balance) inside the services it calls.
Lines are locked one at a time and a line's invoices in id order, so no two
bank operations wait on each other in a cycle.

Idempotency: each payment a line makes carries the key
``bank-line:<line>:<round>:<invoice>``; ``round`` (``match_round``) grows with
every undo, so a line matched again after an undo makes new payments while a
retried match replays the first.
"""

import hashlib
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from bank import matching, statements
from bank.models import Direction, LinePayment, LineState, Statement, StatementLine
from billing import permissions
from billing.errors import BillingError, ErrorCode
from billing.models import Invoice, PaymentMethodKind, PaymentStatus
from billing.money import format_money, parse_money, zero
from billing.services._common import require_text
from billing.services.balances import adjust_balance
from billing.services.payments import record_payment, void_payment

# Lines matched and recorded per round trip of queries (and per transaction).
BATCH = 1000


@dataclass
class ImportResult:
    statements: list = field(default_factory=list)
    lines_in_file: int = 0
    new: int = 0
    duplicates: int = 0
    recorded: int = 0
    suggested: int = 0
    unmatched: int = 0
    ignored: int = 0
    refused: list = field(default_factory=list)  # (line, BillingError) auto-records refused


def _lock_line(line):
    return StatementLine.objects.select_for_update().get(pk=line.pk)


def statement_import(*, data, actor, file_name="", format=None):
    """Store a file's statements and their new lines, then match them.

    Lines already stored (same account and bank entry reference, from any
    earlier file) are skipped and counted as duplicates. The file is read
    whole before anything is written; a file that does not read is
    ``invalid_value`` and writes nothing. Storing is one transaction; the lines
    the automatic rule records are then recorded ``BATCH`` at a time
    (``lines_auto_record``), so staff are not held up behind one long
    transaction, and a refusal there (the invoice changed meanwhile) leaves
    that line suggested. Needs ``record_payment``.
    """
    permissions.require(actor, permissions.RECORD)
    kind, parsed = statements.parse(data, format=format, file_name=file_name)
    result = ImportResult()
    digest = hashlib.sha256(data).hexdigest()
    try:
        stored = _store(kind, parsed, file_name, digest, actor, result)
    except IntegrityError:
        raise BillingError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "Another import stored some of these lines meanwhile; import the file again.",
        ) from None
    for start in range(0, len(stored), BATCH):
        _, refused = lines_auto_record(pairs=stored[start : start + BATCH], actor=actor)
        result.refused += refused
        result.recorded -= len(refused)
        result.suggested += len(refused)
    return result


@transaction.atomic(durable=True)
def _store(kind, parsed, file_name, digest, actor, result):
    to_record = []
    for parsed_statement in parsed:
        lines = parsed_statement.lines
        dates = [line.booking_date for line in lines]
        statement = Statement.objects.create(
            account=parsed_statement.account,
            currency=parsed_statement.currency,
            bank_statement_id=parsed_statement.bank_statement_id[:128],
            format=kind,
            file_name=file_name[-255:],
            file_sha256=digest,
            first_booking_date=min(dates) if dates else None,
            last_booking_date=max(dates) if dates else None,
            lines_in_file=len(lines),
            imported_by=actor,
        )
        result.statements.append(statement)
        result.lines_in_file += len(lines)
        for start in range(0, len(lines), BATCH):
            to_record += _store_batch(statement, lines[start : start + BATCH], actor, result)
        Statement.objects.filter(pk=statement.pk).update(
            lines_new=statement.lines_new, lines_duplicate=statement.lines_duplicate
        )
    return to_record


def _store_batch(statement, parsed_lines, actor, result):
    refs = {line.bank_ref for line in parsed_lines}
    taken = set(
        StatementLine.objects.filter(account=statement.account, bank_ref__in=refs).values_list(
            "bank_ref", flat=True
        )
    )
    now = timezone.now()
    new = []
    for parsed in parsed_lines:
        if parsed.bank_ref in taken:
            statement.lines_duplicate += 1
            result.duplicates += 1
            continue
        taken.add(parsed.bank_ref)  # the same entry twice in one file
        debit = parsed.direction == Direction.DEBIT
        new.append(
            StatementLine(
                statement=statement,
                account=statement.account,
                bank_ref=parsed.bank_ref,
                booking_date=parsed.booking_date,
                value_date=parsed.value_date,
                currency=parsed.amount.currency.code,
                amount=parsed.amount,
                direction=parsed.direction,
                remittance=parsed.remittance,
                end_to_end_id=parsed.end_to_end_id,
                counterparty_name=parsed.counterparty_name,
                counterparty_account=parsed.counterparty_account,
                state=LineState.IGNORED if debit else LineState.UNMATCHED,
                ignore_reason=matching.DEBIT_REASON if debit else "",
                ignored_by=actor if debit else None,
                ignored_at=now if debit else None,
            )
        )
    statement.lines_new += len(new)
    result.new += len(new)
    verdicts = matching.evaluate(new)
    to_record = []
    for i, line in enumerate(new):
        verdict = verdicts.get(i)
        if verdict is None:
            result.ignored += 1
            continue
        line.state, line.evidence = verdict.state, verdict.evidence
        if verdict.invoice is not None:
            to_record.append((i, verdict.invoice))
            result.recorded += 1
        elif verdict.state == LineState.SUGGESTED:
            result.suggested += 1
        else:
            result.unmatched += 1
    # bulk_create sets primary keys on PostgreSQL and SQLite alike.
    StatementLine.objects.bulk_create(new)
    return [(new[i], invoice) for i, invoice in to_record]


def _record(line, invoice, amount, actor):
    return record_payment(
        invoice=invoice,
        amount=amount,
        method=PaymentMethodKind.BANK_TRANSFER,
        paid_at=line.booking_date,
        details={"bank_reference": line.bank_ref},
        notes=f"Bank line {line.bank_ref} of account {line.account}.",
        idempotency_key=f"bank-line:{line.pk}:{line.match_round}:{invoice.pk}",
        actor=actor,
    )


def _pay(line, invoice, amount, actor):
    payment = _record(line, invoice, amount, actor)
    # The line is locked and not yet recorded, so the payment is a new one.
    LinePayment.objects.create(line=line, payment=payment, created_by=actor)
    return payment


def _recorded(line, actor, *, credit_entry=None):
    line.state = LineState.RECORDED
    line.recorded_by, line.recorded_at = actor, timezone.now()
    line.credit_entry = credit_entry
    line.save(update_fields=["state", "recorded_by", "recorded_at", "credit_entry"])
    return line


@transaction.atomic(durable=True)
def lines_auto_record(*, pairs, actor):
    """Record lines the automatic rule matched: ``pairs`` of (line, invoice).

    One transaction for the batch (a commit per line would cost more than the
    line). The batch is first recorded in one savepoint: a refusal is rare (the
    rule was checked a moment ago), and a savepoint per line is two more round
    trips per payment. When billing's payment service refuses a line (it
    re-checks the invoice on its row: paid meanwhile, say), that savepoint is
    rolled back and the batch recorded again, each line in a savepoint of its
    own, so the refused line alone stays a suggestion whose evidence says why.
    Returns (recorded lines, [(line, BillingError)]). Needs ``record_payment``.
    Locks: the lines (id order), then each payment's.
    """
    permissions.require(actor, permissions.RECORD)
    wanted = {line.pk: invoice for line, invoice in pairs}
    locked = StatementLine.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    # Lines settled by a person meanwhile are left as they are.
    todo = [
        (line, wanted[line.pk])
        for line in locked
        if line.state == LineState.SUGGESTED and line.evidence.get("auto") == wanted[line.pk].pk
    ]
    try:
        with transaction.atomic():
            paid = [(line, _record(line, invoice, line.amount, actor)) for line, invoice in todo]
        refused = []
    except BillingError:
        paid, refused = _record_each(todo, actor)
    recorded = [line for line, _ in paid]
    LinePayment.objects.bulk_create(
        [LinePayment(line=line, payment=payment, created_by=actor) for line, payment in paid]
    )
    now = timezone.now()
    # One UPDATE for the recorded lines (their evidence stays as it was); the
    # refused ones, rare, each with its own evidence.
    StatementLine.objects.filter(pk__in=[line.pk for line in recorded]).update(
        state=LineState.RECORDED, recorded_by=actor, recorded_at=now
    )
    for line in recorded:
        line.state, line.recorded_by, line.recorded_at = LineState.RECORDED, actor, now
    for line, error in refused:
        line.evidence.pop("auto", None)
        line.evidence["explanation"] = f"Recording it automatically was refused: {error.message}"
        line.save(update_fields=["evidence"])
    return recorded, refused


def _record_each(todo, actor):
    """``todo``'s lines recorded each in a savepoint of its own: ([(line,
    payment)], [(line, BillingError)])."""
    paid, refused = [], []
    for line, invoice in todo:
        try:
            with transaction.atomic():
                paid.append((line, _record(line, invoice, line.amount, actor)))
        except BillingError as error:
            refused.append((line, error))
    return paid, refused


def _refuse_unless_matchable(line):
    if not line.can_match:
        what = "a debit" if not line.is_credit else line.get_state_display().lower()
        raise BillingError(
            ErrorCode.INVALID_STATE, f"This bank line is {what}; it cannot be matched now."
        )


@transaction.atomic(durable=True)
def line_match(*, line, allocations, actor, rest_to_credit=False):
    """Record a line on one or more invoices: ``allocations`` is a list of
    (invoice, amount). What the amounts leave of the line goes, with
    ``rest_to_credit``, to the customer credit of the first invoice's customer
    (an ``adjustment`` entry, which needs ``adjust_balance``); without it the
    whole line must be allocated.

    Each amount is checked by billing's payment service on the locked invoice
    (``overpayment`` beyond what it asks for now, ``currency_mismatch``,
    ``invoice_not_payable``); the first refusal undoes everything. Raises
    ``invalid_state`` for a line that is recorded, ignored or a debit,
    ``invalid_amount`` when the amounts exceed the line or leave a rest
    unassigned, ``invalid_value`` with no invoice or one twice.
    """
    permissions.require(actor, permissions.RECORD)
    if rest_to_credit:
        permissions.require(actor, permissions.ADJUST_BALANCE)
    line = _lock_line(line)
    _refuse_unless_matchable(line)
    if not allocations:
        raise BillingError(ErrorCode.INVALID_VALUE, "Choose at least one invoice.", field="invoice")
    ids = [invoice.pk for invoice, _ in allocations]
    if len(set(ids)) != len(ids):
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "An invoice is named twice; give it one amount.",
            field="invoice",
        )
    amounts = [parse_money(amount, line.currency) for _, amount in allocations]
    total = sum(amounts, zero(line.currency))
    rest = line.amount - total
    if rest.amount < 0:
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            f"The amounts add up to {format_money(total)}, more than the line's "
            f"{format_money(line.amount)}.",
            field="amount",
        )
    if rest.amount > 0 and not rest_to_credit:
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            f"{format_money(rest)} of the line is not assigned: assign it to an invoice or "
            "send it to the customer's credit.",
            field="amount",
        )
    # Invoices locked in id order, so two lines split across the same invoices
    # never wait on each other in a cycle.
    paid = sorted(zip(allocations, amounts, strict=True), key=lambda pair: pair[0][0].pk)
    for (invoice, _), amount in paid:
        _pay(line, invoice, amount, actor)
    entry = None
    if rest.amount > 0:
        entry = adjust_balance(
            customer=allocations[0][0].customer,
            amount=rest,
            reason=f"The rest of bank line {line.bank_ref} ({line.account}).",
            idempotency_key=f"bank-line:{line.pk}:{line.match_round}:credit",
            actor=actor,
        )
    return _recorded(line, actor, credit_entry=entry)


def confirm_allocation(line, invoice):
    """What confirming a suggestion records: the line on the invoice, up to what
    the invoice asks for now (``payable_now``), and the rest of the line, if any."""
    if invoice.currency != line.currency:
        raise BillingError(
            ErrorCode.CURRENCY_MISMATCH,
            f"{invoice} is in {invoice.currency}; the line is in {line.currency}.",
        )
    amount = min(line.amount, invoice.payable_now)
    if amount.amount <= 0:
        raise BillingError(
            ErrorCode.INVOICE_NOT_PAYABLE, f"{invoice} can take no payment now.", field="invoice"
        )
    return amount, line.amount - amount


def line_confirm(*, line, invoice, actor, rest_to_credit=False):
    """Confirm a suggestion: ``line_match`` with the line on ``invoice``, up to
    what it asks for; a larger line needs ``rest_to_credit``."""
    amount, _rest = confirm_allocation(line, invoice)
    return line_match(
        line=line, allocations=[(invoice, amount)], actor=actor, rest_to_credit=rest_to_credit
    )


@transaction.atomic(durable=True)
def line_ignore(*, line, reason, actor):
    """Set a line aside with a reason (not a customer's payment). Needs ``record_payment``."""
    permissions.require(actor, permissions.RECORD)
    reason = require_text(
        reason,
        "reason",
        "A reason",
        max_length=StatementLine._meta.get_field("ignore_reason").max_length,
    )
    line = _lock_line(line)
    if not line.can_ignore:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"This bank line is {line.get_state_display().lower()}; it cannot be ignored.",
        )
    line.state = LineState.IGNORED
    line.ignore_reason, line.ignored_by, line.ignored_at = reason, actor, timezone.now()
    line.save(update_fields=["state", "ignore_reason", "ignored_by", "ignored_at"])
    return line


@transaction.atomic(durable=True)
def line_undo(*, line, reason, actor):
    """Undo a match: void the payments the line made (billing's void service,
    with ``reason``), take back what it sent to credit, and match the line again
    (a suggestion or unmatched; never recorded by itself). Needs ``void_payment``
    (and ``adjust_balance`` when credit is taken back); ``insufficient_balance``
    when that credit was spent meanwhile."""
    permissions.require(actor, permissions.VOID_PAYMENT)
    reason = require_text(
        reason,
        "reason",
        "A reason",
        max_length=StatementLine._meta.get_field("undo_reason").max_length,
    )
    line = _lock_line(line)
    if not line.can_undo:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"This bank line is {line.get_state_display().lower()}; there is no match to undo.",
        )
    links = line.links.select_related("payment").filter(payment__status=PaymentStatus.SUCCEEDED)
    # Invoices in id order, as line_match takes them.
    for link in links.order_by("payment__invoice_id", "payment_id"):
        void_payment(payment=link.payment, actor=actor, reason=reason)
    if line.credit_entry_id is not None:
        entry = line.credit_entry
        adjust_balance(
            customer=entry.balance.customer,
            amount=-entry.amount,
            reason=f"Undo of bank line {line.bank_ref}: {reason}",
            actor=actor,
        )
    verdict = matching.evaluate([line]).get(0)
    line.evidence = verdict.evidence
    line.evidence.pop("auto", None)
    line.state = LineState.SUGGESTED if verdict.evidence["candidates"] else LineState.UNMATCHED
    line.match_round += 1
    line.credit_entry = None
    line.undo_reason, line.undone_by, line.undone_at = reason, actor, timezone.now()
    line.save(
        update_fields=[
            "evidence",
            "state",
            "match_round",
            "credit_entry",
            "undo_reason",
            "undone_by",
            "undone_at",
        ]
    )
    return line


def invoices_by_number_or_id(value):
    """An invoice from what a person types: its number or its id."""
    text = str(value or "").strip()
    query = Invoice.objects.select_related("customer")
    invoice = None
    if text.isdigit():
        invoice = query.filter(pk=int(text)).first() if int(text) < 2**63 else None
    else:
        found = matching.references(text)
        if found:
            invoice = query.filter(number=found[0]).first()
    if invoice is None:
        raise BillingError(
            ErrorCode.INVOICE_NOT_FOUND, f"No invoice {text[:40]!r}.", field="invoice"
        )
    return invoice
