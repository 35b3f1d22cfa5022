"""Refunds: money given back from a payment, in part or whole, several times."""

from django.db import transaction

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.gateways import get_gateway
from billing.gateways.base import FAILED, SUCCEEDED, GatewayError, GatewayRefund
from billing.models import (
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
from billing.services import schedules
from billing.services._common import (
    Idempotency,
    balance_move,
    event,
    gateway_for,
    limit_text,
    move_invoice_amounts,
    receipt_wanted,
    require_choice,
    save_payment_totals,
)


def check_refundable(payment, amount, destination, *, field="amount"):
    """Refuse a refund a locked payment cannot take (``Payment.refundable`` and
    ``Payment.refund_destinations``); ``field`` names the amount's field."""
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
            field=field,
        )
    if destination not in payment.refund_destinations:
        if payment.method == PaymentMethodKind.CUSTOMER_CREDIT:
            message = "A payment made from customer credit can only be refunded to customer credit."
        else:
            message = (
                "This payment arrived outside the system: record the refund as paid back "
                "externally, or send it to customer credit."
            )
        raise BillingError(ErrorCode.INVALID_VALUE, message, field="destination")
    if destination == RefundDestination.ORIGINAL_METHOD and not payment.gateway_charge_id:
        raise BillingError(
            ErrorCode.PAYMENT_NOT_REFUNDABLE,
            "The gateway gave no charge id for this payment, so it cannot refund it; "
            "record the refund as paid back externally.",
            field="destination",
        )
    if destination == RefundDestination.ORIGINAL_METHOD:
        gateway_for(payment.payment_method)


def create_refund(
    payment, amount, destination, actor, *, reason, notes="", reference="", credit_note=None
):
    """Record a refund of a locked payment and move the money where it goes.

    The caller has checked it (``check_refundable``) and moves the invoice's
    totals. A refund to credit adds a ``refund`` entry to the customer's balance.
    A refund to the original method is ``pending`` until the gateway answers
    (``complete_refund``); it already counts in the payment's ``amount_refunded``
    so the payment cannot be refunded twice over meanwhile.
    """
    invoice = payment.invoice
    through_gateway = destination == RefundDestination.ORIGINAL_METHOD
    refund = Refund.objects.create(
        payment=payment,
        currency=payment.currency,
        amount=amount,
        status=RefundStatus.PENDING if through_gateway else RefundStatus.SUCCEEDED,
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
        InvoiceEventKind.REFUND_PENDING if through_gateway else InvoiceEventKind.REFUND_ISSUED,
        actor,
        amount=amount,
        payment=payment,
        refund=refund,
        message=f"{refund.get_destination_display()} ({refund.get_reason_display()})",
    )
    if refund.status == RefundStatus.SUCCEEDED:
        receipt_wanted(refund=refund)
    return refund


def payment_refund(
    *, payment, amount, destination, actor, reason, notes="", reference="", idempotency_key=None
):
    """Give back part or all of a succeeded payment; the invoice's due grows back
    by the amount (a refund alone means the customer owes it again; to keep the
    invoice paid, issue a credit note with a refund instead).

    ``destination``: ``external`` (paid back outside the system, ``reference`` says
    how), ``customer_credit`` (a ``refund`` entry on the balance) or
    ``original_method`` (a charge of a saved method, back through its gateway).

    A gateway refund runs in two phases like a charge: a ``pending`` refund is
    committed first; the due it gives back stays reserved (``amount_pending``) so
    nobody can pay it until the gateway answers; then the answer is recorded
    (``settle_refund``). A refusal or a later failure puts the invoice back as it
    was, with a ``refund_failed`` event. A timeout leaves it pending for
    ``reconcile_payments``. Returns the refund in its current status.
    Raises ``payment_not_refundable``, ``refund_exceeds_payment``,
    ``invalid_amount``, ``invalid_value``, ``gateway_unavailable``,
    ``idempotency_conflict``. Locks: invoice, payment, customer balance.
    """
    permissions.require(actor, permissions.REFUND)
    require_choice(destination, RefundDestination, "destination", "refund destination")
    require_choice(reason, RefundReason, "reason", "refund reason")
    limit_text(Refund, notes=notes, reference=reference)
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
    refund, replayed = _refund_begin(
        key, payment, amount, destination, actor, reason=reason, notes=notes, reference=reference
    )
    if refund.status == RefundStatus.PENDING and not replayed:
        return complete_refund(refund, actor)
    return refund


