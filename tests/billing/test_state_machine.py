"""Random sequences of every operation over several customers, currencies and
invoices; after every step the identity, the statuses and the ledger must agree
(``find_disagreements``) and the service's own answer must match the records.

A refusal must be one the operation may give in the state it met (``MAY_REFUSE``),
and every operation must succeed at least once over the run (``OUTCOMES``): a
build where an operation refuses what it should do cannot pass."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moneyed import Money

from billing import selectors, services
from billing.errors import BillingError, ErrorCode
from billing.integrity import find_disagreements
from billing.models import (
    EXTERNAL_METHODS,
    PAYABLE_STATUSES,
    Allocation,
    Instalment,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
)
from billing.money import minor_unit
from billing.services.schedules import monthly_due_dates

pytestmark = pytest.mark.django_db

CURRENCIES = ["USD", "JPY", "KWD"]


def at_most(money):
    """Amounts from the currency's smallest unit up to ``money``."""
    currency, places = money.currency.code, minor_unit(money.currency.code)
    return st.integers(min_value=1, max_value=int(money.amount.scaleb(places))).map(
        lambda n: Money(Decimal(n).scaleb(-places), currency)
    )


def amounts(currency, high=500, fits=None):
    """Amounts up to ``high`` units; when ``fits`` is above zero, half of them at most
    ``fits``, so that an operation needing its amount to fit is not nearly always refused."""
    anything = at_most(Money(high, currency))
    if fits is None or fits.amount <= 0:
        return anything
    return at_most(fits) | anything


def pick(data, records, likely):
    """One of ``records``; half the time, when there are some, one ``likely`` holds for."""
    hopeful = [record for record in records if likely(record)]
    if not hopeful:
        return data.draw(st.sampled_from(records))
    return data.draw(st.sampled_from(hopeful) | st.sampled_from(records))


def now(record):
    """A record as it stands; after a refusal, as it stood (a refusal writes nothing)."""
    return type(record).objects.get(pk=record.pk)


def payable(invoice):
    return invoice.status in PAYABLE_STATUSES


def issued(invoice):
    return invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID)


def room(invoice):
    return invoice.amount_due - invoice.amount_pending


def credit(customer):
    return selectors.customer_credit(customer=customer, currency=customer.currency)


def voidable_payment(payment):
    return (
        payment.status == PaymentStatus.SUCCEEDED
        and payment.method in EXTERNAL_METHODS
        and payment.amount_refunded.amount == 0
        and payment.amount_to_credit.amount == 0
    )


def voidable_invoice(invoice):
    return (
        invoice.status == InvoiceStatus.OPEN
        and invoice.amount_credited.amount == 0
        and invoice.amount_pending.amount == 0
    )


def returnable(invoice):
    """What the invoice's payments can still give back or send to credit."""
    paid = invoice.payments.filter(status=PaymentStatus.SUCCEEDED)
    return sum((payment.refundable for payment in paid), Money(0, invoice.currency))


def credit_note_exceeds_invoice(request):
    invoice = now(request["invoice"])
    zero = Money(0, invoice.currency)
    reduce_due, refund, to_credit = (
        request[part] or zero for part in ("reduce_due", "refund", "to_credit")
    )
    return (
        reduce_due + refund + to_credit > invoice.total - invoice.amount_credited
        or reduce_due > room(invoice)
        or to_credit > returnable(invoice) - refund
    )


