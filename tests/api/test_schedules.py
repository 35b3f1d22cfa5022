"""/api/v1: a payment recorded against named instalments, and the refusals."""

import datetime

import pytest
from moneyed import Money

from billing import services
from billing.models import Payment
from billing.services.schedules import monthly_due_dates
from tests.api.conftest import problem_of
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "90.00")


@pytest.fixture
def instalments(clerk, invoice):
    return services.schedule_set(
        invoice=invoice, actor=clerk, split="equal", due_dates=monthly_due_dates(TODAY, 3)
    )


def body(amount, **extra):
    return {
        "amount": {"amount": amount, "currency": "USD"},
        "method": "cash",
        "paid_at": TODAY.isoformat(),
        **extra,
    }


def test_a_payment_naming_instalments_pays_them_first(clerk_api, invoice, instalments):
    first, _, third = instalments
    response = clerk_api.post(
        f"/invoices/{invoice.pk}/payments", body("40.00", instalments=[str(third.pk)])
    )
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert [(a.instalment_id, a.amount) for a in payment.allocations.order_by("pk")] == [
        (third.pk, Money("30.00", "USD")),
        (first.pk, Money("10.00", "USD")),
    ]


def test_naming_another_invoices_instalment_is_422_and_writes_nothing(
    clerk_api, clerk, invoice, instalments
):
    other = issued_invoice(CustomerFactory(), clerk, "10.00")
    theirs = services.schedule_set(invoice=other, actor=clerk, split="equal", due_dates=[TODAY])[0]
    before = record_counts()
    response = clerk_api.post(
        f"/invoices/{invoice.pk}/payments", body("10.00", instalments=[str(theirs.pk)])
    )
    problem = problem_of(response, 422, "instalment_not_on_invoice")
    assert problem["field"] == "instalments"
    assert record_counts() == before


def test_naming_a_paid_instalment_is_409_and_writes_nothing(clerk_api, clerk, invoice, instalments):
    services.payment_record(
        invoice=invoice, amount=Money("30.00", "USD"), method="cash", paid_at=TODAY, actor=clerk
    )
    before = record_counts()
    response = clerk_api.post(
        f"/invoices/{invoice.pk}/payments", body("10.00", instalments=[str(instalments[0].pk)])
    )
    problem_of(response, 409, "instalment_already_paid")
    assert record_counts() == before


def test_the_invoice_lists_its_instalments_with_their_ids(clerk_api, invoice, instalments):
    response = clerk_api.get(f"/invoices/{invoice.pk}")
    assert response.status_code == 200, response.content
    listed = response.json()["instalments"]
    assert [i["id"] for i in listed] == [str(i.pk) for i in instalments]
    assert listed[0] == {
        "id": str(instalments[0].pk),
        "sequence": 1,
        "due_date": TODAY.isoformat(),
        "amount": {"amount": "30.00", "currency": "USD"},
        "amount_paid": {"amount": "0.00", "currency": "USD"},
        "remaining": {"amount": "30.00", "currency": "USD"},
        "status": "open",
        "is_overdue": False,
    }
