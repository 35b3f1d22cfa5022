"""record_payment, void_payment, charge_invoice, retry_payment, refund_payment."""

import datetime

import pytest
from moneyed import Money

from billing.models import (
    IdempotencyKey,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from tests.billing.commands._cli import ok, refused, shell
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(amount, "USD")


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "100.00")


# -- record_payment ----------------------------------------------------------------


def test_record_payment_records_a_cheque_with_its_details_by_invoice_number(clerk, invoice):
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    run = ok(
        "record_payment",
        invoice.number.lower(),
        "40.00",
        "--method=cheque",
        "--cheque-number=004512",
        f"--paid-at={yesterday}",
        "--reference=Nov",
        "--actor=clerk",
    )
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.cheque_number) == (
        usd("40.00"),
        "cheque",
        "004512",
    )
    assert (payment.paid_at, payment.reference, payment.created_by) == (yesterday, "Nov", clerk)
    assert f"Recorded payment #{payment.pk}: 40.00 USD (cheque) on {invoice.number}" in run.out
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PARTIALLY_PAID, usd("60.00"))


def test_record_payment_finds_the_invoice_by_id_and_answers_json(clerk, invoice):
    run = ok(
        "record_payment",
        invoice.pk,
        "100",
        "--method",
        "card",
        "--card-brand",
        "visa",
        "--card-last4",
        "4242",
        "--actor",
        "clerk",
        "--json",
    )
    answer = run.json
    assert answer["ok"] is True
    assert answer["payment"]["amount"] == "100.00" and answer["payment"]["currency"] == "USD"
    assert answer["payment"]["id"] == Payment.objects.get().pk
    assert answer["invoice"]["status"] == "paid" and answer["invoice"]["amount_due"] == "0.00"


@pytest.mark.parametrize(
    ("code", "argv"),
    [
        ("overpayment", ["100.01", "--method", "cash"]),
        ("invalid_amount", ["10.001", "--method", "cash"]),
        ("invalid_amount", ["1e2", "--method", "cash"]),
        ("invalid_amount", ["0", "--method", "cash"]),
        ("invalid_value", ["10", "--method", "cheque"]),
        ("invalid_date", ["10", "--method", "cash", "--paid-at", "2999-01-01"]),
        ("invalid_date", ["10", "--method", "cash", "--paid-at", "yesterday"]),
    ],
)
def test_record_payment_refusals_exit_1_with_their_code_and_write_nothing(invoice, code, argv):
    refused(code, "record_payment", invoice.number, *argv, "--actor", "clerk")


def test_record_payment_on_a_paid_invoice_is_refused(clerk, invoice):
    pay(invoice, clerk, "100.00")
    refused(
        "invoice_not_payable",
        "record_payment",
        invoice.number,
        "1",
        "--method=cash",
        "--actor=clerk",
    )


def test_record_payment_needs_the_permission_and_writing_off_needs_credit_notes(
    clerk, nobody, invoice
):
    argv = ("record_payment", invoice.number, "10", "--method", "cash")
    refused("permission_denied", *argv, "--actor", "nobody")
    run = refused("permission_denied", *argv, "--write-off-remainder", "--actor", "clerk")
    assert "issue credit notes" in run.err


def test_record_payment_with_an_idempotency_key_records_once(clerk, invoice):
    argv = ("record_payment", invoice.number, "10", "--method=cash", "--actor=clerk", "--json")
    first = ok(*argv, "--idempotency-key=cron-1").json
    before = record_counts()
    again = ok(*argv, "--idempotency-key=cron-1").json
    assert again["payment"]["id"] == first["payment"]["id"]
    assert record_counts() == before
    refused(
        "idempotency_conflict",
        "record_payment",
        invoice.number,
        "11",
        "--method=cash",
        "--actor=clerk",
        "--idempotency-key=cron-1",
    )


def test_record_payment_sends_an_excess_to_credit_when_asked(clerk, invoice):
    ok(
        "record_payment",
        invoice.number,
        "120",
        "--method=cash",
        "--excess-to-credit",
        "--actor=clerk",
    )
    assert Payment.objects.get().amount_to_credit == usd("20.00")


# -- void_payment ------------------------------------------------------------------


