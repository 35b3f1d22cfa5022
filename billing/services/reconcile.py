"""Settle what a gateway's silence left pending, by asking the gateway.

A charge or gateway refund stays ``pending`` when the gateway's answer did not
arrive (a timeout, a crash between the phases, an exception after the gateway
acted). ``reconcile_pending`` looks each one up by its idempotency key: money
taken → succeeded; no record at the gateway → failed; the gateway cannot tell →
left for the next run. It settles through ``settle_charge``/``settle_refund``,
which lock the rows and ignore a record that is no longer pending, so it is safe
beside staff work and beside another run of itself.

``payment_check_status`` is the same look-up for one payment, at once ("Check
status" on the invoice page); ``manage.py reconcile_periodically`` runs
``reconcile_pending`` every minute beside ``make run``'s server. Stripe's
webhooks (billing/gateways/stripe_webhooks.py) settle through the same step
(``settle_reported_charge``/``settle_reported_refund``) with the outcome the
event carries, as soon as Stripe knows it.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from billing import permissions
from billing.errors import BillingError, ErrorCode
from billing.gateways import get_gateway
from billing.gateways.base import FAILED, GatewayCharge, GatewayError, GatewayRefund
from billing.models import (
    Payment,
    PaymentMethodKind,
    PaymentStatus,
    Refund,
    RefundDestination,
    RefundStatus,
)
from billing.services.charges import record_charge_outcome
from billing.services.refunds import record_refund_outcome


@dataclass
class Reconciliation:
    settled: int = 0
    left_pending: int = 0
    lines: list = field(default_factory=list)


def reconcile_pending(*, actor, older_than=None, dry_run=False):
    """Look up every charge and gateway refund pending for longer than
    ``older_than`` (default ``BILLING_RECONCILE_AFTER_SECONDS``) and settle it.

    The wait keeps it from judging a call that is still in flight: a charge not
    found at the gateway is only "not taken" once the call can no longer land.
    With ``dry_run`` it asks the gateway and reports, and writes nothing.
    Returns a Reconciliation (counts and one line per record).
    """
    permissions.require(actor, permissions.CHARGE)
    if older_than is None:
        older_than = datetime.timedelta(seconds=settings.BILLING_RECONCILE_AFTER_SECONDS)
    cutoff = timezone.now() - older_than
    report = Reconciliation()
    payments = Payment.objects.filter(
        status=PaymentStatus.PENDING,
        method=PaymentMethodKind.SAVED_METHOD,
        created_at__lte=cutoff,
    ).select_related("payment_method", "invoice")
    for payment in payments.order_by("pk"):
        _reconcile_charge(payment, actor, dry_run, report)
    refunds = Refund.objects.filter(status=RefundStatus.PENDING, created_at__lte=cutoff)
    for refund in refunds.select_related("payment__payment_method", "payment__invoice"):
        _reconcile_refund(refund, actor, dry_run, report)
    return report


def payment_check_status(*, payment, actor):
    """Ask the gateway now about a payment's pending charge and its pending
    gateway refunds, and settle what it answers, through the code
    ``reconcile_pending`` runs (one record at a time, the same locks).

    Found at the gateway: settled whatever its age. Not found: failed only once
    it has been pending for ``BILLING_RECONCILE_AFTER_SECONDS``, as in
    ``reconcile_pending`` (a call still in flight could yet land); younger, it
    is left pending and the report says so. Returns a Reconciliation.
    Raises ``permission_denied``, ``invalid_state`` when nothing of the payment
    waits for the gateway.
    """
    permissions.require(actor, permissions.CHARGE)
    payment = Payment.objects.select_related("payment_method", "invoice").get(pk=payment.pk)
    refunds = list(
        payment.refunds.filter(
            status=RefundStatus.PENDING, destination=RefundDestination.ORIGINAL_METHOD
        ).order_by("pk")
    )
    charge_pending = payment.status == PaymentStatus.PENDING and payment.is_gateway
    if not charge_pending and not refunds:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Nothing of payment #{payment.pk} is waiting for the gateway: it is "
            f"{payment.get_status_display().lower()}.",
        )
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.BILLING_RECONCILE_AFTER_SECONDS)
    report = Reconciliation()
    if charge_pending:
        _reconcile_charge(payment, actor, False, report, judge_missing=payment.created_at <= cutoff)
    for refund in refunds:
        refund.payment = payment
        _reconcile_refund(refund, actor, False, report, judge_missing=refund.created_at <= cutoff)
    return report


def reconcile_payment_refunds(*, payment, actor):
    """Look up now each pending gateway refund of ``payment`` and settle what the
    gateway answers, as ``reconcile_pending`` does, but never calling a refund
    the gateway has no record of failed (it may be in flight). For a gateway's
    word that the charge was refunded (Stripe's ``charge.refunded``), which
    does not always carry the refunds themselves. No permission: the gateway's
    signature is the authority. Returns a Reconciliation."""
    payment = Payment.objects.select_related("payment_method", "invoice").get(pk=payment.pk)
    report = Reconciliation()
    refunds = payment.refunds.filter(
        status=RefundStatus.PENDING, destination=RefundDestination.ORIGINAL_METHOD
    )
    for refund in refunds.order_by("pk"):
        refund.payment = payment
        _reconcile_refund(refund, actor, False, report, judge_missing=False)
    return report


def _reconcile_charge(payment, actor, dry_run, report, judge_missing=True):
    def look_up(gateway):
        return gateway.find_charge(idempotency_key=str(payment.gateway_key))

    not_found = GatewayCharge(
        id="",
        status=FAILED,
        amount=payment.amount,
        failure_reason="The gateway has no record of this charge: no money was taken.",
    )
    name = f"payment #{payment.pk} ({payment.invoice})"
    _reconcile(
        payment,
        payment,
        look_up,
        not_found if judge_missing else None,
        record_charge_outcome,
        name,
        actor,
        dry_run,
        report,
    )


def _reconcile_refund(refund, actor, dry_run, report, judge_missing=True):
    payment = refund.payment

    def look_up(gateway):
        return gateway.find_refund(
            charge_id=payment.gateway_charge_id, idempotency_key=str(refund.gateway_key)
        )

    not_found = GatewayRefund(
        id="",
        status=FAILED,
        amount=refund.amount,
        failure_reason="The gateway has no record of this refund: nothing was given back.",
    )
    name = f"refund #{refund.pk} of payment #{payment.pk} ({payment.invoice})"
    _reconcile(
        refund,
        payment,
        look_up,
        not_found if judge_missing else None,
        record_refund_outcome,
        name,
        actor,
        dry_run,
        report,
    )


def _reconcile(record, payment, look_up, not_found, record_outcome, name, actor, dry_run, report):
    """Ask the payment's gateway about ``record`` (``look_up``; None means it never
    happened: ``not_found``) and record the answer, unless the gateway cannot tell
    (or, with ``not_found`` None, it is too soon to call a missing record failed)."""
    try:
        outcome = look_up(get_gateway(payment.payment_method.gateway)) or not_found
    except GatewayError as exc:
        report.left_pending += 1
        report.lines.append(f"{name}: left pending, the gateway cannot tell yet ({exc.message})")
        return
    if outcome is None:
        report.left_pending += 1
        report.lines.append(
            f"{name}: left pending, the gateway has no record of it yet; it is too recent "
            "to call it failed"
        )
        return
    _settle(record, outcome, record_outcome, name, actor, dry_run, report)


def _settle(record, outcome, record_outcome, name, actor, dry_run, report):
    """Record the gateway's ``outcome`` of ``record`` (``record_outcome``: the
    charge's or the refund's settle step) and say so in ``report``."""
    line = f"{name}: {outcome.status}"
    if not dry_run:
        try:
            _, changed = record_outcome(record, outcome, actor)
        except BillingError as exc:
            report.left_pending += 1
            report.lines.append(f"{line}, but left pending: {exc.message}")
            return
        if not changed:  # another run or the late answer settled it first
            report.lines.append(f"{line}: already settled")
            return
    report.settled += 1
    report.lines.append(line)


def settle_reported_charge(*, payment, charge, actor):
    """Settle a payment's charge with an outcome the gateway reported itself (a
    signed webhook event) instead of one looked up: the same step as
    ``reconcile_pending``'s, so a payment no longer pending is left as it is and
    an amount other than the payment's stays pending for a person. No
    permission: the gateway's signature is the authority. Returns a
    Reconciliation."""
    report = Reconciliation()
    name = f"payment #{payment.pk} ({payment.invoice})"
    _settle(payment, charge, record_charge_outcome, name, actor, False, report)
    return report


def settle_reported_refund(*, refund, outcome, actor):
    """``settle_reported_charge`` for a gateway refund."""
    report = Reconciliation()
    name = f"refund #{refund.pk} of payment #{refund.payment_id} ({refund.payment.invoice})"
    _settle(refund, outcome, record_refund_outcome, name, actor, False, report)
    return report
