"""How the three compat shapes record: the invoice named by its API id or its
number, not read before the service's statement (issue 11: an ORM read first
halves the rate), and the currency they assume for it checked, never trusted."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from api.compat import forget_currencies
from billing.models import Payment
from tests.api.conftest import key_for
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts

pytestmark = pytest.mark.django_db

STATEMENT = "WITH locked_invoice AS"
INVOICE_READ = 'FROM "billing_invoice"'


@pytest.fixture
def secret(clerk):
    return key_for(clerk)[1]


def post(client, shape, secret, ref, body, **headers):
    """One record-payment POST in ``shape``'s own URL, headers and body."""
    if shape == "lago":
        url = "/compat/lago/api/v1/payments"
        body = {"payment": {"invoice_id": str(ref), "reference": "r", **body}}
        headers["Authorization"] = f"Bearer {secret}"
    elif shape == "dolfin":
        url = f"/compat/dolfin/invoices/{ref}/payments"
        headers["x-dolfin-api-key"] = secret
    else:
        url = f"/compat/gohighlevel/invoices/{ref}/record-payment"
        body = {"mode": "cash", **body}
        headers.update({"Authorization": f"Bearer {secret}", "Version": "2021-07-28"})
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


# The same payment of one major unit in each shape's words, and how each answers.
ONE = {"lago": {"amount_cents": 100}, "dolfin": {"amount": "1.00"}, "gohighlevel": {"amount": 1}}
CREATED = {"lago": 200, "dolfin": 201, "gohighlevel": 200}
SHAPES = list(ONE)


