"""Every refusal is application/problem+json with one code → status table, also
in the OpenAPI document; never HTML, never a 500 but for a true bug."""

import datetime

import pytest

from api.problems import STATUS_BY_CODE
from billing.errors import ALL_CODES
from tests.api.conftest import problem_of
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "100.00")


def cash(amount="10.00", currency="USD", **extra):
    return {
        "amount": {"amount": amount, "currency": currency},
        "method": "cash",
        "paid_at": datetime.date.today().isoformat(),
        **extra,
    }


def test_every_product_code_has_one_status_in_the_table():
    assert set(STATUS_BY_CODE) >= ALL_CODES
    assert STATUS_BY_CODE["payment_declined"] == 402
    assert set(STATUS_BY_CODE.values()) <= {400, 401, 402, 403, 404, 405, 409, 422, 500}


def test_the_openapi_document_carries_the_table_and_problem_responses(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["x-error-codes"] == STATUS_BY_CODE
    assert "| `payment_declined` | 402 |" in document["info"]["description"]
    record = document["paths"]["/api/v1/invoices/{invoice}/payments"]["post"]
    assert set(record["responses"]) >= {"201", "400", "401", "403", "404", "409", "422"}
    assert "application/problem+json" in record["responses"]["409"]["content"]
    codes = document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert set(codes) == set(STATUS_BY_CODE)
    header = [p for p in record["parameters"] if p["in"] == "header"]
    assert header[0]["name"] == "Idempotency-Key" and header[0]["required"]


def test_the_docs_page_loads_only_local_assets(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        ("{not json", 400, "malformed_request", None),
        ("[1, 2]", 422, "invalid_value", None),
        ('{"amount": {"amount": "1.00", "currency": "USD"}}', 422, "invalid_value", "method"),
        ("UNKNOWN", 422, "invalid_value", "surprise"),
        ("WRONG_TYPE", 422, "invalid_value", "amount.amount"),
        ("NUMBER", 422, "invalid_value", "amount.amount"),
        ("BAD_METHOD", 422, "invalid_value", "method"),
    ],
)
def test_a_bad_body_is_a_problem_that_names_its_field_and_writes_nothing(
    clerk_api, invoice, raw, status, code, field
):
    import json

    bodies = {
        "UNKNOWN": cash(surprise=1),
        "WRONG_TYPE": {**cash(), "amount": {"amount": ["1"], "currency": "USD"}},
        "NUMBER": {**cash(), "amount": {"amount": 12.3, "currency": "USD"}},
        "BAD_METHOD": cash() | {"method": "bitcoin"},
    }
    if raw in bodies:
        raw = json.dumps(bodies[raw])
    before = record_counts()
    body = problem_of(clerk_api.post(f"/invoices/{invoice.pk}/payments", raw=raw), status, code)
    if field:
        assert body["field"] == field
    assert record_counts() == before


def test_a_missing_idempotency_key_is_400(clerk_api, invoice):
    before = record_counts()
    body = problem_of(
        clerk_api.post(f"/invoices/{invoice.pk}/payments", cash(), key=None),
        400,
        "missing_header",
    )
    assert body["field"] == "Idempotency-Key"
    assert record_counts() == before


def test_an_unknown_url_or_record_is_a_404_problem(clerk_api):
    problem_of(clerk_api.get("/nothing/here"), 404, "not_found")
    problem_of(clerk_api.get("/payments/999999"), 404, "not_found")
    problem_of(clerk_api.get("/invoices/999999"), 404, "invoice_not_found")
    problem_of(clerk_api.get("/invoices/INV-1999-000001"), 404, "invoice_not_found")


def test_a_bad_query_parameter_is_a_problem(clerk_api):
    body = problem_of(clerk_api.get("/invoices", {"limit": "0"}), 422, "invalid_value")
    assert body["field"] == "limit"
    body = problem_of(clerk_api.get("/payments", {"starting_after": "x"}), 422, "invalid_value")
    assert body["field"] == "starting_after"


def test_a_true_bug_is_a_logged_500_problem(clerk_api, invoice, monkeypatch, caplog):
    from billing import services

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "payment_record", broken)
    response = clerk_api.post(f"/invoices/{invoice.pk}/payments", cash())
    problem_of(response, 500, "internal_error")
    assert "a bug" not in response.content.decode()
    assert any("API error" in record.message for record in caplog.records)


def test_a_method_a_path_does_not_take_is_a_405_problem(clerk_api, client):
    response = client.delete("/api/v1/payments", headers=clerk_api.headers())
    problem_of(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
