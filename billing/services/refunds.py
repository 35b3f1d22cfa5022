"""Refunds: money given back from a payment, in part or whole, several times."""

from django.db import transaction

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.models import (
    EXTERNAL_METHODS,
    BalanceEntryKind,
    InvoiceEventKind,
    PaymentMethodKind,
    PaymentStatus,
    Refund,
    RefundDestination,
    RefundReason,
    RefundStatus,
)
from billing.money import format_money, parse_money
from billing.services._common import (
    Idempotency,
    balance_move,
    event,
    move_invoice_amounts,
    require_choice,
    save_payment_totals,
)


def natural_destination(payment):
    """Where a refund "the way the money came" goes (used by credit notes)."""
    if payment.method == PaymentMethodKind.CUSTOMER_CREDIT:
        return RefundDestination.CUSTOMER_CREDIT
    if payment.method == PaymentMethodKind.SAVED_METHOD:
        return RefundDestination.ORIGINAL_METHOD
    return RefundDestination.EXTERNAL


def check_refundable(payment, amount, destination):
    """Refuse a refund a locked payment cannot take."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise BillingError(
            ErrorCode.PAYMENT_NOT_REFUNDABLE,
            f"This payment is {payment.get_status_display().lower()}; only a succeeded "
            "payment can be refunded.",
        )
    if amount > payment.refundable:
        raise BillingError(
            ErrorCode.REFUND_EXCEEDS_PAYMENT,
            f"At most {format_money(payment.refundable)} of this payment can be refunded.",
            field="amount",
        )
    if payment.method == PaymentMethodKind.CUSTOMER_CREDIT and (
        destination != RefundDestination.CUSTOMER_CREDIT
    ):
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "A payment made from customer credit can only be refunded to customer credit.",
            field="destination",
        )
    if destination == RefundDestination.ORIGINAL_METHOD and payment.method in EXTERNAL_METHODS:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "This payment arrived outside the system: record the refund as paid back "
            "externally, or send it to customer credit.",
            field="destination",
        )
    if destination == RefundDestination.ORIGINAL_METHOD:
        raise BillingError(
            ErrorCode.GATEWAY_UNAVAILABLE,
            "Refunds back to a saved payment method are not available yet.",
            field="destination",
        )


def create_refund(
    payment, amount, destination, actor, *, reason, notes="", reference="", credit_note=None
):
    """Record a refund of a locked payment and move the money where it goes.

    The caller has checked it (``check_refundable``) and moves the invoice's
    totals. A refund to credit adds a ``refund`` entry to the customer's balance.
    """
    invoice = payment.invoice
    refund = Refund.objects.create(
        payment=payment,
        currency=payment.currency,
        amount=amount,
        status=RefundStatus.SUCCEEDED,
        destination=destination,
        reason=reason,
        notes=(notes or "").strip(),
        reference=(reference or "").strip(),
        credit_note=credit_note,
        created_by=actor,
    )
    payment.amount_refunded += amount
    save_payment_totals(payment)
    if destination == RefundDestination.CUSTOMER_CREDIT:
        balance_move(
            invoice.customer,
            amount,
            BalanceEntryKind.REFUND,
            actor,
            invoice=invoice,
            payment=payment,
            refund=refund,
            credit_note=credit_note,
        )
    event(
        invoice,
        InvoiceEventKind.REFUND_ISSUED,
        actor,
        amount=amount,
        payment=payment,
        refund=refund,
        message=f"{refund.get_destination_display()} ({refund.get_reason_display()})",
    )
    return refund


@transaction.atomic(durable=True)
def payment_refund(
    *, payment, amount, destination, actor, reason, notes="", reference="", idempotency_key=None
):
    """Give back part or all of a succeeded payment; the invoice's due grows back
    by the amount (a refund alone means the customer owes it again; to keep the
    invoice paid, issue a credit note with a refund instead).

    ``destination``: ``external`` (paid back outside the system, ``reference`` says
    how) or ``customer_credit`` (a ``refund`` entry on the balance).
    Raises ``payment_not_refundable``, ``refund_exceeds_payment``,
    ``invalid_amount``, ``invalid_value``, ``idempotency_conflict``.
    Locks: invoice, payment, customer balance.
    """
    permissions.require(actor, permissions.REFUND)
    require_choice(destination, RefundDestination, "destination", "refund destination")
    require_choice(reason, RefundReason, "reason", "refund reason")
    amount = parse_money(amount, payment.currency)
    key = Idempotency(
        "payment_refund",
        idempotency_key,
        dict(
            payment=payment.pk,
            amount=amount,
            destination=destination,
            reason=reason,
            notes=notes,
            reference=reference,
        ),
        actor,
    )
    if key.claim():
        return key.replay
    invoice = locks.lock_invoice(payment.invoice_id)
    payment = locks.lock_payment(payment)
    payment.invoice = invoice
    check_refundable(payment, amount, destination)
    refund = create_refund(
        payment, amount, destination, actor, reason=reason, notes=notes, reference=reference
    )
    move_invoice_amounts(invoice, paid=-amount, due=amount)
    return key.finish(refund)
