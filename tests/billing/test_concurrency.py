"""Concurrent operations on PostgreSQL: row locks keep every invariant.

Threads are released together by a barrier; each uses its own connection and
closes it at the end.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from moneyed import Money

from billing import permissions, services
from billing.errors import BillingError
from billing.integrity import find_disagreements
from billing.models import Invoice, MoneyBalance, Payment, PaymentStatus, Refund
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


@pytest.fixture
def boss(transactional_db):
    user = get_user_model().objects.create_user("boss", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=permissions.MANAGER))
    return user


def only_billing_errors(errors, *codes):
    for exc in errors.values():
        assert isinstance(exc, BillingError), repr(exc)
        assert exc.code in codes, exc


def test_concurrent_payments_never_exceed_the_due(boss):
    invoice = issued_invoice(CustomerFactory(), boss, "100.00")

    def work(i):
        return pay(invoice, boss, "15.00")

    results, errors = run_together(THREADS, work)
    only_billing_errors(errors, "overpayment")
    assert len(results) == 6  # 6 x 15 = 90; a seventh would exceed the due
    invoice.refresh_from_db()
    succeeded = Payment.objects.filter(invoice=invoice, status=PaymentStatus.SUCCEEDED)
    assert sum(p.amount.amount for p in succeeded) == invoice.amount_paid.amount == Decimal(90)
    assert invoice.amount_due == Money("10.00", "USD")
    assert find_disagreements() == []


def test_concurrent_payments_filling_the_due_exactly(boss):
    invoice = issued_invoice(CustomerFactory(), boss, "80.00")

    def work(i):
        return pay(invoice, boss, "10.00")

    results, errors = run_together(THREADS, work)
    # Once the invoice is paid, later payments find it no longer payable.
    only_billing_errors(errors, "overpayment", "invoice_not_payable")
    assert len(results) == 8
    invoice.refresh_from_db()
    succeeded = Payment.objects.filter(invoice=invoice, status=PaymentStatus.SUCCEEDED)
    assert sum(p.amount.amount for p in succeeded) == invoice.total.amount
    assert invoice.status == "paid"
    assert find_disagreements() == []


def test_concurrent_refunds_never_exceed_the_payment(boss):
    invoice = issued_invoice(CustomerFactory(), boss, "100.00")
    payment = pay(invoice, boss, "100.00")

    def work(i):
        destination = "customer_credit" if i % 2 else "external"
        return services.payment_refund(
            payment=payment,
            amount=Money("30.00", "USD"),
            destination=destination,
            actor=boss,
            reason="requested_by_customer",
            reference="returned by transfer",
        )

    results, errors = run_together(THREADS, work)
    only_billing_errors(errors, "refund_exceeds_payment")
    assert len(results) == 3
    payment.refresh_from_db()
    refunded = sum(r.amount.amount for r in Refund.objects.filter(payment=payment))
    assert refunded == payment.amount_refunded.amount == Decimal(90)
    assert payment.amount_refunded <= payment.amount
    assert find_disagreements() == []


def test_concurrent_credit_use_never_takes_a_balance_below_zero(boss):
    customer = CustomerFactory()
    services.balance_adjust(
        customer=customer, amount=Money("100.00", "USD"), actor=boss, reason="opening credit"
    )
    invoices = [
        issued_invoice(customer, boss, "20.00", apply_credit=False) for _ in range(THREADS // 2)
    ]

    def work(i):
        if i % 2:
            return services.credit_apply(
                invoice=invoices[i // 2], actor=boss, amount=Money("20.00", "USD")
            )
        return services.balance_adjust(
            customer=customer, amount=Money("-20.00", "USD"), actor=boss, reason="correction"
        )

    results, errors = run_together(THREADS, work)
    only_billing_errors(errors, "insufficient_balance")
    assert len(results) == 5  # 100 / 20
    balance = MoneyBalance.objects.get(customer=customer, currency="USD")
    assert balance.amount == Money("0.00", "USD")
    assert find_disagreements() == []


def test_concurrent_issues_give_gap_free_unique_numbers(boss):
    customer = CustomerFactory()
    drafts = [
        services.invoice_create(
            customer=customer,
            currency="USD",
            lines=[
                {
                    "description": "Service",
                    "quantity": Decimal(1),
                    "unit_price": Money("10.00", "USD"),
                }
            ],
            actor=boss,
        )
        for _ in range(THREADS)
    ]

    def work(i):
        return services.invoice_issue(invoice=drafts[i], actor=boss).number

    results, errors = run_together(THREADS, work)
    assert errors == {}
    numbers = sorted(results.values())
    assert len(set(numbers)) == THREADS
    sequence = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    assert sequence == list(range(sequence[0], sequence[0] + THREADS))
    issued = Invoice.objects.exclude(number__isnull=True).values_list("number", flat=True)
    assert sorted(issued) == numbers
    assert find_disagreements() == []


def test_same_idempotency_key_sent_concurrently_records_once(boss):
    invoice = issued_invoice(CustomerFactory(), boss, "100.00")

    def work(i):
        return services.payment_record(
            invoice=invoice,
            amount=Money("25.00", "USD"),
            method="cash",
            paid_at=datetime.date.today(),
            actor=boss,
            idempotency_key="retry-me",
        )

    results, errors = run_together(8, work)
    # Later requests either get the first payment back or, if they ran while the
    # first was still in flight, an idempotency conflict; never a second payment.
    only_billing_errors(errors, "idempotency_conflict")
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert {payment.pk for payment in results.values()} == {Payment.objects.get(invoice=invoice).pk}
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("25.00", "USD")
    assert find_disagreements() == []
