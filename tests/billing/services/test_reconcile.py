"""reconcile_pending and the reconcile_payments command: charges and refunds left
pending when the gateway did not answer are settled by looking them up at the
gateway (the built-in sandbox)."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from moneyed import Money

from billing import services
from billing.integrity import find_disagreements
from billing.models import InvoiceStatus, PaymentStatus, RefundStatus
from tests.billing.services._refusals import assert_refused
from tests.helpers import invoice_with_card, pay, refund_to_card

pytestmark = pytest.mark.django_db
NOW = datetime.timedelta(0)


def usd(amount):
    return Money(amount, "USD")


def reconcile(actor):
    return services.reconcile_pending(actor=actor, older_than=NOW)


def test_reconcile_records_money_the_gateway_took_after_a_timeout(manager):
    invoice = invoice_with_card(manager, "sandbox_timeout_charged")
    payment = services.payment_charge(invoice=invoice, actor=manager)

    report = reconcile(manager)

    assert report.settled == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_pending == usd("0.00")
    assert find_disagreements() == []


def test_reconcile_fails_a_charge_the_gateway_never_took(manager):
    invoice = invoice_with_card(manager, "sandbox_timeout_not_charged")
    payment = services.payment_charge(invoice=invoice, actor=manager)

    reconcile(manager)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert "no money was taken" in payment.failure_reason
    invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.amount_pending) == (usd("100.00"), usd("0.00"))
    assert find_disagreements() == []


def test_reconcile_leaves_recent_pending_charges_alone(manager):
    invoice = invoice_with_card(manager, "sandbox_timeout_not_charged")
    payment = services.payment_charge(invoice=invoice, actor=manager)

    report = services.reconcile_pending(actor=manager, older_than=datetime.timedelta(hours=1))

    assert report.settled == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_reconcile_dry_run_writes_nothing(manager):
    invoice = invoice_with_card(manager, "sandbox_timeout_charged")
    payment = services.payment_charge(invoice=invoice, actor=manager)

    report = services.reconcile_pending(actor=manager, older_than=NOW, dry_run=True)

    assert report.settled == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_reconcile_payments_command_settles_and_reports(manager):
    invoice = invoice_with_card(manager, "sandbox_timeout_charged")
    services.payment_charge(invoice=invoice, actor=manager)
    out = io.StringIO()

    call_command("reconcile_payments", actor="manager", older_than=0, stdout=out)

    assert "succeeded" in out.getvalue() and "settled 1" in out.getvalue()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_reconcile_payments_command_needs_a_real_actor(db):
    with pytest.raises(CommandError, match="no active user"):
        call_command("reconcile_payments", actor="ghost")


def test_a_pending_gateway_refund_reserves_the_due_it_gives_back_until_reconciled(manager):
    invoice = invoice_with_card(manager, "sandbox_refund_timeout")
    payment = services.payment_charge(invoice=invoice, actor=manager)

    refund = refund_to_card(payment, manager, "40.00")

    assert refund.status == RefundStatus.PENDING
    invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.amount_pending) == (usd("40.00"), usd("40.00"))
    assert_refused("overpayment", pay, invoice=invoice, actor=manager, amount="0.01")
    assert_refused(
        "refund_exceeds_payment", refund_to_card, payment=payment, actor=manager, amount="60.01"
    )
    assert find_disagreements() == []

    reconcile(manager)

    refund.refresh_from_db()
    invoice.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (invoice.amount_due, invoice.amount_pending) == (usd("40.00"), usd("0.00"))
    pay(invoice, manager, "40.00")
    assert find_disagreements() == []


def test_reconcile_fails_a_refund_the_gateway_has_no_record_of(manager):
    invoice = invoice_with_card(manager)
    payment = services.payment_charge(invoice=invoice, actor=manager)
    # A crash after phase one: the pending refund is committed, the gateway never called.
    from billing.services import refunds
    from billing.services._common import Idempotency

    key = Idempotency("payment_refund", None, {}, manager)
    refund, _ = refunds._refund_begin(
        key, payment, usd("25.00"), "original_method", manager, reason="other"
    )

    reconcile(manager)

    refund.refresh_from_db()
    invoice.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert (invoice.amount_paid, invoice.amount_due) == (usd("100.00"), usd("0.00"))
    assert invoice.status == InvoiceStatus.PAID
    assert find_disagreements() == []