def test_void_payment_voids_it_and_the_due_grows_back(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    run = ok("void_payment", f"#{payment.pk}", "--reason", "Bounced", "--actor", "manager")
    payment.refresh_from_db()
    assert (payment.status, payment.void_reason, payment.voided_by) == (
        "voided",
        "Bounced",
        manager,
    )
    invoice.refresh_from_db()
    assert invoice.amount_due == usd("100.00")
    assert "Voided payment" in run.out


def test_void_payment_refusals_write_nothing(manager, clerk, invoice):
    payment = pay(invoice, manager, "100.00")
    refused("permission_denied", "void_payment", payment.pk, "--reason=x", "--actor=clerk")
    refused("invalid_value", "void_payment", "999999", "--reason=x", "--actor=manager")
    refused("invalid_value", "void_payment", payment.pk, "--reason= ", "--actor=manager")
    ok("void_payment", payment.pk, "--reason=x", "--actor=manager")
    refused("invalid_state", "void_payment", payment.pk, "--reason=x", "--actor=manager")


def test_void_payment_with_the_same_key_voids_once_and_answers_again(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    argv = ("void_payment", payment.pk, "--reason=x", "--actor=manager", "--idempotency-key=v1")
    ok(*argv)
    before = record_counts()
    assert ok(*argv, "--json").json["payment"]["status"] == "voided"
    assert record_counts() == before


# -- charge_invoice and retry_payment ----------------------------------------------


def test_charge_invoice_charges_the_default_card(manager):
    invoice = invoice_with_card(manager)
    run = ok("charge_invoice", invoice.number, "--amount", "30.00", "--actor", "manager", "--json")
    assert run.json["payment"]["status"] == "succeeded"
    assert run.json["payment"]["amount"] == "30.00"
    assert run.json["invoice"]["amount_due"] == "70.00"


def test_a_declined_charge_exits_1_payment_declined_and_keeps_the_failed_payment(manager):
    invoice = invoice_with_card(manager, "sandbox_declined")
    run = shell("charge_invoice", invoice.number, "--actor", "manager", "--json").refused(
        "payment_declined"
    )
    assert "declined" in run.err
    failed = Payment.objects.get()
    assert failed.status == PaymentStatus.FAILED
    assert run.json["ok"] is False and run.json["payment"]["id"] == failed.pk
    assert run.json["error"]["code"] == "payment_declined"


def test_charge_invoice_refusals_write_nothing(manager, clerk, nobody, invoice):
    refused("no_saved_payment_method", "charge_invoice", invoice.number, "--actor=manager")
    carded = invoice_with_card(manager)
    refused("permission_denied", "charge_invoice", carded.number, "--actor=nobody")
    refused("overpayment", "charge_invoice", carded.number, "--amount=100.01", "--actor=clerk")
    other = PaymentMethod.objects.get(customer=carded.customer)
    refused(
        "no_saved_payment_method",
        "charge_invoice",
        invoice.number,
        f"--payment-method={other.pk}",
        "--actor=manager",
    )


def test_charge_invoice_with_a_key_charges_once(manager):
    invoice = invoice_with_card(manager)
    argv = (
        "charge_invoice",
        invoice.number,
        "--amount=10",
        "--actor=manager",
        "--idempotency-key=c",
    )
    first = ok(*argv, "--json").json
    assert ok(*argv, "--json").json["payment"]["id"] == first["payment"]["id"]
    assert Payment.objects.count() == 1


def test_retry_payment_charges_again_after_the_card_was_fixed(manager):
    invoice = invoice_with_card(manager, "sandbox_declined")
    shell("charge_invoice", invoice.number, "--actor=manager").refused("payment_declined")
    failed = Payment.objects.get()
    retried = shell("retry_payment", failed.pk, "--actor=manager").refused("payment_declined")
    assert "declined" in retried.err
    assert Payment.objects.filter(status=PaymentStatus.FAILED).count() == 2
    # The customer fixed the card at the gateway.
    PaymentMethod.objects.filter(pk=failed.payment_method_id).update(token="sandbox_ok")

    # Only the latest failed attempt may be retried (Payment.can_retry).
    refused("invalid_state", "retry_payment", failed.pk, "--actor=manager")
    latest = Payment.objects.filter(status=PaymentStatus.FAILED).latest("pk")
    run = ok("retry_payment", latest.pk, "--actor=manager", "--json")

    assert run.json["payment"]["status"] == "succeeded"
    assert run.json["invoice"]["status"] == "paid"


def test_retry_payment_refuses_a_payment_that_did_not_fail(manager, clerk, nobody, invoice):
    payment = pay(invoice, manager, "10.00")
    refused("invalid_state", "retry_payment", payment.pk, "--actor=clerk")
    refused("permission_denied", "retry_payment", payment.pk, "--actor=nobody")


# -- refund_payment ----------------------------------------------------------------


def test_refund_payment_pays_back_externally_by_default_for_a_cash_payment(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    run = ok(
        "refund_payment",
        payment.pk,
        "25.00",
        "--reason=requested_by_customer",
        "--reference=Transfer 1",
        "--actor=manager",
        "--json",
    )
    refund = Refund.objects.get()
    assert (refund.amount, refund.destination, refund.reference) == (
        usd("25.00"),
        "external",
        "Transfer 1",
    )
    assert run.json["refund"]["id"] == refund.pk
    assert run.json["invoice"]["amount_due"] == "25.00"


def test_refund_payment_to_customer_credit(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    ok(
        "refund_payment",
        payment.pk,
        "10",
        "--destination=customer_credit",
        "--reason=other",
        "--actor=manager",
    )
    assert Refund.objects.get().destination == "customer_credit"


def test_refund_payment_refusals_write_nothing(manager, clerk, invoice):
    payment = pay(invoice, manager, "100.00")
    argv = ("--reason=requested_by_customer",)
    refused(
        "refund_exceeds_payment", "refund_payment", payment.pk, "100.01", *argv, "--actor=manager"
    )
    refused("permission_denied", "refund_payment", payment.pk, "1", *argv, "--actor=clerk")
    refused(
        "invalid_value",
        "refund_payment",
        payment.pk,
        "1",
        "--destination=original_method",
        *argv,
        "--actor=manager",
    )
    assert shell("refund_payment", payment.pk, "1", "--reason=bogus", "--actor=manager").status == 2


def test_a_refund_the_gateway_refuses_exits_1_payment_declined(manager):
    invoice = invoice_with_card(manager, "sandbox_refund_fails")
    ok("charge_invoice", invoice.number, "--actor=manager")
    payment = Payment.objects.get()
    run = shell("refund_payment", payment.pk, "10", "--reason=other", "--actor=manager")
    run.refused("payment_declined")
    assert Refund.objects.get().status == "failed"


def test_refund_payment_with_a_key_refunds_once(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    argv = (
        "refund_payment",
        payment.pk,
        "5",
        "--reason=other",
        "--actor=manager",
        "--idempotency-key=r",
    )
    ok(*argv)
    ok(*argv)
    assert Refund.objects.count() == 1
    assert IdempotencyKey.objects.filter(operation="payment_refund").count() == 1
