"""Every refusal of a compat shape is in that shape's own error form (Lago's
``status``/``error``/``code``/``error_details``; Dolfin's problem+json with its
titles; GoHighLevel's, which shows none, this API's problem+json), never HTML,
never a 500, and writes nothing."""

import json

import pytest

from tests.api.conftest import key_for
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts

pytestmark = pytest.mark.django_db

LAGO = "/compat/lago/api/v1/payments"


def dolfin_url(ref):
    return f"/compat/dolfin/invoices/{ref}/payments"


def ghl_url(ref):
    return f"/compat/gohighlevel/invoices/{ref}/record-payment"


def lago_error(response, status, code):
    """Lago's error: its status, HTTP's phrase, its code; JSON, not problem+json."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["error"]
    assert set(body) <= {"status", "error", "code", "error_details"}
    return body


def dolfin_error(response, status, title):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == title and body["status"] == status and body["detail"]
    return body


def ghl_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"urn:billing:error:{code}" and body["detail"]
    return body


@pytest.fixture
def secret(clerk):
    return key_for(clerk)[1]


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "100.00")


@pytest.fixture
def unchanged(invoice):
    """The test's requests wrote nothing."""
    before = record_counts()
    yield
    assert record_counts() == before


def send(client, url, raw, headers, method="post"):
    return getattr(client, method)(url, raw, content_type="application/json", headers=headers)


# -- Lago ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        ("{not json", 400, "bad_request", "base"),
        ("", 422, "validation_errors", "base"),  # no body: a missing field
        ("[]", 422, "validation_errors", None),
        ('"payment"', 422, "validation_errors", None),
        ("null", 422, "validation_errors", None),
        ("{}", 422, "validation_errors", "payment"),
        ('{"payment": []}', 422, "validation_errors", "payment"),
        (
            '{"payment": {"invoice_id": "1", "amount_cents": 1, "reference": "r"}, "x": 1}',
            422,
            "validation_errors",
            "x",
        ),
        (
            '{"payment": {"invoice_id": "1", "amount_cents": "lots", "reference": "r"}}',
            422,
            "validation_errors",
            "payment.amount_cents",
        ),
        (
            '{"payment": {"invoice_id": "1", "amount_cents": 1.5, "reference": "r"}}',
            422,
            "validation_errors",
            "payment.amount_cents",
        ),
        (
            '{"payment": {"invoice_id": "1", "amount_cents": true, "reference": "r"}}',
            422,
            "validation_errors",
            "payment.amount_cents",
        ),
        (
            '{"payment": {"invoice_id": "1", "amount_cents": "100", "reference": "r"}}',
            422,
            "validation_errors",
            "payment.amount_cents",
        ),
        (
            '{"payment": {"invoice_id": "1", "amount_cents": -1, "reference": "r"}}',
            422,
            "validation_errors",
            "payment.amount_cents",
        ),
        (
            '{"payment": {"invoice_id": 1, "amount_cents": 1, "reference": "r"}}',
            422,
            "validation_errors",
            "payment.invoice_id",
        ),
        (
            '{"payment": {"invoice_id": "1", "amount_cents": 1, "reference": "r", "paid_at": "x"}}',
            422,
            "validation_errors",
            "payment.paid_at",
        ),
    ],
)
def test_lago_refuses_bad_bodies_in_its_shape(client, secret, unchanged, raw, status, code, field):
    body = lago_error(send(client, LAGO, raw, {"Authorization": f"Bearer {secret}"}), status, code)
    if field is not None:
        assert field in body["error_details"], body


def test_lago_refuses_a_reference_longer_than_its_column(client, secret, invoice, unchanged):
    long = {"invoice_id": str(invoice.pk), "amount_cents": 1, "reference": "r" * 201}
    response = send(
        client, LAGO, json.dumps({"payment": long}), {"Authorization": f"Bearer {secret}"}
    )
    body = lago_error(response, 422, "validation_errors")
    assert "payment.reference" in body["error_details"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer bk_nope"}, {"Authorization": "x"}]
)
def test_lago_without_a_valid_key_is_401_in_its_shape(client, invoice, unchanged, headers):
    body = {"payment": {"invoice_id": str(invoice.pk), "amount_cents": 1, "reference": "r"}}
    lago_error(send(client, LAGO, json.dumps(body), headers), 401, "unauthorized")
    lago_error(client.get(LAGO, headers=headers), 401, "unauthorized")


def test_lago_reads_refuse_in_its_shape(client, secret, unchanged):
    auth = {"Authorization": f"Bearer {secret}"}
    lago_error(client.get(f"{LAGO}/999999", headers=auth), 404, "payment_not_found")
    lago_error(client.get(f"{LAGO}/abc", headers=auth), 422, "validation_errors")
    lago_error(client.get(LAGO, {"page": 0}, headers=auth), 422, "validation_errors")
    lago_error(client.get(LAGO, {"per_page": "x"}, headers=auth), 422, "validation_errors")
    lago_error(client.get(LAGO, {"invoice_id": "INV-0"}, headers=auth), 404, "invoice_not_found")
    lago_error(client.get("/compat/lago/api/v1/nothing", headers=auth), 404, "not_found")
    lago_error(send(client, f"{LAGO}/1", "{}", auth), 405, "method_not_allowed")


