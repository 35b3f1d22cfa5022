"""Receipts: one per succeeded payment and refund, gap-free numbers, never renumbered."""

import datetime

import pytest
from django.utils import timezone
from moneyed import Money

from billing import services
from billing.models import DocumentSequence, OutboxMessage, Payment, Receipt
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def year():
    return timezone.localdate().year


def test_a_recorded_payment_gets_a_numbered_receipt_once_committed(
    clerk, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        payment = pay(invoice, clerk, "40.00")

    receipt = Receipt.objects.get(payment=payment)
    assert receipt.number == f"RCPT-{year()}-000001"
    message = OutboxMessage.objects.get(payment=payment)
    assert message.topic == "receipt" and message.done_at is not None


def test_receipt_numbers_follow_each_other_and_never_change(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    payments = [pay(invoice, clerk, "10.00") for _ in range(3)]
    # Numbered in the order they are asked for, not the payments' order.
    numbers = [services.receipt_issue(payment=p).number for p in reversed(payments)]
    assert numbers == [f"RCPT-{year()}-00000{n}" for n in (1, 2, 3)]

    again = [services.receipt_issue(payment=p).number for p in reversed(payments)]
    assert again == numbers
    assert Receipt.objects.count() == 3
    assert DocumentSequence.objects.get(kind="receipt", year=year()).last_number == 3


def test_asking_twice_for_a_receipt_makes_one(clerk, django_capture_on_commit_callbacks):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        payment = pay(invoice, clerk, "100.00")
    first = Receipt.objects.get(payment=payment)
    before = record_counts()
    assert services.receipt_issue(payment=payment) == first
    assert services.outbox_handle(OutboxMessage.objects.get(payment=payment).pk) == "nothing to do"
    assert record_counts() == before


def test_every_way_a_payment_or_refund_succeeds_asks_for_a_receipt(
    manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_with_card(manager, amount="100.00")
        charged = services.payment_charge(
            invoice=invoice, amount=Money("30.00", "USD"), actor=manager
        )
        cash = pay(invoice, manager, "20.00")
        credit_refund = services.payment_refund(
            payment=cash,
            amount=Money("5.00", "USD"),
            destination="customer_credit",
            actor=manager,
            reason="requested_by_customer",
        )
        from_credit = services.credit_apply(
            invoice=invoice, amount=Money("5.00", "USD"), actor=manager
        )
        card_refund = services.payment_refund(
            payment=charged,
            amount=Money("3.00", "USD"),
            destination="original_method",
            actor=manager,
            reason="requested_by_customer",
        )
        # More than is due: the ORM path of payment_record (the rest is one statement).
        overpaid = pay(invoice, manager, "60.00", excess_to_credit=True)
    assert overpaid.amount_to_credit == Money("7.00", "USD")
    assert charged.status == "succeeded" and card_refund.status == "succeeded"
    made = set(Receipt.objects.values_list("payment", "refund"))
    assert made == {
        (charged.pk, None),
        (cash.pk, None),
        (overpaid.pk, None),
        (from_credit.pk, None),
        (None, credit_refund.pk),
        (None, card_refund.pk),
    }
    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    assert numbers == [f"RCPT-{year()}-{n:06d}" for n in range(1, 7)]
    assert not OutboxMessage.objects.filter(done_at=None).exists()


def test_a_failed_charge_gets_no_receipt(manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_with_card(manager, token="sandbox_declined")
        failed = services.payment_charge(invoice=invoice, actor=manager)
    assert failed.status == "failed"
    assert not Receipt.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_payment_voided_before_its_receipt_gets_none(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    payment = pay(invoice, manager, "10.00")  # its task waits for a commit that never runs
    services.payment_void(payment=payment, actor=manager, reason="Recorded twice")
    assert services.receipt_issue(payment=payment) is None
    assert not Receipt.objects.exists()
    assert OutboxMessage.objects.get(payment=payment).done_at is not None


def test_a_refused_payment_writes_no_outbox_row(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    before = record_counts()
    with pytest.raises(Exception) as refused:
        pay(invoice, clerk, "100.01")
    assert refused.value.code == "overpayment"
    assert record_counts() == before


def test_a_receipt_is_numbered_in_the_year_it_is_made(clerk, monkeypatch):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    payment = pay(invoice, clerk, "10.00")
    monkeypatch.setattr(timezone, "localdate", lambda: datetime.date(2031, 1, 1))
    assert services.receipt_issue(payment=payment).number == "RCPT-2031-000001"
    assert Payment.objects.get(pk=payment.pk).receipt.number == "RCPT-2031-000001"
