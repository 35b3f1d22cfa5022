"""issue_credit_note, apply_credit, adjust_balance, pay_out_balance."""

import pytest
from moneyed import Money

from billing import services
from billing.models import BalanceEntry, CreditNote, MoneyBalance, Payment
from tests.billing.commands._cli import ok, refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(amount, "USD")


@pytest.fixture
def customer():
    return CustomerFactory(external_ref="acme-001")


@pytest.fixture
def invoice(manager, customer):
    return issued_invoice(customer, manager, "100.00")


def credit(customer, manager, amount):
    services.balance_adjust(customer=customer, amount=usd(amount), reason="seed", actor=manager)


# -- issue_credit_note ---------------------------------------------------------------


def test_issue_credit_note_reduces_the_due(manager, invoice):
    run = ok(
        "issue_credit_note",
        invoice.number,
        "--reason=goodwill",
        "--reduce-due=20.00",
        "--memo=Late delivery",
        "--actor=manager",
        "--json",
    )
    note = CreditNote.objects.get()
    assert (note.total, note.memo, note.created_by) == (usd("20.00"), "Late delivery", manager)
    assert run.json["credit_note"]["number"] == note.number
    assert run.json["refund"] is None
    assert run.json["invoice"]["amount_due"] == "80.00"


def test_issue_credit_note_refunds_a_payment_the_way_it_came(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    run = ok(
        "issue_credit_note",
        invoice.number,
        "--reason=duplicate",
        "--refund=30",
        f"--refund-payment={payment.pk}",
        "--actor=manager",
        "--json",
    )
    assert run.json["refund"]["amount"] == "30.00"
    assert run.json["refund"]["destination"] == "external"
    assert run.json["invoice"]["status"] == "paid"


def test_issue_credit_note_refusals_write_nothing(manager, clerk, invoice):
    argv = ("issue_credit_note", invoice.number, "--reason=goodwill")
    refused("credit_note_exceeds_invoice", *argv, "--reduce-due=100.01", "--actor=manager")
    refused("invalid_amount", *argv, "--actor=manager")
    refused("invalid_value", *argv, "--refund=10", "--actor=manager")
    refused("permission_denied", *argv, "--reduce-due=1", "--actor=clerk")


def test_issue_credit_note_with_a_key_issues_once(manager, invoice):
    argv = (
        "issue_credit_note",
        invoice.number,
        "--reason=goodwill",
        "--reduce-due=5",
        "--actor=manager",
        "--idempotency-key=cn",
    )
    first = ok(*argv, "--json").json["credit_note"]["number"]
    assert ok(*argv, "--json").json["credit_note"]["number"] == first
    assert CreditNote.objects.count() == 1


# -- apply_credit --------------------------------------------------------------------


def test_apply_credit_pays_the_most_it_can_by_default(manager, clerk, customer, invoice):
    credit(customer, manager, "30.00")
    run = ok("apply_credit", invoice.number, "--actor=clerk", "--json")
    assert run.json["payment"]["method"] == "customer_credit"
    assert run.json["payment"]["amount"] == "30.00"
    assert MoneyBalance.objects.get(customer=customer).amount == usd("0.00")
    assert Payment.objects.get().created_by == clerk


def test_apply_credit_refusals_write_nothing(manager, clerk, nobody, customer, invoice):
    refused("insufficient_balance", "apply_credit", invoice.number, "--actor=clerk")
    credit(customer, manager, "30.00")
    refused("insufficient_balance", "apply_credit", invoice.number, "30.01", "--actor=clerk")
    refused("permission_denied", "apply_credit", invoice.number, "--actor=nobody")


def test_apply_credit_with_a_key_pays_once(manager, customer, invoice):
    credit(customer, manager, "30.00")
    argv = ("apply_credit", invoice.number, "10", "--actor=manager", "--idempotency-key=a")
    ok(*argv)
    before = record_counts()
    ok(*argv)
    assert record_counts() == before


# -- adjust_balance and pay_out_balance ------------------------------------------------


def test_adjust_balance_adds_and_takes_by_customer_id_or_reference(manager, customer):
    ok("adjust_balance", customer.pk, "50.00", "--reason=Goodwill", "--actor=manager")
    run = ok(
        "adjust_balance",
        "acme-001",
        "-12.50",
        "--currency=usd",
        "--reason=Bank fee",
        "--actor=manager",
        "--json",
    )
    assert run.json["balance_entry"]["amount"] == "-12.50"
    assert run.json["balance_entry"]["balance_after"] == "37.50"
    assert BalanceEntry.objects.filter(kind="adjustment").count() == 2


def test_adjust_balance_refusals_write_nothing(manager, clerk, customer):
    argv = ("adjust_balance", customer.pk)
    refused("insufficient_balance", *argv, "-0.01", "--reason=x", "--actor=manager")
    refused("permission_denied", *argv, "5", "--reason=x", "--actor=clerk")
    refused("invalid_value", *argv, "5", "--currency=XXQ", "--reason=x", "--actor=manager")
    refused("invalid_value", "adjust_balance", "nobody-here", "5", "--reason=x", "--actor=manager")
    refused("invalid_amount", *argv, "5.001", "--reason=x", "--actor=manager")


def test_adjust_balance_with_a_key_adjusts_once(manager, customer):
    argv = (
        "adjust_balance",
        customer.pk,
        "5",
        "--reason=x",
        "--actor=manager",
        "--idempotency-key=b",
    )
    ok(*argv)
    ok(*argv)
    assert BalanceEntry.objects.count() == 1


def test_pay_out_balance_takes_the_credit_out(manager, customer):
    credit(customer, manager, "80.00")
    run = ok(
        "pay_out_balance",
        customer.pk,
        "80.00",
        "--reference=Transfer 2026-12-01",
        "--actor=manager",
        "--json",
        "--idempotency-key=p",
    )
    assert run.json["balance_entry"]["kind"] == "payout"
    assert run.json["balance_entry"]["balance_after"] == "0.00"
    ok(
        "pay_out_balance",
        customer.pk,
        "80.00",
        "--reference=Transfer 2026-12-01",
        "--actor=manager",
        "--idempotency-key=p",
    )
    assert BalanceEntry.objects.filter(kind="payout").count() == 1


def test_pay_out_balance_refusals_write_nothing(manager, clerk, customer):
    credit(customer, manager, "10.00")
    refused(
        "insufficient_balance",
        "pay_out_balance",
        customer.pk,
        "10.01",
        "--reference=r",
        "--actor=manager",
    )
    refused(
        "permission_denied", "pay_out_balance", customer.pk, "1", "--reference=r", "--actor=clerk"
    )
    refused(
        "invalid_value", "pay_out_balance", customer.pk, "1", "--reference= ", "--actor=manager"
    )
