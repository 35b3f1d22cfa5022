import pytest
from moneyed import Money

from billing import services
from billing.models import BalanceEntry, IdempotencyKey, Payment
from billing.selectors import customer_credit
from tests.billing.services._refusals import assert_refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(amount, "USD")


def give_credit(customer, actor, amount, currency="USD"):
    return services.balance_adjust(
        customer=customer, amount=Money(amount, currency), actor=actor, reason="Goodwill"
    )


@pytest.fixture
def customer():
    return CustomerFactory()


@pytest.fixture
def invoice(manager, customer):
    return issued_invoice(customer, manager, "100.00")


# -- credit_apply ---------------------------------------------------------------------


def test_credit_apply_defaults_to_the_whole_credit_when_less_is_due(
    manager, clerk, customer, invoice
):
    give_credit(customer, manager, "30.00")
    payment = services.credit_apply(invoice=invoice, actor=clerk)
    assert payment.method == "customer_credit"
    assert payment.status == "succeeded"
    assert payment.amount == usd("30.00")
    assert customer_credit(customer=customer, currency="USD") == usd("0")
    entry = BalanceEntry.objects.get(kind="applied_to_invoice")
    assert entry.amount == usd("-30.00")
    assert entry.balance_after == usd("0")
    assert entry.payment == payment
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid"
    assert invoice.amount_due == usd("70.00")


def test_credit_apply_defaults_to_the_due_when_more_credit_is_available(manager, customer, invoice):
    pay(invoice, manager, "60.00")
    give_credit(customer, manager, "100.00")
    payment = services.credit_apply(invoice=invoice, actor=manager)
    assert payment.amount == usd("40.00")
    assert customer_credit(customer=customer, currency="USD") == usd("60.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_credit_apply_applies_the_amount_asked(manager, customer, invoice):
    give_credit(customer, manager, "50.00")
    payment = services.credit_apply(invoice=invoice, actor=manager, amount=usd("20.00"))
    assert payment.amount == usd("20.00")
    assert customer_credit(customer=customer, currency="USD") == usd("30.00")


def test_credit_apply_refuses_a_customer_without_credit(manager, invoice):
    assert_refused("insufficient_balance", services.credit_apply, invoice=invoice, actor=manager)


def test_credit_apply_refuses_credit_in_another_currency(manager, customer, invoice):
    give_credit(customer, manager, "50.00", currency="EUR")
    assert_refused("insufficient_balance", services.credit_apply, invoice=invoice, actor=manager)


def test_credit_apply_refuses_more_than_the_credit(manager, customer, invoice):
    give_credit(customer, manager, "10.00")
    assert_refused(
        "insufficient_balance",
        services.credit_apply,
        invoice=invoice,
        actor=manager,
        amount=usd("10.01"),
    )
    assert customer_credit(customer=customer, currency="USD") == usd("10.00")


def test_credit_apply_refuses_more_than_is_due(manager, customer, invoice):
    pay(invoice, manager, "90.00")
    give_credit(customer, manager, "50.00")
    assert_refused(
        "overpayment",
        services.credit_apply,
        invoice=invoice,
        actor=manager,
        amount=usd("10.01"),
    )


def test_credit_apply_refuses_an_invoice_that_is_not_payable(manager, customer, invoice):
    give_credit(customer, manager, "50.00")
    pay(invoice, manager, "100.00")
    assert_refused("invoice_not_payable", services.credit_apply, invoice=invoice, actor=manager)
    draft = services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "x", "quantity": 1, "unit_price": usd("10.00")}],
        actor=manager,
    )
    assert_refused("invoice_not_payable", services.credit_apply, invoice=draft, actor=manager)


@pytest.mark.parametrize("amount", [usd("0"), usd("-5.00"), usd("1.001"), 1.5])
def test_credit_apply_refuses_an_invalid_amount(manager, customer, invoice, amount):
    give_credit(customer, manager, "50.00")
    assert_refused(
        "invalid_amount", services.credit_apply, invoice=invoice, actor=manager, amount=amount
    )


def test_credit_apply_refuses_a_user_without_permission(manager, nobody, customer, invoice):
    give_credit(customer, manager, "50.00")
    assert_refused("permission_denied", services.credit_apply, invoice=invoice, actor=nobody)
    assert not Payment.objects.exists()


# -- balance_adjust --------------------------------------------------------------------


