"""record_payment --instalment: a payment that pays named instalments first."""

import datetime

import pytest
from moneyed import Money

from billing import services
from billing.models import Instalment, Payment
from billing.services.schedules import monthly_due_dates
from tests.billing.commands._cli import ok, refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "90.00")
    services.schedule_set(
        invoice=invoice,
        actor=clerk,
        split="equal",
        due_dates=monthly_due_dates(datetime.date.today(), 3),
    )
    return invoice


def test_record_payment_pays_the_instalment_named_by_its_number(clerk, invoice):
    ok(
        "record_payment",
        invoice.number,
        "30.00",
        "--method=cash",
        "--instalment=2",
        "--actor=clerk",
    )
    paid = dict(Instalment.objects.filter(invoice=invoice).values_list("sequence", "amount_paid"))
    assert paid == {1: 0, 2: 30, 3: 0}
    assert Payment.objects.get().allocations.get().instalment.sequence == 2


def test_record_payment_refuses_an_instalment_the_invoice_has_not(clerk, invoice):
    refused(
        "instalment_not_on_invoice",
        "record_payment",
        invoice.number,
        "30.00",
        "--method=cash",
        "--instalment=4",
        "--actor=clerk",
    )


def test_record_payment_refuses_a_paid_instalment(clerk, invoice):
    ok("record_payment", invoice.number, "30.00", "--method=cash", "--actor=clerk")
    refused(
        "instalment_already_paid",
        "record_payment",
        invoice.number,
        "10.00",
        "--method=cash",
        "--instalment=1",
        "--actor=clerk",
    )
    assert Payment.objects.get().amount == Money("30.00", "USD")
