"""Defect 5 of issue 10: on the customer page, Apply credit's amount follows the
chosen invoice (the smaller of the credit and what that invoice asks for now)."""

import re

import pytest
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.models import Invoice
from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, record_counts

pytestmark = pytest.mark.django_db

KEY = "6f1c1a9e-4f8e-4a8e-9c43-2f4d1e0b9a11"


@pytest.fixture
def customer(manager):
    """550.00 USD of credit and three invoices it could pay: 100.00, 262.50 and
    1,000.00 USD (issued before the credit, so the credit is still there)."""
    customer = CustomerFactory()
    for amount in ("100.00", "262.50", "1000.00"):
        issued_invoice(customer, manager, amount)
    services.balance_adjust(
        customer=customer, amount=Money("550.00", "USD"), reason="Goodwill", actor=manager
    )
    return customer


def url(customer):
    return reverse("billing:customer_credit_apply", args=[customer.pk, "USD"])


def invoice(customer, total):
    return Invoice.objects.get(customer=customer, total=Money(total, "USD"))


def amount_shown(html):
    return re.search(r'name="amount" value="([^"]*)"', html).group(1)


def test_the_amount_starts_at_the_first_invoice_and_not_the_whole_credit(clerk_client, customer):
    content = get_ok(clerk_client, url(customer), headers=htmx("modal")).content.decode()
    assert amount_shown(content) == "100.00"
    assert 'hx-target="#credit-apply-amount"' in content


@pytest.mark.parametrize(("total", "expected"), [("262.50", "262.50"), ("1000.00", "550.00")])
def test_choosing_an_invoice_sets_the_amount_to_the_most_the_credit_can_pay_on_it(
    clerk_client, customer, total, expected
):
    before = record_counts()
    chosen = invoice(customer, total)
    response = clerk_client.post(
        url(customer),
        {"invoice": chosen.pk, "amount": "550.00", "idempotency_key": KEY},
        headers=htmx("credit-apply-amount"),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="credit-apply-amount"')
    assert amount_shown(content) == expected
    assert record_counts() == before  # Choosing applies nothing.


def test_an_invoice_not_offered_leaves_the_amount_as_typed(clerk_client, customer, manager):
    other = issued_invoice(CustomerFactory(), manager, "10.00")
    response = clerk_client.post(
        url(customer),
        {"invoice": other.pk, "amount": "7.00", "idempotency_key": KEY},
        headers=htmx("credit-apply-amount"),
    )
    assert response.status_code == 200
    assert amount_shown(response.content.decode()) == "7.00"


def test_the_service_still_refuses_more_than_the_invoice_asks_and_writes_nothing(
    clerk_client, customer
):
    before = record_counts()
    response = clerk_client.post(
        url(customer),
        {"invoice": invoice(customer, "262.50").pk, "amount": "550.00", "idempotency_key": KEY},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 422
    assert "262.50" in response.content.decode()
    assert record_counts() == before


def test_the_chosen_amount_is_applied(clerk_client, customer):
    chosen = invoice(customer, "262.50")
    response = clerk_client.post(
        url(customer),
        {"invoice": chosen.pk, "amount": "262.50", "idempotency_key": KEY},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    chosen.refresh_from_db()
    assert chosen.status == "paid"
