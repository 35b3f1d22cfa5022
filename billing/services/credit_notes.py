"""Credit notes: reduce what an invoice asks for, refund, or move paid money to credit."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.models import (
    ISSUED_STATUSES,
    BalanceEntryKind,
    CreditNote,
    CreditNoteReason,
    InvoiceEventKind,
    PaymentStatus,
    Refund,
    RefundDestination,
    RefundReason,
    RefundStatus,
)
from billing.money import format_money, parse_money, zero
from billing.services import schedules
from billing.services._common import (
    Idempotency,
    balance_move,
    event,
    limit_text,
    move_invoice_amounts,
    require_choice,
    save_payment_totals,
)
from billing.services.refunds import check_refundable, complete_refund, create_refund

CREDIT_NOTE_PREFIX = "CN"
_REFUND_REASONS = {
    CreditNoteReason.DUPLICATE: RefundReason.DUPLICATE,
    CreditNoteReason.FRAUDULENT: RefundReason.FRAUDULENT,
}


@dataclass(frozen=True)
class CreditNoteIssued:
    """What ``credit_note_issue`` did: the note, and its refund (None when it has
    no refund part) in the status the gateway left it: a refund back to the card
    may have failed, or be pending until reconciliation."""

    credit_note: CreditNote
    refund: Refund | None

    @property
    def moves_customer_credit(self):
        """It changed the customer's credit: a ``to_credit`` part, or a refund of a
        payment made from credit (which goes back to credit)."""
        return self.credit_note.to_credit.amount > 0 or (
            self.refund is not None and self.refund.destination == RefundDestination.CUSTOMER_CREDIT
        )


def _exceeds(message, field):
    return BillingError(ErrorCode.CREDIT_NOTE_EXCEEDS_INVOICE, message, field=field)


def create_credit_note(
    invoice,
    actor,
    *,
    reason,
    reduce_due=None,
    refund=None,
    refund_payment=None,
    to_credit=None,
    memo="",
):
    """Issue a credit note on a locked, issued invoice (see ``credit_note_issue``);
    returns a ``CreditNoteIssued``, its refund (if any) still pending at a gateway.

    Locks the invoice's succeeded payments (id order), then the number counter,
    then the balance, as locks.py orders them.
    """
    currency = invoice.currency
    reduce_due = reduce_due or zero(currency)
    refund = refund or zero(currency)
    to_credit = to_credit or zero(currency)
    total = reduce_due + refund + to_credit
    if total.amount <= 0:
        raise BillingError(
            ErrorCode.INVALID_AMOUNT, "A credit note must credit something.", field="reduce_due"
        )
    creditable = invoice.creditable
    if total > creditable:
        raise _exceeds(
            f"Only {format_money(creditable)} of invoice {invoice} can still be credited.",
            "reduce_due",
        )
    room = invoice.payable_now
    if reduce_due > room:
        raise _exceeds(f"Only {format_money(room)} is due on invoice {invoice}.", "reduce_due")

    payments = {p.pk: p for p in locks.lock_payments(invoice, status=PaymentStatus.SUCCEEDED)}
    for payment in payments.values():
        payment.invoice = invoice
    if refund.amount > 0:
        payment = payments.get(refund_payment.pk)
        if payment is None:
            raise BillingError(
                ErrorCode.PAYMENT_NOT_REFUNDABLE,
                "The payment to refund is not a succeeded payment of this invoice.",
                field="refund_payment",
            )
        check_refundable(payment, refund, payment.natural_refund_destination, field="refund")
    # The refund above comes out of its payment first; to_credit takes what is left.
    available = sum((p.refundable for p in payments.values()), zero(currency)) - refund
    if to_credit > available:
        raise _exceeds(
            f"Only {format_money(available)} paid on invoice {invoice} can go to credit.",
            "to_credit",
        )

    today = timezone.localdate()
    number = locks.next_number("credit_note", today.year)
    note = CreditNote.objects.create(
        number=f"{CREDIT_NOTE_PREFIX}-{today.year}-{number:06d}",
        invoice=invoice,
        currency=currency,
        total=total,
        reduce_due=reduce_due,
        refund_amount=refund,
        to_credit=to_credit,
        refund_payment=refund_payment if refund.amount > 0 else None,
        reason=reason,
        memo=(memo or "").strip(),
        issue_date=today,
        created_by=actor,
    )
    event(
        invoice,
        InvoiceEventKind.CREDIT_NOTE_ISSUED,
        actor,
        amount=total,
        credit_note=note,
        message=f"{note.number}: {note.get_reason_display()}",
    )
    refund_record = None
    if refund.amount > 0:
        payment = payments[refund_payment.pk]
        refund_record = create_refund(
            payment,
            refund,
            payment.natural_refund_destination,
            actor,
            reason=_REFUND_REASONS.get(reason, RefundReason.OTHER),
            notes=f"Credit note {note.number}",
            credit_note=note,
        )
        schedules.release(invoice, payment, refund)
    remaining = to_credit
    for payment in sorted(payments.values(), key=lambda p: p.pk, reverse=True):
        if remaining.amount <= 0:
            break
        take = min(remaining, payment.refundable)
        if take.amount <= 0:
            continue
        payment.amount_to_credit += take
        save_payment_totals(payment)
        balance_move(
            invoice.customer,
            take,
            BalanceEntryKind.CREDIT_NOTE,
            actor,
            invoice=invoice,
            payment=payment,
            credit_note=note,
        )
        schedules.release(invoice, payment, take)
        remaining -= take
    schedules.reduce_for_credit(invoice, total)
    move_invoice_amounts(invoice, credited=total, due=-reduce_due, paid=-(refund + to_credit))
    return CreditNoteIssued(credit_note=note, refund=refund_record)


def credit_note_issue(
    *,
    invoice,
    actor,
    reason,
    reduce_due=None,
    refund=None,
    refund_payment=None,
    to_credit=None,
    memo="",
    idempotency_key=None,
):
    """Credit an issued invoice, split three ways; the due never grows.

    - ``reduce_due``: lowers what is due (at most the due);
    - ``refund`` with ``refund_payment``: refunds that payment the way it came;
    - ``to_credit``: moves paid money to the customer's balance, taken from the
      invoice's payments newest first.
    The total is at most the invoice's total less what was already credited.
    A refund of a gateway charge goes back through the gateway after the credit
    note is committed (see ``payment_refund``); if the gateway refuses it, the
    refund part is undone on the invoice (paid again, no longer credited) and the
    ``refund_failed`` event says so.
    Returns a ``CreditNoteIssued``: the note and its refund, if any.
    Raises ``credit_note_exceeds_invoice``, ``refund_exceeds_payment``,
    ``payment_not_refundable``, ``invalid_state`` (draft or void), ``invalid_amount``,
    ``invalid_value``, ``idempotency_conflict``.
    Locks: invoice, payments, number counter, balance.
    """
    permissions.require(actor, permissions.ISSUE_CREDIT_NOTE)
    require_choice(reason, CreditNoteReason, "reason", "credit note reason")
    limit_text(CreditNote, memo=memo)
    currency = invoice.currency
    parts = {
        name: parse_money(value, currency, allow_zero=True, field=name)
        if value is not None
        else zero(currency)
        for name, value in (
            ("reduce_due", reduce_due),
            ("refund", refund),
            ("to_credit", to_credit),
        )
    }
    if parts["refund"].amount > 0 and refund_payment is None:
        raise BillingError(
            ErrorCode.INVALID_VALUE, "Choose the payment to refund.", field="refund_payment"
        )
    if refund_payment is not None and refund_payment.invoice_id != invoice.pk:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "The payment to refund belongs to another invoice.",
            field="refund_payment",
        )
    key = Idempotency(
        "credit_note_issue",
        idempotency_key,
        dict(invoice=invoice.pk, reason=reason, memo=memo, refund_payment=refund_payment, **parts),
        actor,
    )
    issued, replayed = _credit_note_begin(key, invoice, actor, reason, refund_payment, memo, parts)
    refund = issued.refund
    if not replayed and refund is not None and refund.status == RefundStatus.PENDING:
        refund = complete_refund(refund, actor)
    return CreditNoteIssued(credit_note=issued.credit_note, refund=refund)


@transaction.atomic(durable=True)
def _credit_note_begin(key, invoice, actor, reason, refund_payment, memo, parts):
    if key.claim():
        note = key.replay
        return CreditNoteIssued(credit_note=note, refund=note.refunds.first()), True
    invoice = locks.lock_invoice(invoice)
    if invoice.status not in ISSUED_STATUSES:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Invoice {invoice} is {invoice.get_status_display().lower()}; only an issued "
            "invoice can be credited.",
        )
    issued = create_credit_note(
        invoice, actor, reason=reason, refund_payment=refund_payment, memo=memo, **parts
    )
    key.finish(issued.credit_note)
    return issued, False
