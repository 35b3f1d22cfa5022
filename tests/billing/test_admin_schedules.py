"""The admin shows an invoice's schedule and a payment's allocations, read-only."""

import datetime

import pytest
from django.urls import reverse

from billing import services
from billing.services.schedules import monthly_due_dates
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def test_the_invoice_shows_its_instalments_and_the_payment_its_allocations(admin_client, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "90.00")
    long_ago = datetime.date.today() - datetime.timedelta(days=45)
    services.schedule_set(
        invoice=invoice, actor=clerk, split="equal", due_dates=monthly_due_dates(long_ago, 3)
    )
    payment = pay(invoice, clerk, "40.00")

    response = admin_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "30.00 USD" in page and "Partially paid" in page and "20.00 USD" in page
    assert 'name="instalments-0-amount"' not in page  # read-only: no inputs

    response = admin_client.get(reverse("admin:billing_payment_change", args=[payment.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Part 1" in page and "Part 2" in page and "10.00 USD" in page