def test_lago_needs_the_view_permission_to_read(client, nobody, unchanged):
    auth = {"Authorization": f"Bearer {key_for(nobody)[1]}"}
    lago_error(client.get(LAGO, headers=auth), 403, "permission_denied")


# -- Dolfin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("{not json", "Request.Invalid"),
        ("", "Request.Invalid"),
        ("[]", "Request.Invalid"),
        ("null", "Request.Invalid"),
        ("{}", "Invoice.InvalidPaymentAmount"),
        ('{"amount": "1", "tip": 1}', "Request.Invalid"),
        ('{"amount": true}', "Invoice.InvalidPaymentAmount"),
        ('{"amount": [1]}', "Invoice.InvalidPaymentAmount"),
        ('{"amount": "ten"}', "Invoice.InvalidPaymentAmount"),
        ('{"amount": "1e400"}', "Invoice.InvalidPaymentAmount"),
        ('{"amount": 1.001}', "Invoice.InvalidPaymentAmount"),
        ('{"amount": "1", "paidAt": "yesterday"}', "Request.Invalid"),
        ('{"amount": "1", "notes": 5}', "Request.Invalid"),
    ],
)
def test_dolfin_refuses_bad_bodies_with_400_problems(
    client, secret, invoice, unchanged, raw, title
):
    response = send(client, dolfin_url(invoice.pk), raw, {"x-dolfin-api-key": secret})
    dolfin_error(response, 400, title)


def test_dolfin_refuses_notes_longer_than_the_column(client, secret, invoice, unchanged):
    body = json.dumps({"amount": "1", "notes": "n" * 2001})
    dolfin_error(
        send(client, dolfin_url(invoice.pk), body, {"x-dolfin-api-key": secret}),
        400,
        "Request.Invalid",
    )


def test_dolfin_other_refusals_keep_its_shape(client, secret, invoice, nobody, unchanged):
    ok = json.dumps({"amount": "1"})
    dolfin_error(send(client, dolfin_url(invoice.pk), ok, {}), 401, "Unauthorized")
    dolfin_error(
        send(client, dolfin_url(invoice.pk), ok, {"x-dolfin-api-key": "nope"}), 401, "Unauthorized"
    )
    viewer = {"x-dolfin-api-key": key_for(nobody)[1]}
    forbidden = dolfin_error(
        send(client, dolfin_url(invoice.pk), ok, viewer), 403, "Invoice.CommandFailed"
    )
    assert forbidden["code"] == "permission_denied"
    auth = {"x-dolfin-api-key": secret}
    dolfin_error(client.get(dolfin_url(invoice.pk), headers=auth), 405, "Request.MethodNotAllowed")
    dolfin_error(client.get("/compat/dolfin/invoices", headers=auth), 404, "Request.NotFound")


# -- GoHighLevel ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        ("{not json", 400, "malformed_request", None),
        ("", 422, "invalid_value", None),  # no body: a missing field
        ("[]", 422, "invalid_value", None),
        ("null", 422, "invalid_value", None),
        ("{}", 422, "invalid_value", "mode"),
        ('{"mode": "cash", "amount": "1"}', 422, "invalid_value", "amount"),
        ('{"mode": "cash", "amount": true}', 422, "invalid_value", "amount"),
        ('{"mode": "cash", "amount": 1, "meta": []}', 422, "invalid_value", "meta"),
        ('{"mode": "cash", "amount": 1, "card": "visa"}', 422, "invalid_value", "card"),
        ('{"mode": "cash", "amount": 1, "altType": "company"}', 422, "invalid_value", "altType"),
        (
            '{"mode": "cash", "amount": 1, "fulfilledAt": "soon"}',
            422,
            "invalid_value",
            "fulfilledAt",
        ),
    ],
)
def test_gohighlevel_refuses_bad_bodies_as_problems(
    client, secret, invoice, unchanged, raw, status, code, field
):
    headers = {"Authorization": f"Bearer {secret}", "Version": "2021-07-28"}
    body = ghl_error(send(client, ghl_url(invoice.pk), raw, headers), status, code)
    if field is not None:
        assert body["field"] == field


def test_gohighlevel_refuses_text_longer_than_its_column(client, secret, invoice, unchanged):
    headers = {"Authorization": f"Bearer {secret}", "Version": "2021-07-28"}
    long = {"mode": "cheque", "amount": 1, "cheque": {"number": "9" * 51}}
    body = ghl_error(
        send(client, ghl_url(invoice.pk), json.dumps(long), headers), 422, "invalid_value"
    )
    assert body["field"] == "cheque.number"


def test_gohighlevel_other_refusals_are_problems(client, secret, invoice, unchanged):
    headers = {"Authorization": f"Bearer {secret}", "Version": "2021-07-28"}
    ghl_error(client.get(ghl_url(invoice.pk), headers=headers), 405, "method_not_allowed")
    ghl_error(client.get("/compat/gohighlevel/nothing", headers=headers), 404, "not_found")