# The refusals each rule may meet with the well-formed requests this machine makes
# (each service's docstring lists all it can raise): for each code, a test of the
# request and of the state (which a refusal leaves as it found it) that says the
# operation may give it. Any other refusal, or one of these in another state,
# fails the run.
MAY_REFUSE = {
    "create_and_issue": {},  # a new draft with lines always issues
    "record_payment": {
        ErrorCode.INVOICE_NOT_PAYABLE: lambda r: not payable(now(r["invoice"])),
        ErrorCode.OVERPAYMENT: lambda r: (
            not r["excess_to_credit"] and r["amount"] > room(now(r["invoice"]))
        ),
    },
    "write_off": {
        ErrorCode.INVOICE_NOT_PAYABLE: lambda r: not payable(now(r["invoice"])),
        ErrorCode.OVERPAYMENT: lambda r: r["amount"] > room(now(r["invoice"])),
    },
    "refund": {
        ErrorCode.REFUND_EXCEEDS_PAYMENT: lambda r: r["amount"] > now(r["payment"]).refundable,
        ErrorCode.INVALID_VALUE: lambda r: (
            r["payment"].method == PaymentMethodKind.CUSTOMER_CREDIT
            and r["destination"] != "customer_credit"
        ),
    },
    "void_payment": {
        ErrorCode.INVALID_STATE: lambda r: not voidable_payment(now(r["payment"])),
    },
    "credit_note": {
        ErrorCode.INVALID_STATE: lambda r: not issued(now(r["invoice"])),
        ErrorCode.INVALID_AMOUNT: lambda r: all(
            r[part] is None for part in ("reduce_due", "refund", "to_credit")
        ),
        ErrorCode.CREDIT_NOTE_EXCEEDS_INVOICE: credit_note_exceeds_invoice,
        ErrorCode.REFUND_EXCEEDS_PAYMENT: lambda r: (
            r["refund"] is not None and r["refund"] > now(r["refund_payment"]).refundable
        ),
    },
    "apply_credit": {
        ErrorCode.INVOICE_NOT_PAYABLE: lambda r: not payable(now(r["invoice"])),
        ErrorCode.INSUFFICIENT_BALANCE: lambda r: (
            credit(r["invoice"].customer).amount <= 0
            if r["amount"] is None
            else r["amount"] > credit(r["invoice"].customer)
        ),
        ErrorCode.OVERPAYMENT: lambda r: (
            r["amount"] is not None and r["amount"] > room(now(r["invoice"]))
        ),
    },
    "adjust_balance": {
        ErrorCode.INSUFFICIENT_BALANCE: lambda r: (credit(r["customer"]) + r["amount"]).amount < 0,
    },
    "pay_out": {
        ErrorCode.INSUFFICIENT_BALANCE: lambda r: r["amount"] > credit(r["customer"]),
    },
    "void_invoice": {
        ErrorCode.INVALID_STATE: lambda r: not voidable_invoice(now(r["invoice"])),
    },
    "set_schedule": {
        ErrorCode.INVALID_STATE: lambda r: not schedulable(now(r["invoice"])),
        # Equal parts of so little that one would be nothing.
        ErrorCode.INVALID_AMOUNT: lambda r: too_small_to_split(r),
        ErrorCode.INSTALMENT_ALREADY_PAID: lambda r: Allocation.objects.filter(
            instalment__invoice=r["invoice"]
        ).exists(),
    },
    "pay_instalment": {
        ErrorCode.INVOICE_NOT_PAYABLE: lambda r: not payable(now(r["invoice"])),
        ErrorCode.OVERPAYMENT: lambda r: r["amount"] > room(now(r["invoice"])),
        ErrorCode.INSTALMENT_NOT_ON_INVOICE: lambda r: (
            Instalment.objects.get(pk=r["instalments"][0]).invoice_id != r["invoice"].pk
        ),
        ErrorCode.INSTALMENT_ALREADY_PAID: lambda r: (
            not (Instalment.objects.get(pk=r["instalments"][0]).is_unpaid)
        ),
    },
}


def schedulable(invoice):
    return payable(invoice) and invoice.amount_pending.amount == 0


def too_small_to_split(request):
    invoice = now(request["invoice"])
    units = invoice.asks_for.amount.scaleb(minor_unit(invoice.currency))
    return units < 2 * len(request["due_dates"])


# What each rule's attempts came to over a whole run: (rule, "succeeded" or the code).
OUTCOMES = Counter()


