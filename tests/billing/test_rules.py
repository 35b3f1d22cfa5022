"""The rules that live on the models, asked in SQL too: the queryset form of a
rule must pick exactly the invoices whose property says yes, in every state."""

import datetime

import pytest
from moneyed import Money

from billing import services
from billing.models import Invoice, InvoiceStatus, invoice_status
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay

pytestmark = pytest.mark.django_db

PAST = datetime.date.today() - datetime.timedelta(days=40)


@pytest.fixture
def invoices(manager):
    """One invoice in each state the rules tell apart."""
    customer = CustomerFactory()
    services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "Work", "quantity": 1, "unit_price": Money("5.00", "USD")}],
        actor=manager,
    )
    issued_invoice(customer, manager, "10.00")  # open
    pay(issued_invoice(customer, manager, "10.00"), manager, "4.00")  # partially paid
    pay(issued_invoice(customer, manager, "10.00"), manager, "10.00")  # paid
    services.invoice_void(
        invoice=issued_invoice(customer, manager, "10.00"), actor=manager, reason="Wrong"
    )
    # All of the due reserved by a charge the gateway has not answered.
    in_flight = invoice_with_card(manager, "sandbox_timeout_not_charged", "10.00")
    services.payment_charge(invoice=in_flight, actor=manager)
    # Overdue: payable, due date past, something due.
    late = issued_invoice(customer, manager, "10.00")
    Invoice.objects.filter(pk=late.pk).update(due_date=PAST)
    return list(Invoice.objects.all())


def test_the_invoices_that_can_take_payment_are_those_whose_property_says_so(invoices):
    expected = {invoice.pk for invoice in invoices if invoice.can_take_payment}
    assert set(Invoice.objects.can_take_payment().values_list("pk", flat=True)) == expected
    # Not vacuous: some can, and the draft, paid, void and fully reserved cannot.
    assert 0 < len(expected) < len(invoices) - 3


def test_the_overdue_invoices_are_those_whose_property_says_so(invoices):
    expected = {invoice.pk for invoice in invoices if invoice.is_overdue}
    assert len(expected) == 1
    assert set(Invoice.objects.overdue().values_list("pk", flat=True)) == expected


@pytest.mark.parametrize(
    ("due", "paid", "status"),
    [
        ("0.00", "0.00", InvoiceStatus.PAID),  # credited in full
        ("0.00", "10.00", InvoiceStatus.PAID),
        ("4.00", "6.00", InvoiceStatus.PARTIALLY_PAID),
        ("10.00", "0.00", InvoiceStatus.OPEN),
    ],
)
def test_the_status_follows_from_the_amounts(due, paid, status):
    assert invoice_status(due=Money(due, "USD"), paid=Money(paid, "USD")) == status
