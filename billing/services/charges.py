"""Charges of saved payment methods through a gateway, in two phases.

1. ``begin``: one durable transaction locks the invoice, checks the amount
   against what is payable, and commits a ``pending`` payment that reserves its
   amount (``Invoice.amount_pending``): nothing more can be charged or recorded
   beyond the due while it is in flight.
2. The gateway is called with no lock held and no transaction open, with the
   payment's own ``gateway_key`` as the idempotency key, so repeating the call
   can never take the money twice.
3. ``settle_charge``: a second durable transaction locks the invoice and the
   payment and records ``succeeded`` or ``failed``. It does nothing to a payment
   that is no longer pending, so a late answer and ``reconcile_payments`` can
   race safely.

A timeout (or a crash anywhere after phase 1) leaves the payment pending; the
reconciliation looks the charge up by its key and settles it. A decline is not
an exception: the failed payment is the record the operation made, with the
gateway's reason, and can be retried (a new attempt, a new key).
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.gateways import get_gateway
from billing.gateways.base import FAILED, SUCCEEDED, GatewayCharge, GatewayError
from billing.models import (
    Invoice,
    InvoiceEventKind,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
)
from billing.money import format_money, parse_money, zero
from billing.services import schedules
from billing.services._common import (
    Idempotency,
    ensure_payable,
    event,
    gateway_for,
    move_invoice_amounts,
    receipt_wanted,
)
from billing.services.invoices import issue_draft


def saved_method(invoice, payment_method):
    """The method to charge: the one given (it must be the invoice customer's,
    and not removed) or the customer's default (never a removed one). None of
    either is ``no_saved_payment_method``."""
    if payment_method is None:
        payment_method = PaymentMethod.objects.filter(
            customer_id=invoice.customer_id, is_default=True
        ).first()
        if payment_method is None:
            raise BillingError(
                ErrorCode.NO_SAVED_PAYMENT_METHOD,
                f"{invoice.customer} has no default saved payment method to charge.",
                field="payment_method",
            )
    elif payment_method.customer_id != invoice.customer_id:
        raise BillingError(
            ErrorCode.NO_SAVED_PAYMENT_METHOD,
            "That saved payment method belongs to another customer.",
            field="payment_method",
        )
    elif PaymentMethod.objects.filter(pk=payment_method.pk, removed_at__isnull=False).exists():
        # Asked of the row, not the object given, which may predate the removal.
        raise BillingError(
            ErrorCode.NO_SAVED_PAYMENT_METHOD,
            f"{payment_method} was removed from {invoice.customer}'s saved methods.",
            field="payment_method",
        )
    return payment_method


def start_charge(invoice, payment_method, amount, actor):
    """Phase 1 on a locked invoice: the pending payment that reserves ``amount``
    (default: all that is payable)."""
    ensure_payable(invoice)
    room = invoice.payable_now
    if amount is None:
        amount = room
        if amount.amount <= 0:
            raise BillingError(
                ErrorCode.OVERPAYMENT,
                f"Nothing is left to charge on invoice {invoice}: a charge or refund is "
                "still in flight.",
                field="amount",
            )
    if amount > room:
        raise BillingError(
            ErrorCode.OVERPAYMENT,
            f"The amount is more than the {format_money(room)} that can be charged on "
            f"invoice {invoice}.",
            field="amount",
        )
    currency = invoice.currency
    payment = Payment.objects.create(
        invoice=invoice,
        currency=currency,
        amount=amount,
        status=PaymentStatus.PENDING,
        method=PaymentMethodKind.SAVED_METHOD,
        payment_method=payment_method,
        paid_at=timezone.localdate(),
        amount_refunded=zero(currency),
        amount_to_credit=zero(currency),
        created_by=actor,
    )
    move_invoice_amounts(invoice, pending=amount)
    event(
        invoice,
        InvoiceEventKind.PAYMENT_PENDING,
        actor,
        amount=amount,
        payment=payment,
        message=str(payment_method),
    )
    return payment


@transaction.atomic(durable=True)
def _begin(invoice, actor, amount, payment_method, idempotency_key):
    key = Idempotency(
        "payment_charge",
        idempotency_key,
        dict(invoice=invoice.pk, amount=amount, payment_method=payment_method),
        actor,
    )
    if key.claim():
        return key.replay, True
    invoice = locks.lock_invoice(invoice)
    payment_method = saved_method(invoice, payment_method)
    gateway_for(payment_method)
    return key.finish(start_charge(invoice, payment_method, amount, actor)), False


def payment_charge(*, invoice, actor, amount=None, payment_method=None, idempotency_key=None):
    """Charge a saved payment method for an invoice (default: its default method,
    for all that is payable), in two phases (see the module docstring).

    Returns the payment: ``succeeded``; ``failed`` with the gateway's reason in
    ``failure_reason`` (a decline); or ``pending`` when the gateway's answer did
    not come (``reconcile_payments`` settles it). The same idempotency key returns
    that payment again, as it is now, and charges nothing.
    Raises, writing nothing: ``permission_denied``, ``invalid_amount``,
    ``invoice_not_payable``, ``overpayment``, ``no_saved_payment_method``,
    ``gateway_unavailable``, ``idempotency_conflict``.
    Locks: invoice (phase 1), invoice and payment (phase 3).
    """
    permissions.require(actor, permissions.CHARGE)
    if amount is not None:
        amount = parse_money(amount, invoice.currency)
    payment, replayed = _begin(invoice, actor, amount, payment_method, idempotency_key)
    if replayed:
        return payment
    return complete_charge(payment, actor)


def complete_charge(payment, actor):
    """Phases 2 and 3 for a committed pending payment. Call with no transaction open:
    the gateway must never be called while we hold a row lock."""
    method = payment.payment_method
    try:
        result = get_gateway(method.gateway).charge(
            token=method.token,
            amount=payment.amount,
            idempotency_key=str(payment.gateway_key),
            description=f"Invoice {payment.invoice.number}",
            metadata={"invoice": payment.invoice.number, "payment": str(payment.pk)},
        )
    except GatewayError as exc:
        if exc.money_may_have_moved:
            note_unknown_outcome(payment, actor, exc.message)
            payment.refresh_from_db()
            return payment
        result = GatewayCharge(
            id="", status=FAILED, amount=payment.amount, failure_reason=exc.message
        )
    return settle_charge(payment=payment, charge=result, actor=actor)


@transaction.atomic(durable=True)
def note_unknown_outcome(payment, actor, message):
    invoice = locks.lock_invoice(payment.invoice_id)
    event(
        invoice,
        InvoiceEventKind.PAYMENT_UNKNOWN,
        actor,
        amount=payment.amount,
        payment=payment,
        message=f"{message} The charge stays pending until reconciliation looks it up.",
    )


def settle_charge(*, payment, charge, actor):
    """Phase 3: record the gateway's answer (a GatewayCharge) on a pending payment.

    ``succeeded`` moves the reserved amount into what is paid; ``failed`` frees it.
    A payment that is no longer pending is returned unchanged, so settling twice
    (a late answer racing the reconciliation) is harmless.
    Locks: invoice, payment.
    """
    return record_charge_outcome(payment, charge, actor)[0]


@transaction.atomic(durable=True)
def record_charge_outcome(payment, charge, actor):
    """``settle_charge`` that also says whether this call changed the payment."""
    invoice = locks.lock_invoice(payment.invoice_id)
    payment = locks.lock_payment(payment)
    payment.invoice = invoice
    if payment.status != PaymentStatus.PENDING:
        return payment, False
    if charge.status == SUCCEEDED and charge.amount != payment.amount:
        # Never record an amount we did not ask for; leave it for a person.
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"The gateway charged {format_money(charge.amount)} for payment #{payment.pk} "
            f"of {format_money(payment.amount)}; it stays pending for review.",
        )
    payment.gateway_charge_id = charge.id or ""
    if charge.status == SUCCEEDED:
        payment.status = PaymentStatus.SUCCEEDED
        move_invoice_amounts(
            invoice, pending=-payment.amount, paid=payment.amount, due=-payment.amount
        )
        schedules.allocate(invoice, payment, payment.amount)
        kind, message = InvoiceEventKind.PAYMENT_SUCCEEDED, str(payment.payment_method)
        receipt_wanted(payment=payment)
    else:
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = (charge.failure_reason or "The charge failed.")[:300]
        move_invoice_amounts(invoice, pending=-payment.amount)
        kind, message = InvoiceEventKind.PAYMENT_FAILED, payment.failure_reason
    payment.save(update_fields=["status", "gateway_charge_id", "failure_reason"])
    event(invoice, kind, actor, amount=payment.amount, payment=payment, message=message)
    return payment, True


def payment_retry(*, payment, actor, idempotency_key=None):
    """Charge again after a failed attempt: a new payment on the same saved method,
    for the failed amount or what is payable now if that is less.

    Only the invoice's latest attempt, when it failed (``Payment.can_retry``),
    asked on the locked invoice: every attempt is created under that lock, so
    none can slip in between. Raises ``invalid_state`` for a payment that is not
    a failed charge or that a later attempt followed, plus what
    ``payment_charge`` raises (``invoice_not_payable``, ``overpayment`` when
    nothing can be charged now). Locks: invoice (phase 1), invoice and payment
    (phase 3).
    """
    permissions.require(actor, permissions.CHARGE)
    attempt, replayed = _begin_retry(payment, actor, idempotency_key)
    if replayed:
        return attempt
    return complete_charge(attempt, actor)


@transaction.atomic(durable=True)
def _begin_retry(failed, actor, idempotency_key):
    key = Idempotency("payment_retry", idempotency_key, dict(payment=failed.pk), actor)
    if key.claim():
        return key.replay, True
    invoice = locks.lock_invoice(failed.invoice_id)
    # A failed payment never changes again; which attempt is the latest is
    # settled under the invoice's lock.
    failed = Payment.objects.select_related("payment_method").get(pk=failed.pk)
    failed.invoice = invoice
    if not failed.is_retryable_attempt:
        if failed.status == PaymentStatus.FAILED and failed.is_gateway:
            message = (
                f"A later charge was made on invoice {invoice} after this one; only the "
                "latest failed attempt can be retried."
            )
        else:
            message = (
                f"This payment is {failed.get_status_display().lower()}; only a failed "
                "charge can be retried."
            )
        raise BillingError(ErrorCode.INVALID_STATE, message)
    # The invoice's part of can_retry, with start_charge's own codes.
    ensure_payable(invoice)
    gateway_for(failed.payment_method)
    attempt = start_charge(invoice, failed.payment_method, failed.retry_amount, actor)
    return key.finish(attempt), False


@transaction.atomic(durable=True)
def _issue_and_begin(invoice, actor, idempotency_key):
    key = Idempotency("invoice_issue_and_charge", idempotency_key, dict(invoice=invoice.pk), actor)
    if key.claim():
        return _issued_and_charged(key.replay), True
    invoice = locks.lock_invoice(invoice)
    payment_method = saved_method(invoice, None)
    gateway_for(payment_method)
    credit_payment = issue_draft(invoice, actor)
    charge = None
    if invoice.can_take_payment:
        charge = start_charge(invoice, payment_method, None, actor)
    key.finish(invoice)
    return IssuedAndCharged(invoice=invoice, charge=charge, credit_payment=credit_payment), False


def _issued_and_charged(invoice):
    """A replayed issue-and-charge's outcome, from its records."""
    payments = invoice.payments.select_related("payment_method").order_by("pk")
    return IssuedAndCharged(
        invoice=invoice,
        charge=payments.filter(method=PaymentMethodKind.SAVED_METHOD).first(),
        credit_payment=payments.filter(method=PaymentMethodKind.CUSTOMER_CREDIT).first(),
    )