def test_balance_adjust_adds_and_removes_credit_per_currency(manager, customer):
    entry = give_credit(customer, manager, "50.00")
    assert entry.kind == "adjustment"
    assert entry.amount == usd("50.00")
    assert entry.balance_after == usd("50.00")
    assert entry.reason == "Goodwill"
    give_credit(customer, manager, "1000", currency="JPY")
    services.balance_adjust(customer=customer, amount=usd("-20.00"), actor=manager, reason="Fix")
    assert customer_credit(customer=customer, currency="USD") == usd("30.00")
    assert customer_credit(customer=customer, currency="JPY") == Money("1000", "JPY")
    services.balance_adjust(customer=customer, amount=usd("-30.00"), actor=manager, reason="Fix")
    assert customer_credit(customer=customer, currency="USD") == usd("0")


def test_balance_adjust_refuses_to_go_below_zero(manager, customer):
    give_credit(customer, manager, "10.00")
    assert_refused(
        "insufficient_balance",
        services.balance_adjust,
        customer=customer,
        amount=usd("-10.01"),
        actor=manager,
        reason="Fix",
    )
    assert customer_credit(customer=customer, currency="USD") == usd("10.00")


def test_balance_adjust_refuses_a_negative_adjustment_without_credit(manager, customer):
    assert_refused(
        "insufficient_balance",
        services.balance_adjust,
        customer=customer,
        amount=usd("-0.01"),
        actor=manager,
        reason="Fix",
    )


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_balance_adjust_requires_a_reason(manager, customer, reason):
    assert_refused(
        "invalid_value",
        services.balance_adjust,
        customer=customer,
        amount=usd("1.00"),
        actor=manager,
        reason=reason,
    )


@pytest.mark.parametrize("amount", [usd("0"), usd("1.001"), "5.00", 5])
def test_balance_adjust_refuses_an_invalid_amount(manager, customer, amount):
    assert_refused(
        "invalid_amount",
        services.balance_adjust,
        customer=customer,
        amount=amount,
        actor=manager,
        reason="Fix",
    )


@pytest.mark.parametrize("who", ["clerk", "nobody"])
def test_balance_adjust_is_for_managers_only(request, customer, who):
    assert_refused(
        "permission_denied",
        services.balance_adjust,
        customer=customer,
        amount=usd("1.00"),
        actor=request.getfixturevalue(who),
        reason="Fix",
    )


# -- balance_pay_out ---------------------------------------------------------------------


def test_balance_pay_out_returns_credit_outside_the_system(manager, customer):
    give_credit(customer, manager, "50.00")
    entry = services.balance_pay_out(
        customer=customer, amount=usd("20.00"), actor=manager, reference="Transfer 9"
    )
    assert entry.kind == "payout"
    assert entry.amount == usd("-20.00")
    assert entry.balance_after == usd("30.00")
    assert entry.reference == "Transfer 9"
    assert customer_credit(customer=customer, currency="USD") == usd("30.00")
    services.balance_pay_out(
        customer=customer, amount=usd("30.00"), actor=manager, reference="Transfer 10"
    )
    assert customer_credit(customer=customer, currency="USD") == usd("0")


def test_balance_pay_out_refuses_more_than_the_credit(manager, customer):
    give_credit(customer, manager, "50.00")
    assert_refused(
        "insufficient_balance",
        services.balance_pay_out,
        customer=customer,
        amount=usd("50.01"),
        actor=manager,
        reference="Transfer 9",
    )
    assert customer_credit(customer=customer, currency="USD") == usd("50.00")


def test_balance_pay_out_refuses_a_customer_without_credit(manager, customer):
    assert_refused(
        "insufficient_balance",
        services.balance_pay_out,
        customer=customer,
        amount=usd("1.00"),
        actor=manager,
        reference="Transfer 9",
    )


def test_balance_pay_out_requires_a_reference(manager, customer):
    give_credit(customer, manager, "50.00")
    assert_refused(
        "invalid_value",
        services.balance_pay_out,
        customer=customer,
        amount=usd("1.00"),
        actor=manager,
        reference=" ",
    )


@pytest.mark.parametrize("amount", [usd("0"), usd("-1.00"), usd("1.001"), "1.00"])
def test_balance_pay_out_refuses_an_invalid_amount(manager, customer, amount):
    give_credit(customer, manager, "50.00")
    assert_refused(
        "invalid_amount",
        services.balance_pay_out,
        customer=customer,
        amount=amount,
        actor=manager,
        reference="Transfer 9",
    )