def invoice_of(shape, answer):
    """The invoice's id and number as the shape answered them."""
    if shape == "lago":
        return answer["payment"]["invoice_ids"][0], answer["payment"]["invoice_numbers"][0]
    if shape == "dolfin":
        return answer["invoiceId"], None
    return answer["invoice"]["_id"], answer["invoice"]["invoiceNumber"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("by", ["id", "number"])
def test_an_invoice_is_found_by_its_id_or_its_number(client, secret, clerk, shape, by):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    ref = invoice.pk if by == "id" else invoice.number
    response = post(client, shape, secret, ref, ONE[shape])
    assert response.status_code == CREATED[shape], response.content
    found_id, found_number = invoice_of(shape, response.json())
    assert found_id == str(invoice.pk)
    assert found_number in (None, invoice.number)
    assert Payment.objects.get().invoice == invoice


@pytest.mark.parametrize("shape", SHAPES)
def test_an_unknown_id_or_number_records_nothing(client, secret, clerk, shape):
    issued_invoice(CustomerFactory(), clerk, "10.00")
    before = record_counts()
    for ref in ("999999", "INV-1999-000001"):
        response = post(client, shape, secret, ref, ONE[shape])
        assert response.status_code == 404, response.content
    assert record_counts() == before


@pytest.mark.postgres
@pytest.mark.parametrize("shape", SHAPES)
def test_recording_by_id_reads_no_invoice_row(client, secret, clerk, shape):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    with CaptureQueriesContext(connection) as queries:
        response = post(client, shape, secret, invoice.pk, ONE[shape])
    assert response.status_code == CREATED[shape], response.content
    sql = [q["sql"] for q in queries]
    assert any(STATEMENT in s for s in sql)  # the service's one statement recorded it
    # Neither before the statement nor after it: the answer's invoice fields are
    # the row the statement returned.
    assert not [s for s in sql if s.lstrip().upper().startswith("SELECT") and INVOICE_READ in s]


@pytest.mark.postgres
@pytest.mark.parametrize("shape", SHAPES)
def test_recording_by_number_reads_the_invoice_once_for_its_id(client, secret, clerk, shape):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    with CaptureQueriesContext(connection) as queries:
        response = post(client, shape, secret, invoice.number, ONE[shape])
    assert response.status_code == CREATED[shape], response.content
    reads = [q["sql"] for q in queries if INVOICE_READ in q["sql"]]
    assert len(reads) == 1 and '"number"' in reads[0]


# Each shape's amount for a currency it is not assumed to be in: 1,500 yen, 1.234 dinars.
OTHER_CURRENCY = {
    "JPY": ({"lago": {"amount_cents": 1500}, "dolfin": {"amount": "1500"}}, "1500"),
    "KWD": ({"lago": {"amount_cents": 1234}, "dolfin": {"amount": "1.234"}}, "1.234"),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("currency", list(OTHER_CURRENCY))
def test_an_invoice_in_another_currency_than_assumed_is_recorded_in_its_own(
    client, secret, clerk, shape, currency
):
    bodies, amount = OTHER_CURRENCY[currency]
    body = bodies.get(shape, {"amount": json.loads(amount)})
    usd = issued_invoice(CustomerFactory(), clerk, "10.00")
    other = issued_invoice(CustomerFactory(currency=currency), clerk, "5000")
    # A USD payment first: this process now assumes USD for invoices it has not seen.
    assert post(client, shape, secret, usd.pk, ONE[shape]).status_code == CREATED[shape]
    response = post(client, shape, secret, other.pk, body)
    assert response.status_code == CREATED[shape], response.content
    assert Payment.objects.get(invoice=other).amount == Money(amount, currency)
    again = post(client, shape, secret, other.pk, body)  # now known: recorded the same
    assert again.status_code == CREATED[shape], again.content
    assert Payment.objects.filter(invoice=other).count() == 2


@pytest.mark.parametrize("shape", SHAPES)
def test_a_replay_in_another_process_answers_the_first_payment(client, secret, clerk, shape):
    """A retried POST reaching a process that assumes another currency (here: its
    memory forgotten after a USD payment) still replays, not idempotency_conflict."""
    jpy = issued_invoice(CustomerFactory(currency="JPY"), clerk, "5000")
    usd = issued_invoice(CustomerFactory(), clerk, "10.00")
    body = OTHER_CURRENCY["JPY"][0].get(shape, {"amount": 1500})
    first = post(client, shape, secret, jpy.pk, body, **{"Idempotency-Key": "k1"})
    assert first.status_code == CREATED[shape], first.content
    forget_currencies()
    assert post(client, shape, secret, usd.pk, ONE[shape]).status_code == CREATED[shape]
    again = post(client, shape, secret, jpy.pk, body, **{"Idempotency-Key": "k1"})
    assert again.status_code == CREATED[shape], again.content
    assert again.json() == first.json()
    assert Payment.objects.filter(invoice=jpy).count() == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_an_amount_the_invoices_currency_cannot_hold_is_refused(client, secret, clerk, shape):
    jpy = issued_invoice(CustomerFactory(currency="JPY"), clerk, "5000")
    body = {"lago": {"amount_cents": 0}, "dolfin": {"amount": "1.5"}}.get(shape, {"amount": 1.5})
    before = record_counts()
    response = post(client, shape, secret, jpy.pk, body)
    assert response.status_code in (400, 422), response.content
    assert record_counts() == before


@pytest.mark.parametrize("by", ["id", "number"])
def test_lagos_list_filters_by_an_invoices_id_or_number(client, secret, clerk, by):
    one = issued_invoice(CustomerFactory(), clerk, "10.00")
    other = issued_invoice(CustomerFactory(), clerk, "10.00")
    for invoice in (one, other, one):
        assert post(client, "lago", secret, invoice.pk, ONE["lago"]).status_code == 200
    ref = str(one.pk) if by == "id" else one.number
    page = client.get(
        "/compat/lago/api/v1/payments",
        {"invoice_id": ref},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert page.status_code == 200, page.content
    assert [p["invoice_ids"] for p in page.json()["payments"]] == [[str(one.pk)]] * 2
    assert page.json()["meta"]["total_count"] == 2
