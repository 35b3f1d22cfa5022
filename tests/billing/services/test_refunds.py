import pytest
from moneyed import Money

from billing import services
from billing.models import BalanceEntry, InvoiceEvent, Payment, Refund
from billing.selectors import customer_credit
from tests.billing.services._refusals import assert_refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(amount, "USD")


def refund(payment, actor, amount, destination="external", **kwargs):
    kwargs.setdefault("reason", "requested_by_customer")
    return services.payment_refund(
        payment=payment, amount=usd(amount), destination=destination, actor=actor, **kwargs
    )


def refund_args(payment, actor, amount, destination="external", **kwargs):
    kwargs.setdefault("reason", "requested_by_customer")
    return dict(
        payment=payment,
        amount=usd(amount),
        destination=destination,
        actor=actor,
        watch=payment.invoice,
        **kwargs,
    )


@pytest.fixture
def invoice(manager):
    return issued_invoice(CustomerFactory(), manager, "100.00")


@pytest.fixture
def payment(manager, invoice):
    return pay(invoice, manager, "100.00")


def test_payment_refund_external_gives_back_part_and_the_customer_owes_it_again(
    manager, invoice, payment
):
    made = refund(payment, manager, "30.00", reference="Bank transfer 77")
    assert made.status == "succeeded"
    assert made.destination == "external"
    assert made.amount == usd("30.00")
    assert made.reference == "Bank transfer 77"
    payment.refresh_from_db()
    assert payment.amount_refunded == usd("30.00")
    assert payment.status == "succeeded"
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid"
    assert invoice.amount_paid == usd("70.00")
    assert invoice.amount_due == usd("30.00")
    assert not BalanceEntry.objects.exists()
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="refund_issued").count() == 1


def test_payment_refund_several_times_up_to_the_whole_payment(manager, invoice, payment):
    for amount in ("30.00", "50.00", "20.00"):
        refund(payment, manager, amount)
    payment.refresh_from_db()
    assert payment.amount_refunded == usd("100.00")
    assert Refund.objects.filter(payment=payment).count() == 3
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert invoice.amount_paid == usd("0")
    assert invoice.amount_due == usd("100.00")
    assert_refused(
        "refund_exceeds_payment", services.payment_refund, **refund_args(payment, manager, "0.01")
    )


def test_payment_refund_refuses_more_than_is_left_to_refund(manager, invoice, payment):
    refund(payment, manager, "60.00")
    error = assert_refused(
        "refund_exceeds_payment",
        services.payment_refund,
        **refund_args(payment, manager, "40.01"),
    )
    assert "40.00" in error.message
    payment.refresh_from_db()
    assert payment.amount_refunded == usd("60.00")


def test_payment_refund_to_customer_credit_adds_to_the_balance(manager, invoice, payment):
    made = refund(payment, manager, "25.00", destination="customer_credit")
    assert made.destination == "customer_credit"
    assert customer_credit(customer=invoice.customer, currency="USD") == usd("25.00")
    entry = BalanceEntry.objects.get()
    assert entry.kind == "refund"
    assert entry.amount == usd("25.00")
    assert entry.refund == made
    invoice.refresh_from_db()
    assert invoice.amount_due == usd("25.00")
    assert invoice.status == "partially_paid"


def test_payment_refund_of_a_customer_credit_payment_goes_back_to_credit(manager):
    customer = CustomerFactory()
    services.balance_adjust(customer=customer, amount=usd("40.00"), actor=manager, reason="x")
    invoice = issued_invoice(customer, manager, "100.00")
    payment = Payment.objects.get(invoice=invoice, method="customer_credit")
    assert customer_credit(customer=customer, currency="USD") == usd("0")
    refund(payment, manager, "40.00", destination="customer_credit")
    assert customer_credit(customer=customer, currency="USD") == usd("40.00")
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert invoice.amount_due == usd("100.00")


def test_payment_refund_refuses_a_customer_credit_payment_paid_back_externally(manager):
    customer = CustomerFactory()
    services.balance_adjust(customer=customer, amount=usd("40.00"), actor=manager, reason="x")
    invoice = issued_invoice(customer, manager, "100.00")
    payment = Payment.objects.get(invoice=invoice, method="customer_credit")
    assert_refused(
        "invalid_value", services.payment_refund, **refund_args(payment, manager, "10.00")
    )


def test_payment_refund_of_an_overpayment_leaves_out_what_went_to_credit(manager, invoice):
    payment = pay(invoice, manager, "120.00", excess_to_credit=True)
    assert_refused(
        "refund_exceeds_payment",
        services.payment_refund,
        **refund_args(payment, manager, "100.01"),
    )
    refund(payment, manager, "100.00")
    invoice.refresh_from_db()
    assert invoice.amount_paid == usd("0")
    assert invoice.amount_due == usd("100.00")


def test_payment_refund_refuses_original_method_for_an_external_payment(manager, payment):
    error = assert_refused(
        "invalid_value",
        services.payment_refund,
        **refund_args(payment, manager, "10.00", destination="original_method"),
    )
    assert error.field == "destination"


def test_payment_refund_refuses_a_voided_payment(manager, invoice):
    payment = pay(invoice, manager, "50.00")
    services.payment_void(payment=payment, actor=manager, reason="Typo")
    assert_refused(
        "payment_not_refundable", services.payment_refund, **refund_args(payment, manager, "10.00")
    )


@pytest.mark.parametrize(("field", "value"), [("destination", "the_moon"), ("reason", "because")])
def test_payment_refund_refuses_an_unknown_destination_or_reason(manager, payment, field, value):
    args = refund_args(payment, manager, "10.00")
    args[field] = value
    assert_refused("invalid_value", services.payment_refund, **args)


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.001"])
def test_payment_refund_refuses_an_invalid_amount(manager, payment, amount):
    args = refund_args(payment, manager, "1.00")
    args["amount"] = amount
    assert_refused("invalid_amount", services.payment_refund, **args)


def test_payment_refund_refuses_an_amount_in_another_currency(manager, payment):
    args = refund_args(payment, manager, "1.00")
    args["amount"] = Money("1.00", "EUR")
    assert_refused("currency_mismatch", services.payment_refund, **args)


def test_payment_refund_with_the_same_key_and_request_refunds_once(manager, invoice, payment):
    first = refund(payment, manager, "10.00", idempotency_key="r-1")
    after = record_counts()
    again = refund(payment, manager, "10.00", idempotency_key="r-1")
    assert again.pk == first.pk
    assert record_counts() == after
    payment.refresh_from_db()
    assert payment.amount_refunded == usd("10.00")


def test_payment_refund_refuses_the_same_key_for_a_different_request(manager, payment):
    refund(payment, manager, "10.00", idempotency_key="r-1")
    assert_refused(
        "idempotency_conflict",
        services.payment_refund,
        **refund_args(payment, manager, "11.00", idempotency_key="r-1"),
    )


@pytest.mark.parametrize("who", ["clerk", "nobody"])
def test_payment_refund_is_for_managers_only(request, manager, payment, who):
    assert_refused(
        "permission_denied",
        services.payment_refund,
        **refund_args(payment, request.getfixturevalue(who), "10.00"),
    )
