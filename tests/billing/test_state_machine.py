"""Random sequences of every operation over several customers, currencies and
invoices; after every step the identity, the statuses and the ledger must agree
(``find_disagreements``) and the service's own answer must match the records."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moneyed import Money

from billing import selectors, services
from billing.errors import BillingError
from billing.integrity import find_disagreements
from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from billing.money import minor_unit

pytestmark = pytest.mark.django_db

CURRENCIES = ["USD", "JPY", "KWD"]


def amounts(currency, high=500):
    places = minor_unit(currency)
    return st.integers(min_value=1, max_value=high * 10**places).map(
        lambda n: Money(Decimal(n).scaleb(-places), currency)
    )


class Billing(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.actor = get_user_model().objects.get(username="machine")
        self.customers = [
            services.customer_create(name=f"C{i}", currency=c, actor=self.actor)
            for i, c in enumerate(CURRENCIES)
        ]
        self.refusals = 0

    def invoices(self):
        ids = [c.pk for c in self.customers]
        return list(Invoice.objects.filter(customer_id__in=ids).order_by("pk"))

    def payments(self):
        ids = [c.pk for c in self.customers]
        return list(
            Payment.objects.filter(
                invoice__customer_id__in=ids, status=PaymentStatus.SUCCEEDED
            ).order_by("pk")
        )

    def attempt(self, operation, **kwargs):
        try:
            return operation(actor=self.actor, **kwargs)
        except BillingError:
            self.refusals += 1
            return None

    @rule(data=st.data(), index=st.integers(0, 2), lines=st.integers(1, 3))
    def create_and_issue(self, data, index, lines):
        customer = self.customers[index]
        draft = services.invoice_create(
            customer=customer,
            currency=customer.currency,
            actor=self.actor,
            lines=[
                {
                    "description": f"line {n}",
                    "quantity": Decimal(data.draw(st.integers(1, 5))),
                    "unit_price": data.draw(amounts(customer.currency)),
                    "tax_rate": Decimal(data.draw(st.sampled_from(["0", "7.5", "20"]))),
                }
                for n in range(lines)
            ],
        )
        if data.draw(st.booleans()):
            self.attempt(
                services.invoice_issue, invoice=draft, apply_credit=data.draw(st.booleans())
            )

    @precondition(lambda self: self.invoices())
    @rule(data=st.data(), method=st.sampled_from(["cash", "bank_transfer", "other"]))
    def record_payment(self, data, method):
        invoice = data.draw(st.sampled_from(self.invoices()))
        amount = data.draw(amounts(invoice.currency, high=2000))
        self.attempt(
            services.payment_record,
            invoice=invoice,
            amount=amount,
            method=method,
            paid_at=invoice.created_at.date(),
            excess_to_credit=data.draw(st.booleans()),
        )

    @precondition(lambda self: self.invoices())
    @rule(data=st.data())
    def write_off(self, data):
        invoice = data.draw(st.sampled_from(self.invoices()))
        self.attempt(
            services.payment_record,
            invoice=invoice,
            amount=data.draw(amounts(invoice.currency)),
            method="cash",
            paid_at=invoice.created_at.date(),
            write_off_remainder=True,
        )

    @precondition(lambda self: self.payments())
    @rule(data=st.data(), destination=st.sampled_from(["external", "customer_credit"]))
    def refund(self, data, destination):
        payment = data.draw(st.sampled_from(self.payments()))
        self.attempt(
            services.payment_refund,
            payment=payment,
            amount=data.draw(amounts(payment.currency)),
            destination=destination,
            reason="requested_by_customer",
        )

    @precondition(lambda self: self.payments())
    @rule(data=st.data())
    def void_payment(self, data):
        payment = data.draw(st.sampled_from(self.payments()))
        self.attempt(services.payment_void, payment=payment, reason="mistake")

    @precondition(lambda self: self.invoices())
    @rule(data=st.data())
    def credit_note(self, data):
        invoice = data.draw(st.sampled_from(self.invoices()))
        payments = [p for p in self.payments() if p.invoice_id == invoice.pk]
        refund_payment = data.draw(st.sampled_from(payments)) if payments else None
        part = st.none() | amounts(invoice.currency, high=300)
        self.attempt(
            services.credit_note_issue,
            invoice=invoice,
            reason="goodwill",
            reduce_due=data.draw(part),
            to_credit=data.draw(part),
            refund=data.draw(part) if refund_payment else None,
            refund_payment=refund_payment,
        )

    @precondition(lambda self: self.invoices())
    @rule(data=st.data())
    def apply_credit(self, data):
        invoice = data.draw(st.sampled_from(self.invoices()))
        amount = data.draw(st.none() | amounts(invoice.currency, high=300))
        self.attempt(services.credit_apply, invoice=invoice, amount=amount)

    @rule(data=st.data(), index=st.integers(0, 2), negative=st.booleans())
    def adjust_balance(self, data, index, negative):
        customer = self.customers[index]
        amount = data.draw(amounts(customer.currency, high=300))
        self.attempt(
            services.balance_adjust,
            customer=customer,
            amount=-amount if negative else amount,
            reason="test",
        )

    @rule(data=st.data(), index=st.integers(0, 2))
    def pay_out(self, data, index):
        customer = self.customers[index]
        self.attempt(
            services.balance_pay_out,
            customer=customer,
            amount=data.draw(amounts(customer.currency, high=300)),
            reference="wire",
        )

    @precondition(lambda self: self.invoices())
    @rule(data=st.data())
    def void_invoice(self, data):
        invoice = data.draw(st.sampled_from(self.invoices()))
        self.attempt(services.invoice_void, invoice=invoice, reason="mistake")

    @invariant()
    def records_agree(self):
        assert find_disagreements() == []

    @invariant()
    def identity_and_status_hold(self):
        for invoice in self.invoices():
            parts = (invoice.amount_credited, invoice.amount_paid, invoice.amount_due)
            assert invoice.total == sum(parts, Money(0, invoice.currency))
            assert all(part.amount >= 0 for part in parts)
            if invoice.status == InvoiceStatus.PAID:
                assert invoice.amount_due.amount == 0
        for customer in self.customers:
            assert (
                selectors.customer_credit(customer=customer, currency=customer.currency).amount >= 0
            )


def test_random_sequences_of_operations_keep_every_invariant(db):
    get_user_model().objects.create_superuser("machine", "m@example.com", "pw")
    Billing.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Billing.TestCase().runTest()