@transaction.atomic(durable=True)
def _refund_begin(key, payment, amount, destination, actor, **details):
    if key.claim():
        return key.replay, True
    invoice = locks.lock_invoice(payment.invoice_id)
    payment = locks.lock_payment(payment)
    payment.invoice = invoice
    check_refundable(payment, amount, destination)
    refund = create_refund(payment, amount, destination, actor, **details)
    pending = amount if refund.status == RefundStatus.PENDING else None
    move_invoice_amounts(invoice, paid=-amount, due=amount, pending=pending)
    schedules.release(invoice, payment, amount)
    return key.finish(refund), False


def complete_refund(refund, actor):
    """Send a committed pending refund to the gateway and record its answer.
    Call with no transaction open. A timeout leaves it pending."""
    payment = refund.payment
    try:
        result = get_gateway(payment.payment_method.gateway).refund(
            charge_id=payment.gateway_charge_id,
            amount=refund.amount,
            idempotency_key=str(refund.gateway_key),
            metadata={"payment": str(payment.pk), "refund": str(refund.pk)},
        )
    except GatewayError as exc:
        if exc.money_may_have_moved:
            refund.refresh_from_db()
            return refund
        result = GatewayRefund(
            id="", status=FAILED, amount=refund.amount, failure_reason=exc.message
        )
    return settle_refund(refund=refund, outcome=result, actor=actor)


def settle_refund(*, refund, outcome, actor):
    """Record the gateway's answer (a GatewayRefund) on a pending refund.

    Succeeded: the due it gave back is no longer reserved. Failed: everything the
    refund did is undone — the payment's ``amount_refunded``, and the invoice's
    paid and due (or, for a credit note's refund, its paid and credited) — with a
    ``refund_failed`` event. A refund no longer pending is returned unchanged.
    Locks: invoice, payment, refund.
    """
    return record_refund_outcome(refund, outcome, actor)[0]


@transaction.atomic(durable=True)
def record_refund_outcome(refund, outcome, actor):
    """``settle_refund`` that also says whether this call changed the refund."""
    invoice = locks.lock_invoice(refund.payment.invoice_id)
    payment = locks.lock_payment(refund.payment_id)
    refund = locks.lock_refund(refund)
    if refund.status != RefundStatus.PENDING:
        return refund, False
    amount = refund.amount
    refund.gateway_refund_id = outcome.id or ""
    if outcome.status == SUCCEEDED:
        refund.status = RefundStatus.SUCCEEDED
        if refund.credit_note_id is None:
            move_invoice_amounts(invoice, pending=-amount)
        kind, message = InvoiceEventKind.REFUND_SUCCEEDED, refund.get_destination_display()
        receipt_wanted(refund=refund)
    else:
        refund.status = RefundStatus.FAILED
        refund.failure_reason = (outcome.failure_reason or "The refund failed.")[:300]
        payment.amount_refunded -= amount
        save_payment_totals(payment)
        if refund.credit_note_id is None:
            move_invoice_amounts(invoice, paid=amount, due=-amount, pending=-amount)
        else:
            move_invoice_amounts(invoice, paid=amount, credited=-amount)
            schedules.restore_credit(invoice, amount)
        # The money pays the invoice again: allocated afresh, oldest due first.
        schedules.allocate(invoice, payment, amount)
        kind, message = InvoiceEventKind.REFUND_FAILED, refund.failure_reason
    refund.save(update_fields=["status", "gateway_refund_id", "failure_reason"])
    event(invoice, kind, actor, amount=amount, payment=payment, refund=refund, message=message)
    return refund, True