@pytest.mark.parametrize("who", ["clerk", "nobody"])
def test_balance_pay_out_is_for_managers_only(request, manager, customer, who):
    give_credit(customer, manager, "50.00")
    assert_refused(
        "permission_denied",
        services.balance_pay_out,
        customer=customer,
        amount=usd("1.00"),
        actor=request.getfixturevalue(who),
        reference="Transfer 9",
    )


# -- idempotency keys ----------------------------------------------------------------------


def test_balance_adjust_with_the_same_key_and_request_returns_the_first_entry(manager, customer):
    first = services.balance_adjust(
        customer=customer,
        amount=usd("25.00"),
        actor=manager,
        reason="Goodwill",
        idempotency_key="k",
    )
    after_first = record_counts()
    again = services.balance_adjust(
        customer=customer,
        amount=usd("25.00"),
        actor=manager,
        reason="Goodwill",
        idempotency_key="k",
    )
    assert again.pk == first.pk
    assert record_counts() == after_first
    assert IdempotencyKey.objects.get().operation == "balance_adjust"
    assert customer_credit(customer=customer, currency="USD") == usd("25.00")


def test_balance_adjust_refuses_the_same_key_for_a_different_request(manager, customer):
    services.balance_adjust(
        customer=customer,
        amount=usd("25.00"),
        actor=manager,
        reason="Goodwill",
        idempotency_key="k",
    )
    for amount, reason in ((usd("26.00"), "Goodwill"), (usd("25.00"), "Other")):
        assert_refused(
            "idempotency_conflict",
            services.balance_adjust,
            customer=customer,
            amount=amount,
            actor=manager,
            reason=reason,
            idempotency_key="k",
        )


def test_a_refused_adjustment_leaves_its_key_free_for_the_corrected_request(manager, customer):
    assert_refused(
        "insufficient_balance",
        services.balance_adjust,
        customer=customer,
        amount=usd("-5.00"),
        actor=manager,
        reason="Fix",
        idempotency_key="k",
    )
    entry = services.balance_adjust(
        customer=customer, amount=usd("5.00"), actor=manager, reason="Fix", idempotency_key="k"
    )
    assert entry.balance_after == usd("5.00")


def test_balance_pay_out_with_the_same_key_and_request_returns_the_first_entry(manager, customer):
    give_credit(customer, manager, "50.00")

    def pay_out(amount="20.00", reference="Transfer 9"):
        return services.balance_pay_out(
            customer=customer,
            amount=usd(amount),
            actor=manager,
            reference=reference,
            notes="By wire",
            idempotency_key="p",
        )

    first = pay_out()
    after_first = record_counts()
    assert pay_out().pk == first.pk
    assert record_counts() == after_first
    assert customer_credit(customer=customer, currency="USD") == usd("30.00")
    assert_refused("idempotency_conflict", pay_out, amount="21.00")
    assert_refused("idempotency_conflict", pay_out, reference="Transfer 10")


def test_credit_apply_with_the_same_key_and_request_returns_the_first_payment(
    manager, customer, invoice
):
    give_credit(customer, manager, "30.00")
    first = services.credit_apply(invoice=invoice, actor=manager, idempotency_key="a")
    after_first = record_counts()
    again = services.credit_apply(invoice=invoice, actor=manager, idempotency_key="a")
    assert again.pk == first.pk
    assert record_counts() == after_first
    invoice.refresh_from_db()
    assert invoice.amount_due == usd("70.00")
    assert_refused(
        "idempotency_conflict",
        services.credit_apply,
        invoice=invoice,
        actor=manager,
        amount=usd("10.00"),
        idempotency_key="a",
    )


def test_balance_operations_share_no_keys_with_each_other(manager, customer, invoice):
    give_credit(customer, manager, "50.00")
    services.balance_adjust(
        customer=customer, amount=usd("1.00"), actor=manager, reason="Fix", idempotency_key="x"
    )
    services.balance_pay_out(
        customer=customer, amount=usd("1.00"), actor=manager, reference="T", idempotency_key="x"
    )
    services.credit_apply(invoice=invoice, actor=manager, idempotency_key="x")
    assert BalanceEntry.objects.filter(kind__in=["adjustment", "payout"]).count() == 3
    assert IdempotencyKey.objects.count() == 3
