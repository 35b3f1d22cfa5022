"""The Lago and Dolfin payment shapes under /compat/, with their documents'
example payloads."""

import json
from decimal import Decimal

import pytest
from moneyed import Money

from billing import services
from billing.models import Invoice, Payment
from tests.api.conftest import key_for
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(clerk):
    return key_for(clerk)[1]


def lago_post(client, secret, body, **headers):
    return client.post(
        "/compat/lago/api/v1/payments",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}", **headers},
    )


def dolfin_post(client, secret, invoice_id, body):
    return client.post(
        f"/compat/dolfin/invoices/{invoice_id}/payments",
        json.dumps(body) if not isinstance(body, str) else body,
        content_type="application/json",
        headers={"x-dolfin-api-key": secret} if secret else {},
    )


# -- Lago ---------------------------------------------------------------------------


def test_lagos_example_records_a_manual_payment(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    example = {  # Lago's "Record a manual payment" example, with our invoice's id.
        "payment": {
            "invoice_id": str(invoice.pk),
            "amount_cents": 100,
            "reference": "ref1",
            "paid_at": "2025-02-20",
        }
    }
    response = lago_post(client, secret, example)
    assert response.status_code == 200, response.content
    payment = response.json()["payment"]
    assert payment["amount_cents"] == 100 and payment["amount_currency"] == "USD"
    assert payment["invoice_ids"] == [str(invoice.pk)]
    assert payment["invoice_numbers"] == [invoice.number]
    assert payment["type"] == "manual" and payment["payment_status"] == "succeeded"
    assert payment["reference"] == "ref1" and payment["external_payment_id"] is None
    recorded = Payment.objects.get(pk=payment["lago_id"])
    assert recorded.amount == Money("1.00", "USD") and str(recorded.paid_at) == "2025-02-20"
    assert recorded.created_by == clerk


@pytest.mark.parametrize(
    ("currency", "cents", "amount"), [("JPY", 1500, "1500"), ("KWD", 1234, "1.234")]
)
def test_lago_amount_cents_are_the_currencys_minor_unit(
    client, secret, clerk, currency, cents, amount
):
    invoice = issued_invoice(CustomerFactory(currency=currency), clerk, "5000")
    body = {"payment": {"invoice_id": invoice.number, "amount_cents": cents, "reference": "r"}}
    response = lago_post(client, secret, body)
    assert response.status_code == 200, response.content
    assert response.json()["payment"]["amount_cents"] == cents
    assert Payment.objects.get().amount == Money(Decimal(amount), currency)


def test_lago_errors_take_lagos_shape_and_write_nothing(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    before = record_counts()

    def post(**fields):
        payment = {"invoice_id": str(invoice.pk), "amount_cents": 100, "reference": "r"} | fields
        return lago_post(client, secret, {"payment": payment})

    missing = post(invoice_id="486b147a-02a1-4ccf-8603-f3541fc25e7a")
    assert missing.status_code == 404
    assert missing.json() == {
        "status": 404,
        "error": "Not Found",
        "code": "invoice_not_found",
        "error_details": {"base": [missing.json()["error_details"]["base"][0]]},
    }
    too_much = post(amount_cents=1001)
    assert too_much.status_code == 409 and too_much.json()["code"] == "overpayment"
    zero = post(amount_cents=0)
    assert zero.status_code == 422
    assert zero.json()["code"] == "validation_errors"
    assert zero.json()["error_details"] == {"amount": ["invalid_amount"]}
    unknown = lago_post(client, secret, {"payment": {"amount_cents": 1}})
    assert unknown.status_code == 422
    assert unknown.json()["error_details"]["payment.invoice_id"] == ["missing"]
    assert lago_post(client, "bk_wrong", {"payment": {}}).status_code == 401
    assert record_counts() == before


def test_lago_get_and_list(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    ids = [
        lago_post(
            client,
            secret,
            {"payment": {"invoice_id": str(invoice.pk), "amount_cents": 100, "reference": f"r{i}"}},
        ).json()["payment"]["lago_id"]
        for i in range(3)
    ]
    auth = {"Authorization": f"Bearer {secret}"}
    one = client.get(f"/compat/lago/api/v1/payments/{ids[0]}", headers=auth)
    assert one.status_code == 200 and one.json()["payment"]["lago_id"] == ids[0]
    page = client.get("/compat/lago/api/v1/payments", {"page": 1, "per_page": 2}, headers=auth)
    assert page.status_code == 200
    assert [p["lago_id"] for p in page.json()["payments"]] == [ids[2], ids[1]]
    assert page.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }


def test_lago_keeps_an_idempotency_key_when_sent(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    body = {"payment": {"invoice_id": str(invoice.pk), "amount_cents": 100, "reference": "r"}}
    first = lago_post(client, secret, body, **{"Idempotency-Key": "lago-1"})
    again = lago_post(client, secret, body, **{"Idempotency-Key": "lago-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and Payment.objects.count() == 1


# -- Dolfin --------------------------------------------------------------------------


def test_dolfin_records_a_number_exactly(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    response = dolfin_post(
        client,
        secret,
        invoice.pk,
        '{"amount": 19.99, "paidAt": "2026-01-15T10:00:00Z", "notes": "Bank transfer"}',
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["amount"] == "19.99" and answer["currency"] == "USD"
    assert answer["invoiceId"] == str(invoice.pk) and answer["provider"] == "Manual"
    assert answer["status"] == "Succeeded" and answer["notes"] == "Bank transfer"
    assert answer["providerReference"] and answer["succeededAt"] and answer["createdAt"]
    payment = Payment.objects.get()
    assert payment.amount == Money("19.99", "USD") and str(payment.paid_at) == "2026-01-15"


def test_dolfin_takes_the_amount_as_a_string_and_paid_at_as_null(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    response = dolfin_post(
        client, secret, invoice.number, {"amount": "25.50", "paidAt": None, "notes": None}
    )
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "25.50"


@pytest.mark.parametrize(
    ("case", "status", "title"),
    [
        ("zero", 400, "Invoice.InvalidPaymentAmount"),
        ("negative", 400, "Invoice.InvalidPaymentAmount"),
        ("missing", 404, "Invoice.NotFound"),
        ("draft", 409, "Invoice.NotInPayableState"),
        ("too_much", 409, "Invoice.OverPayment"),
    ],
)
def test_dolfin_errors_have_dolfins_titles_and_write_nothing(
    client, secret, clerk, case, status, title
):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    ref, amount = invoice.pk, "10.00"
    if case == "zero":
        amount = 0
    elif case == "negative":
        amount = "-5"
    elif case == "missing":
        ref = "5f0c2a52-7a38-4a44-9e57-1a1f6f3f1b77"
    elif case == "draft":
        ref = services.invoice_create(
            customer=invoice.customer,
            currency="USD",
            actor=clerk,
            lines=[{"description": "X", "quantity": 1, "unit_price": Money("5", "USD")}],
        ).pk
    elif case == "too_much":
        amount = "100.01"
    before = record_counts(), Invoice.objects.count()
    response = dolfin_post(client, secret, ref, {"amount": amount})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == title and response.json()["status"] == status
    assert (record_counts(), Invoice.objects.count()) == before


def test_dolfin_needs_its_key_header(client, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    assert dolfin_post(client, None, invoice.pk, {"amount": "1"}).status_code == 401
    assert not Payment.objects.exists()