class Billing(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.actor = get_user_model().objects.get(username="machine")
        self.customers = [
            services.customer_create(name=f"C{i}", currency=c, actor=self.actor)
            for i, c in enumerate(CURRENCIES)
        ]

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

    def attempt(self, rule, operation, **request):
        """Run ``operation``; a refusal must be one ``rule`` may meet in this state."""
        try:
            result = operation(actor=self.actor, **request)
        except BillingError as error:
            allowed = MAY_REFUSE[rule].get(error.code)
            if allowed is None or not allowed(request):
                where = "ever" if allowed is None else "in this state"
                raise AssertionError(
                    f"{rule} refused with {error.code!r}, which it may not {where}: "
                    f"{error.message} (request: {request})"
                ) from error
            OUTCOMES[rule, error.code] += 1
            return None
        OUTCOMES[rule, "succeeded"] += 1
        return result

    def opening_invoice(self, customer, data):
        return services.invoice_issue(
            invoice=services.invoice_create(
                customer=customer,
                currency=customer.currency,
                actor=self.actor,
                lines=[
                    {
                        "description": "opening",
                        "quantity": Decimal(1),
                        "unit_price": data.draw(amounts(customer.currency)),
                    }
                ],
            ),
            actor=self.actor,
        )

    @initialize(data=st.data())
    def open_invoices_payments_and_credit(self, data):
        """Every customer starts with an open invoice, one paid in cash and some
        credit, so that each operation has something to work on from the first step."""
        for customer in self.customers:
            self.opening_invoice(customer, data)
            paid = self.opening_invoice(customer, data)
            services.payment_record(
                invoice=paid,
                amount=data.draw(at_most(paid.total)),
                method="cash",
                paid_at=paid.created_at.date(),
                actor=self.actor,
            )
            services.balance_adjust(
                customer=customer,
                amount=data.draw(amounts(customer.currency, high=300)),
                actor=self.actor,
                reason="opening",
            )

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
                "create_and_issue",
                services.invoice_issue,
                invoice=draft,
                apply_credit=data.draw(st.booleans()),
            )

    @precondition(lambda self: self.invoices())
    @rule(data=st.data(), method=st.sampled_from(["cash", "bank_transfer", "other"]))
    def record_payment(self, data, method):
        invoice = pick(data, self.invoices(), payable)
        amount = data.draw(amounts(invoice.currency, high=2000, fits=room(invoice)))
        self.attempt(
            "record_payment",
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
        invoice = pick(data, self.invoices(), payable)
        self.attempt(
            "write_off",
            services.payment_record,
            invoice=invoice,
            amount=data.draw(amounts(invoice.currency, fits=room(invoice))),
            method="cash",
            paid_at=invoice.created_at.date(),
            write_off_remainder=True,
        )

    @precondition(lambda self: self.payments())
    @rule(data=st.data(), destination=st.sampled_from(["external", "customer_credit"]))
    def refund(self, data, destination):
        payment = pick(data, self.payments(), lambda p: p.refundable.amount > 0)
        self.attempt(
            "refund",
            services.payment_refund,
            payment=payment,
            amount=data.draw(amounts(payment.currency, fits=payment.refundable)),
            destination=destination,
            reason="requested_by_customer",
        )

    @precondition(lambda self: self.payments())
    @rule(data=st.data())
    def void_payment(self, data):
        payment = pick(data, self.payments(), voidable_payment)
        self.attempt("void_payment", services.payment_void, payment=payment, reason="mistake")

    @precondition(lambda self: self.invoices())
    @rule(data=st.data())
    def credit_note(self, data):
        invoice = pick(data, self.invoices(), issued)
        payments = [p for p in self.payments() if p.invoice_id == invoice.pk]
        refund_payment = data.draw(st.sampled_from(payments)) if payments else None

        def part(fits):
            return data.draw(st.none() | amounts(invoice.currency, high=300, fits=fits))

        self.attempt(
            "credit_note",
            services.credit_note_issue,
            invoice=invoice,
            reason="goodwill",
            reduce_due=part(room(invoice)),
            to_credit=part(returnable(invoice)),
            refund=part(refund_payment.refundable) if refund_payment else None,
            refund_payment=refund_payment,
        )

    @precondition(lambda self: self.invoices())
    @rule(data=st.data())
    def apply_credit(self, data):
        credits = {customer.pk: credit(customer) for customer in self.customers}
        invoice = pick(
            data, self.invoices(), lambda i: payable(i) and credits[i.customer_id].amount > 0
        )
        fits = min(credits[invoice.customer_id], room(invoice))
        amount = data.draw(st.none() | amounts(invoice.currency, high=300, fits=fits))
        self.attempt("apply_credit", services.credit_apply, invoice=invoice, amount=amount)

    @rule(data=st.data(), index=st.integers(0, 2), negative=st.booleans())
    def adjust_balance(self, data, index, negative):
        customer = self.customers[index]
        amount = data.draw(amounts(customer.currency, high=300))
        self.attempt(
            "adjust_balance",
            services.balance_adjust,
            customer=customer,
            amount=-amount if negative else amount,
            reason="test",
        )

    @rule(data=st.data(), index=st.integers(0, 2))
    def pay_out(self, data, index):
        customer = self.customers[index]
        self.attempt(
            "pay_out",
            services.balance_pay_out,
            customer=customer,
            amount=data.draw(amounts(customer.currency, high=300, fits=credit(customer))),
            reference="wire",
        )

    @precondition(lambda self: self.invoices())
    @rule(data=st.data())
    def void_invoice(self, data):
        invoice = pick(data, self.invoices(), voidable_invoice)
        self.attempt("void_invoice", services.invoice_void, invoice=invoice, reason="mistake")

    @precondition(lambda self: self.invoices())
    @rule(data=st.data(), count=st.integers(1, 4), days_ago=st.integers(-40, 90))
    def set_schedule(self, data, count, days_ago):
        invoice = pick(data, self.invoices(), schedulable)
        first = datetime.date.today() - datetime.timedelta(days=days_ago)
        self.attempt(
            "set_schedule",
            services.schedule_set,
            invoice=invoice,
            split="equal",
            due_dates=monthly_due_dates(first, count),
        )

    def instalments(self):
        ids = [c.pk for c in self.customers]
        return list(Instalment.objects.filter(invoice__customer_id__in=ids).order_by("pk"))

    @precondition(lambda self: self.instalments())
    @rule(data=st.data())
    def pay_instalment(self, data):
        instalments = self.instalments()
        instalment = pick(data, instalments, lambda i: i.is_unpaid)
        # Mostly its own invoice; sometimes another's, which must be refused.
        invoice = data.draw(st.just(instalment.invoice) | st.sampled_from(self.invoices()))
        fits = (
            min(instalment.remaining, room(invoice))
            if invoice.currency == instalment.currency
            else None
        )
        self.attempt(
            "pay_instalment",
            services.payment_record,
            invoice=invoice,
            amount=data.draw(amounts(invoice.currency, fits=fits)),
            method="cash",
            paid_at=invoice.created_at.date(),
            instalments=[instalment.pk],
        )

    @invariant()
    def instalments_hold_what_is_due(self):
        for invoice in self.invoices():
            if not invoice.has_schedule:
                continue
            parts = list(invoice.instalments.all())
            zero = Money(0, invoice.currency)
            assert sum((p.amount for p in parts), zero) == invoice.asks_for
            if invoice.status != InvoiceStatus.VOID:
                assert sum((p.remaining for p in parts), zero) == invoice.amount_due
            assert all(0 <= p.amount_paid.amount <= p.amount.amount for p in parts)

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
    # Each example turns some rules off (Hypothesis's swarm testing): 40 are enough
    # for every operation to succeed somewhere in the run.
    Billing.TestCase.settings = settings(
        max_examples=40,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    OUTCOMES.clear()
    Billing.TestCase().runTest()
    never = sorted(rule for rule in MAY_REFUSE if not OUTCOMES[rule, "succeeded"])
    refusals = {key: count for key, count in OUTCOMES.items() if key[0] in never}
    assert not never, f"Never succeeded over the whole run: {never}; refused: {refusals}"
