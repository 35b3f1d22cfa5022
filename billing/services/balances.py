"""Customer credit: apply it to invoices, adjust it, pay it out.

A balance changes only through ``balance_move`` (services._common), which writes
its signed ledger entry and refuses to go below zero; the database refuses a
negative balance too.
"""

from django.db import transaction
from django.utils import timezone

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.models import (
    BalanceEntry,
    BalanceEntryKind,
    InvoiceEventKind,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
)
from billing.money import currency_code, format_money, parse_money, zero
from billing.services import schedules
from billing.services._common import (
    Idempotency,
    balance_move,
    ensure_payable,
    event,
    limit_text,
    move_invoice_amounts,
    receipt_wanted,
    require_text,
)


def apply_credit(invoice, balance, amount, actor):
    """Pay ``amount`` of a locked invoice from a locked balance: a ``customer_credit``
    payment funded by an ``applied_to_invoice`` entry."""
    payment = Payment.objects.create(
        invoice=invoice,
        currency=invoice.currency,
        amount=amount,
        status=PaymentStatus.SUCCEEDED,
        method=PaymentMethodKind.CUSTOMER_CREDIT,
        paid_at=timezone.localdate(),
        amount_refunded=zero(invoice.currency),
        amount_to_credit=zero(invoice.currency),
        created_by=actor,
    )
    balance_move(
        invoice.customer,
        -amount,
        BalanceEntryKind.APPLIED_TO_INVOICE,
        actor,
        balance=balance,
        invoice=invoice,
        payment=payment,
    )
    move_invoice_amounts(invoice, paid=amount, due=-amount)
    schedules.allocate(invoice, payment, amount)
    event(invoice, InvoiceEventKind.CREDIT_APPLIED, actor, amount=amount, payment=payment)
    receipt_wanted(payment=payment)
    return payment


@transaction.atomic(durable=True)
def credit_apply(*, invoice, actor, amount=None, idempotency_key=None):
    """Pay an invoice from the customer's credit in its currency.

    ``amount`` defaults to the most it can: the smaller of the credit and what is
    payable. The same ``idempotency_key`` with the same request returns the first
    payment and writes nothing. Raises ``invoice_not_payable``,
    ``insufficient_balance`` (no credit, or less than ``amount``), ``overpayment``
    (more than is due), ``idempotency_conflict``. Locks: invoice, customer balance.
    """
    permissions.require(actor, permissions.RECORD)
    if amount is not None:
        amount = parse_money(amount, invoice.currency)
    key = Idempotency(
        "credit_apply", idempotency_key, dict(invoice=invoice.pk, amount=amount), actor
    )
    if key.claim():
        return key.replay

    invoice = locks.lock_invoice(invoice)
    ensure_payable(invoice)
    room = invoice.payable_now
    balance = locks.lock_balance(invoice.customer_id, invoice.currency, create=False)
    available = balance.amount if balance is not None else zero(invoice.currency)
    if amount is None:
        if available.amount <= 0:
            raise BillingError(
                ErrorCode.INSUFFICIENT_BALANCE,
                f"{invoice.customer} has no {invoice.currency} credit to apply.",
            )
        amount = min(available, room)
    if amount > available:
        raise BillingError(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"{invoice.customer} has only {format_money(available)} of credit.",
            field="amount",
        )
    if amount > room or amount.amount <= 0:
        raise BillingError(
            ErrorCode.OVERPAYMENT,
            f"Only {format_money(room)} can be paid on invoice {invoice}.",
            field="amount",
        )
    return key.finish(apply_credit(invoice, balance, amount, actor))


@transaction.atomic(durable=True)
def balance_adjust(*, customer, amount, actor, reason, idempotency_key=None):
    """Correct a customer's credit: ``adjust_balance`` in a durable transaction
    of its own (see there)."""
    return adjust_balance(
        customer=customer,
        amount=amount,
        actor=actor,
        reason=reason,
        idempotency_key=idempotency_key,
    )


def adjust_balance(*, customer, amount, actor, reason, idempotency_key=None):
    """Correct a customer's credit by a signed amount, with a reason.
    Runs in the caller's transaction (a bank line's rest sent to credit).

    The same ``idempotency_key`` with the same request returns the first entry
    and writes nothing. Raises ``invalid_amount`` for zero, ``insufficient_balance``
    if it would go below zero, ``invalid_value`` without a reason,
    ``idempotency_conflict``. Locks: the balance.
    """
    permissions.require(actor, permissions.ADJUST_BALANCE)
    reason = require_text(reason, "reason", "A reason")
    limit_text(BalanceEntry, reason=reason)
    if not hasattr(amount, "currency"):
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            "The adjustment needs an amount with its currency.",
            field="amount",
        )
    amount = parse_money(amount, currency_code(amount.currency), allow_negative=True)
    key = Idempotency(
        "balance_adjust",
        idempotency_key,
        dict(customer=customer.pk, amount=amount, reason=reason),
        actor,
    )
    if key.claim():
        return key.replay
    entry = balance_move(customer, amount, BalanceEntryKind.ADJUSTMENT, actor, reason=reason)
    return key.finish(entry)


@transaction.atomic(durable=True)
def balance_pay_out(*, customer, amount, actor, reference, notes="", idempotency_key=None):
    """Record credit returned to the customer outside the system (a transfer, a
    cheque): a ``payout`` entry. ``reference`` says how it was paid out.

    The same ``idempotency_key`` with the same request returns the first entry
    and writes nothing. Raises ``insufficient_balance`` if the credit is smaller
    than ``amount``, ``idempotency_conflict``. Locks: the balance.
    """
    permissions.require(actor, permissions.ADJUST_BALANCE)
    reference = require_text(reference, "reference", "A payout reference")
    # The notes are kept as the entry's reason.
    limit_text(BalanceEntry, reference=reference, reason=notes)
    if not hasattr(amount, "currency"):
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            "The payout needs an amount with its currency.",
            field="amount",
        )
    amount = parse_money(amount, currency_code(amount.currency))
    notes = (notes or "").strip()
    key = Idempotency(
        "balance_pay_out",
        idempotency_key,
        dict(customer=customer.pk, amount=amount, reference=reference, notes=notes),
        actor,
    )
    if key.claim():
        return key.replay
    entry = balance_move(
        customer, -amount, BalanceEntryKind.PAYOUT, actor, reference=reference, reason=notes
    )
    return key.finish(entry)
