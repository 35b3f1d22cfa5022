"""/api/v1 customers, saved payment methods and customer credit."""

import pytest
from moneyed import Money

from billing.models import Customer, PaymentMethod
from tests.api.conftest import problem_of
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts

pytestmark = pytest.mark.django_db


def usd(amount):
    return {"amount": amount, "currency": "USD"}


def test_creating_getting_and_searching_customers(clerk_api, clerk):
    response = clerk_api.post(
        "/customers", {"name": "Acme", "currency": "usd", "email": "ap@acme.test"}, key="c-1"
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["object"] == "customer" and answer["currency"] == "USD"
    assert (
        clerk_api.post(
            "/customers", {"name": "Acme", "currency": "usd", "email": "ap@acme.test"}, key="c-1"
        ).json()
        == answer
    )
    assert Customer.objects.get().created_by == clerk
    CustomerFactory(name="Globex")
    assert clerk_api.get(f"/customers/{answer['id']}").json() == answer
    found = clerk_api.get("/customers", {"search": "acm"})
    assert found.status_code == 200
    assert [c["id"] for c in found.json()["data"]] == [answer["id"]]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": " ", "currency": "USD"}, "invalid_value", "name"),
        ({"name": "A", "currency": "ZZZ"}, "invalid_value", None),
        ({"name": "A", "currency": "USD", "email": "nope"}, "invalid_value", "email"),
    ],
)
def test_a_bad_customer_is_refused_and_writes_nothing(clerk_api, body, code, field):
    body = problem_of(clerk_api.post("/customers", body), 422, code)
    if field:
        assert body["field"] == field
    assert not Customer.objects.exists()


def test_a_user_without_billing_permissions_makes_no_customer(nobody_api):
    problem_of(
        nobody_api.post("/customers", {"name": "A", "currency": "USD"}), 403, "permission_denied"
    )
    assert not Customer.objects.exists()


def test_saving_and_listing_payment_methods(clerk_api):
    customer = CustomerFactory()
    card = {
        "gateway": "sandbox",
        "token": "sandbox_ok",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2040,
    }
    response = clerk_api.post(f"/customers/{customer.pk}/payment_methods", card)
    assert response.status_code == 201, response.content
    assert response.json()["is_default"] is True
    problem_of(
        clerk_api.post(
            f"/customers/{customer.pk}/payment_methods", card | {"token": "4242424242424242"}
        ),
        422,
        "invalid_value",
    )
    assert PaymentMethod.objects.count() == 1
    listed = clerk_api.get(f"/customers/{customer.pk}/payment_methods")
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["data"]] == [response.json()["id"]]
    assert "token" not in listed.json()["data"][0]
    problem_of(clerk_api.get("/customers/999999/payment_methods"), 404, "not_found")


def test_adjusting_paying_out_and_applying_credit(manager_api, clerk_api, manager):
    customer = CustomerFactory()
    adjusted = manager_api.post(
        f"/customers/{customer.pk}/balance_adjustments",
        {"amount": usd("30.00"), "reason": "Goodwill"},
    )
    assert adjusted.status_code == 201, adjusted.content
    assert (
        adjusted.json()["balance_after"] == usd("30.00") and adjusted.json()["kind"] == "adjustment"
    )

    paid_out = manager_api.post(
        f"/customers/{customer.pk}/balance_payouts", {"amount": usd("5.00"), "reference": "Wire 1"}
    )
    assert paid_out.status_code == 201 and paid_out.json()["balance_after"] == usd("25.00")

    invoice = issued_invoice(customer, manager, "10.00", apply_credit=False)
    applied = clerk_api.post(f"/invoices/{invoice.pk}/apply_credit", {})
    assert applied.status_code == 201, applied.content
    assert applied.json()["method"] == "customer_credit" and applied.json()["amount"] == usd(
        "10.00"
    )

    balances = clerk_api.get(f"/customers/{customer.pk}/balances")
    assert balances.status_code == 200
    assert balances.json() == [{"currency": "USD", "amount": usd("15.00")}]
    entries = clerk_api.get(f"/customers/{customer.pk}/balance_entries").json()["data"]
    assert [e["kind"] for e in entries] == ["applied_to_invoice", "payout", "adjustment"]


def test_credit_refusals_write_nothing(manager_api, clerk_api):
    customer = CustomerFactory()
    before = record_counts()
    problem_of(
        manager_api.post(
            f"/customers/{customer.pk}/balance_payouts", {"amount": usd("5.00"), "reference": "x"}
        ),
        409,
        "insufficient_balance",
    )
    problem_of(
        clerk_api.post(
            f"/customers/{customer.pk}/balance_adjustments", {"amount": usd("5.00"), "reason": "x"}
        ),
        403,
        "permission_denied",
    )
    problem_of(
        manager_api.post(
            f"/customers/{customer.pk}/balance_adjustments", {"amount": usd("-1.00"), "reason": "x"}
        ),
        409,
        "insufficient_balance",
    )
    assert record_counts() == before
    assert customer.balances.count() == 0 or customer.balances.get().amount == Money(0, "USD")
