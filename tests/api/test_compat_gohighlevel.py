"""GoHighLevel's record-payment shape under /compat/gohighlevel, with its
document's example payload."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client
from moneyed import Money

from api.keys import api_key_revoke
from billing import services
from billing.models import IdempotencyKey, Payment
from billing.services.schedules import monthly_due_dates
from tests.api.conftest import key_for
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts, run_together, user_with

pytestmark = pytest.mark.django_db

# GoHighLevel's "Record a manual payment for an invoice" request example, verbatim.
EXAMPLE = """{
  "altId": "6578278e879ad2646715ba9c",
  "altType": "location",
  "mode": "card",
  "card": {
    "brand": "<string>",
    "last4": "<string>"
  },
  "cheque": {
    "number": "129-129-129-912"
  },
  "notes": "This was a direct payment",
  "amount": 999,
  "meta": {},
  "paymentScheduleIds": [
    "6578278e879ad2646715ba9c"
  ],
  "fulfilledAt": "2025-03-19T05:03:00.000Z"
}"""


@pytest.fixture
def secret(clerk):
    return key_for(clerk)[1]


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "999.00")


def ghl_post(client, secret, ref, body, version="2021-07-28", **headers):
    if version is not None:
        headers["Version"] = version
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return client.post(
        f"/compat/gohighlevel/invoices/{ref}/record-payment",
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    return response.json()


def example_naming(*ids):
    example = json.loads(EXAMPLE)
    example["card"] = {"brand": "Visa", "last4": "4242"}
    example["paymentScheduleIds"] = [str(i) for i in ids]
    return example


def test_the_documents_example_records_against_the_instalments_it_names(
    client, secret, clerk, invoice
):
    first, second, third = services.schedule_set(
        invoice=invoice,
        actor=clerk,
        split="equal",
        due_dates=monthly_due_dates(datetime.date.today(), 3),
    )
    example = example_naming(second.pk)
    example["amount"] = 333
    response = ghl_post(client, secret, invoice.pk, example)
    assert response.status_code == 200, response.content
    assert response.json()["invoice"]["status"] == "partially_paid"
    payment = Payment.objects.get()
    assert [(a.instalment_id, a.amount) for a in payment.allocations.all()] == [
        (second.pk, Money("333", "USD"))
    ]
    for instalment, paid in ((first, 0), (second, 333), (third, 0)):
        instalment.refresh_from_db()
        assert instalment.amount_paid == Money(paid, "USD")


@pytest.mark.parametrize("ids", [["6578278e879ad2646715ba9c"], ["999999"]])
def test_the_example_naming_no_instalment_of_the_invoice_is_refused(
    client, secret, clerk, invoice, ids
):
    other = issued_invoice(CustomerFactory(), clerk, "50.00")
    services.schedule_set(
        invoice=other, actor=clerk, split="equal", due_dates=[datetime.date.today()]
    )
    before = record_counts()
    body = problem(
        ghl_post(client, secret, invoice.pk, example_naming(*ids)),
        422,
        "instalment_not_on_invoice",
    )
    assert body["field"] == "paymentScheduleIds"
    assert record_counts() == before


def test_the_example_naming_a_paid_instalment_is_refused(client, secret, clerk, invoice):
    first, _ = services.schedule_set(
        invoice=invoice,
        actor=clerk,
        split="equal",
        due_dates=monthly_due_dates(datetime.date.today(), 2),
    )
    services.payment_record(
        invoice=invoice,
        amount=first.amount,
        method="cash",
        paid_at=datetime.date.today(),
        actor=clerk,
    )
    before = record_counts()
    example = example_naming(first.pk)
    example["amount"] = 100
    body = problem(
        ghl_post(client, secret, invoice.pk, example),
        409,
        "instalment_already_paid",
    )
    assert body["field"] == "paymentScheduleIds"
    assert record_counts() == before


def test_the_example_without_a_schedule_records_the_card_payment(client, secret, clerk, invoice):
    example = json.loads(EXAMPLE)
    del example["paymentScheduleIds"]
    example["card"] = {"brand": "Visa", "last4": "4242"}
    response = ghl_post(client, secret, invoice.pk, example)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["success"] is True
    ghl = answer["invoice"]
    assert ghl["_id"] == str(invoice.pk) and ghl["invoiceNumber"] == invoice.number
    assert ghl["status"] == "paid" and ghl["currency"] == "USD"
    assert (ghl["total"], ghl["amountPaid"], ghl["amountDue"]) == (999, 999, 0)
    assert ghl["altId"] == example["altId"] and ghl["altType"] == "location"
    assert ghl["contactDetails"]["name"] == invoice.customer.name
    assert ghl["invoiceItems"] and ghl["issueDate"] == invoice.issue_date.isoformat()
    payment = Payment.objects.get()
    assert payment.amount == Money("999", "USD") and payment.method == "card"
    assert (payment.card_brand, payment.card_last4) == ("Visa", "4242")
    assert payment.cheque_number == ""  # the cheque object only counts for a cheque
    assert str(payment.paid_at) == "2025-03-19" and payment.notes == example["notes"]
    assert payment.created_by == clerk
    assert answer["payment"]["_id"] == str(payment.pk)
    assert answer["payment"]["fulfilledAt"] == "2025-03-19"


@pytest.mark.parametrize(
    ("mode", "extra", "fields"),
    [
        ("cash", {}, {}),
        ("card", {"card": {"brand": "Mastercard", "last4": "0005"}}, {"card_last4": "0005"}),
        ("cheque", {"cheque": {"number": "129-129-129-912"}}, {"cheque_number": "129-129-129-912"}),
        ("bank_transfer", {}, {}),
        ("other", {}, {}),
    ],
)
def test_each_mode_records_its_method_and_details(client, secret, invoice, mode, extra, fields):
    response = ghl_post(client, secret, invoice.number, {"mode": mode, "amount": 10, **extra})
    assert response.status_code == 200, response.content
    assert response.json()["invoice"]["status"] == "partially_paid"
    payment = Payment.objects.get()
    assert payment.method == mode
    for name, value in fields.items():
        assert getattr(payment, name) == value
    if mode == "card":
        assert response.json()["payment"]["card"] == {"brand": "Mastercard", "last4": "0005"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "card", "amount": 1}, "card.brand"),
        ({"mode": "card", "amount": 1, "card": {"brand": "Visa", "last4": "42"}}, "card.last4"),
        ({"mode": "cheque", "amount": 1}, "cheque.number"),
        ({"mode": "wire", "amount": 1}, "mode"),
        ({"mode": "cash", "amount": 1, "tip": 2}, "tip"),
    ],
)
def test_a_mode_without_its_details_is_refused(client, secret, invoice, body, field):
    before = record_counts()
    answer = problem(ghl_post(client, secret, invoice.pk, body), 422, "invalid_value")
    assert answer["field"] == field
    assert record_counts() == before


def test_the_amount_is_read_exactly(client, secret, invoice):
    response = ghl_post(client, secret, invoice.pk, '{"mode": "cash", "amount": 19.99}')
    assert response.status_code == 200, response.content
    assert Payment.objects.get().amount == Money(Decimal("19.99"), "USD")
    # Written back as the JSON number's exact digits.
    assert b'"amountPaid":19.99' in response.content
    assert b'"amountDue":979.01' in response.content


def test_no_amount_pays_what_is_payable_now(client, secret, invoice):
    response = ghl_post(client, secret, invoice.pk, {"mode": "cash"})
    assert response.status_code == 200, response.content
    assert response.json()["invoice"]["status"] == "paid"
    assert Payment.objects.get().amount == Money("999", "USD")


def test_meta_round_trips(client, secret, invoice):
    meta = {"source": "crm", "ids": [1, 2], "nested": {"ok": True, "rate": 0.5}, "none": None}
    response = ghl_post(client, secret, invoice.pk, {"mode": "cash", "amount": 1, "meta": meta})
    assert response.status_code == 200, response.content
    assert response.json()["payment"]["meta"] == meta
    Payment.objects.get().refresh_from_db()
    assert Payment.objects.get().meta == meta


def test_meta_beyond_four_kilobytes_is_refused(client, secret, invoice):
    before = record_counts()
    body = {"mode": "cash", "amount": 1, "meta": {"blob": "x" * 5000}}
    assert problem(ghl_post(client, secret, invoice.pk, body), 422, "invalid_value")["field"] == (
        "meta"
    )
    nul = {"mode": "cash", "amount": 1, "meta": {"text": "a\u0000b"}}
    assert problem(ghl_post(client, secret, invoice.pk, nul), 422, "invalid_value")["field"] == (
        "meta"
    )
    assert record_counts() == before


def test_unknown_invoice_overpayment_and_bad_amounts_write_nothing(client, secret, invoice):
    before = record_counts()
    problem(ghl_post(client, secret, "INV-0000-404", {"mode": "cash"}), 404, "invoice_not_found")
    problem(
        ghl_post(client, secret, invoice.pk, {"mode": "cash", "amount": 999.01}), 409, "overpayment"
    )
    problem(
        ghl_post(client, secret, invoice.pk, {"mode": "cash", "amount": 0}), 422, "invalid_amount"
    )
    problem(
        ghl_post(client, secret, invoice.pk, {"mode": "cash", "amount": 1.001}),
        422,
        "invalid_amount",
    )
    problem(ghl_post(client, secret, invoice.pk, "{not json"), 400, "malformed_request")
    future = {"mode": "cash", "amount": 1, "fulfilledAt": "2999-01-01T00:00:00Z"}
    assert problem(ghl_post(client, secret, invoice.pk, future), 422, "invalid_date")["field"] == (
        "fulfilledAt"
    )
    unknown_url = client.post("/compat/gohighlevel/invoices", "{}", content_type="application/json")
    problem(unknown_url, 404, "not_found")
    assert record_counts() == before


def test_a_paid_invoice_with_no_amount_is_not_payable(client, secret, invoice, clerk):
    services.payment_record(
        invoice=invoice, amount="999", method="cash", paid_at=invoice.issue_date, actor=clerk
    )
    before = record_counts()
    problem(ghl_post(client, secret, invoice.pk, {"mode": "cash"}), 409, "invoice_not_payable")
    assert record_counts() == before


@pytest.mark.parametrize(
    ("version", "code"), [(None, "missing_header"), ("2021-04-15", "unsupported_version")]
)
def test_the_version_header_is_required(client, secret, invoice, version, code):
    before = record_counts()
    answer = problem(
        ghl_post(client, secret, invoice.pk, {"mode": "cash", "amount": 1}, version=version),
        400,
        code,
    )
    assert answer["field"] == "Version"
    assert record_counts() == before


def test_keys_and_permissions(client, clerk, invoice):
    key, secret = key_for(clerk)
    api_key_revoke(key=key, actor=clerk)
    body = {"mode": "cash", "amount": 1}
    problem(ghl_post(client, secret, invoice.pk, body), 401, "authentication_failed")
    problem(ghl_post(client, None, invoice.pk, body), 401, "authentication_failed")
    viewer = user_with()
    problem(ghl_post(client, key_for(viewer)[1], invoice.pk, body), 403, "permission_denied")
    assert not Payment.objects.exists()


def test_an_idempotency_key_replays_the_first_answer(client, secret, invoice):
    body = {"mode": "cash", "amount": 19.99, "meta": {"n": 1}}
    first = ghl_post(client, secret, invoice.pk, body, **{"Idempotency-Key": "ghl-1"})
    again = ghl_post(client, secret, invoice.pk, body, **{"Idempotency-Key": "ghl-1"})
    assert first.status_code == again.status_code == 200, again.content
    # The same answer (PostgreSQL's jsonb keeps it with its keys reordered), its
    # amounts still JSON numbers.
    assert first.json() == again.json() and b'"amountPaid":19.99' in again.content
    assert Payment.objects.count() == 1 and IdempotencyKey.objects.count() == 1
    other = ghl_post(
        client, secret, invoice.pk, body | {"amount": 2}, **{"Idempotency-Key": "ghl-1"}
    )
    problem(other, 409, "idempotency_conflict")
    assert Payment.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_identical_posts_with_one_key_at_once_record_once(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "999.00")
    secret = key_for(clerk)[1]
    body = {"mode": "cash", "amount": 10, "meta": {"crmId": "abc"}}

    def work(i):
        response = ghl_post(Client(), secret, invoice.pk, body, **{"Idempotency-Key": "same"})
        return response.status_code, response.json()

    results, errors = run_together(10, work)
    assert errors == {}
    assert {status for status, _ in results.values()} <= {200, 409}
    recorded = [answer for status, answer in results.values() if status == 200]
    assert recorded and all(answer == recorded[0] for answer in recorded)
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("10", "USD")