@dataclass(frozen=True)
class IssuedAndCharged:
    """What ``invoice_issue_and_charge`` did: the issued invoice, the payment its
    customer's credit made (or None), and the charge (None when credit paid it
    all) in the status the gateway left it: succeeded, failed (a decline) or
    pending (no answer; reconciliation settles it)."""

    invoice: Invoice
    charge: Payment | None
    credit_payment: Payment | None


def invoice_issue_and_charge(*, invoice, actor, idempotency_key=None):
    """Issue a draft (applying the customer's credit first) and charge the default
    saved method for what is still due, in the charge's two phases.

    Returns an ``IssuedAndCharged``; nothing is charged when credit paid it all.
    The same idempotency key returns the first call's outcome as it is now.
    Raises, writing nothing: ``permission_denied``, ``invalid_state`` (not a
    draft, no lines), ``no_saved_payment_method``, ``gateway_unavailable``,
    ``idempotency_conflict``.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    permissions.require(actor, permissions.CHARGE)
    outcome, replayed = _issue_and_begin(invoice, actor, idempotency_key)
    if replayed or outcome.charge is None:
        return outcome
    charge = complete_charge(outcome.charge, actor)
    invoice = Invoice.objects.select_related("customer").get(pk=outcome.invoice.pk)
    return IssuedAndCharged(invoice=invoice, charge=charge, credit_payment=outcome.credit_payment)
