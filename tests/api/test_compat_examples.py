"""The seed documents' example payloads, posted as written, answered with the
fields those documents name; and Lago's list, whose page costs the same queries
whatever its size. (Dolfin's document has a schema and no example: its fields are
checked in test_compat.py.)"""

import json
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Payment
from tests.api.conftest import key_for
from tests.api.test_compat_gohighlevel import EXAMPLE as GHL_EXAMPLE
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db

# Lago's "Record a manual payment" request, as its document writes it.
LAGO_EXAMPLE = """{
  "payment": {
    "invoice_id": "486b147a-02a1-4ccf-8603-f3541fc25e7a",
    "amount_cents": 100,
    "reference": "ref1",
    "paid_at": "2025-02-20"
  }
}"""
# The payment fields issue 11 names from Lago's payment object.
LAGO_FIELDS = {
    "lago_id",
    "invoice_ids",
    "invoice_numbers",
    "amount_cents",
    "amount_currency",
    "payment_status",
    "type",
    "reference",
    "external_payment_id",
    "created_at",
}

# GoHighLevel's documented answer to its example, as its document writes it.
GHL_ANSWER = """{"success": true, "invoice": {"_id": "6578278e879ad2646715ba9c",
 "status": "draft", "liveMode": false, "amountPaid": 0,
 "altId": "6578278e879ad2646715ba9c", "altType": "location", "name": "New Invoice",
 "businessDetails": {"name": "Alex"}, "invoiceNumber": "19", "currency": "USD",
 "contactDetails": {"id": "c6tZZU0rJBf30ZXx9Gli", "phoneNo": "+1-214-559-6993",
   "email": "alex@example.com", "customFields": [], "name": "Alex",
   "address": {"countryCode": "US"}},
 "issueDate": "2023-01-01", "dueDate": "2023-01-01",
 "invoiceItems": [{"taxes": [], "_id": "c6tZZU0rJBf30ZXx9Gli",
   "productId": "c6tZZU0rJBf30ZXx9Gli", "priceId": "c6tZZU0rJBf30ZXx9Gli",
   "currency": "USD", "name": "Macbook Pro", "qty": 1, "amount": 999}],
 "total": 999, "title": "INVOICE", "amountDue": 999,
 "createdAt": "2023-12-12T09:27:42.355Z", "updatedAt": "2023-12-12T09:27:42.355Z",
 "discount": {"type": "percentage", "value": 0}, "automaticTaxesEnabled": true,
 "automaticTaxesCalculated": true, "paymentSchedule": {}}}"""
# What of that answer this product has nothing for (docs/api.md says so): its
# business's own details, a contact's phone, custom fields and address, catalogue
# products and prices, discounts, automatic taxes, schedules, an update time.
GHL_NOT_SERVED = {
    "businessDetails",
    "updatedAt",
    "discount",
    "automaticTaxesEnabled",
    "automaticTaxesCalculated",
    "paymentSchedule",
}
GHL_CONTACT_NOT_SERVED = {"phoneNo", "customFields", "address"}
GHL_ITEM_NOT_SERVED = {"productId", "priceId"}


@pytest.fixture
def secret(clerk):
    return key_for(clerk)[1]


def lago_post(client, secret, raw):
    return client.post(
        "/compat/lago/api/v1/payments",
        raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_lagos_example_as_written_names_an_invoice_that_is_not_here(client, secret, clerk):
    issued_invoice(CustomerFactory(), clerk, "10.00")
    before = record_counts()
    response = lago_post(client, secret, LAGO_EXAMPLE)
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "invoice_not_found"
    assert record_counts() == before


@pytest.mark.parametrize("by", ["id", "number"])
def test_lagos_example_with_our_invoice_answers_lagos_fields(client, secret, clerk, by):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    ref = str(invoice.pk) if by == "id" else invoice.number
    response = lago_post(
        client, secret, LAGO_EXAMPLE.replace(json.loads(LAGO_EXAMPLE)["payment"]["invoice_id"], ref)
    )
    assert response.status_code == 200, response.content
    payment = response.json()["payment"]
    assert set(payment) == LAGO_FIELDS
    assert payment["amount_cents"] == 100 and isinstance(payment["amount_cents"], int)
    assert payment["invoice_ids"] == [str(invoice.pk)]
    assert payment["invoice_numbers"] == [invoice.number]
    assert payment["created_at"].endswith("Z")
    one = client.get(
        f"/compat/lago/api/v1/payments/{payment['lago_id']}",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert one.status_code == 200 and one.json() == {"payment": payment}


def test_lagos_list_page_costs_the_same_queries_whatever_its_size(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    auth = {"Authorization": f"Bearer {secret}"}
    pay(invoice, clerk, "1.00")
    client.get("/compat/lago/api/v1/payments", headers=auth)  # notes the key's first use
    with CaptureQueriesContext(connection) as small:
        page = client.get("/compat/lago/api/v1/payments", {"per_page": 1}, headers=auth)
    assert page.status_code == 200 and len(page.json()["payments"]) == 1
    other = issued_invoice(CustomerFactory(), clerk, "100.00")
    for target in [invoice, other] * 10:
        pay(target, clerk, "1.00")
    with CaptureQueriesContext(connection) as large:
        page = client.get("/compat/lago/api/v1/payments", {"per_page": 20}, headers=auth)
    assert page.status_code == 200 and len(page.json()["payments"]) == 20
    assert len({p["invoice_ids"][0] for p in page.json()["payments"]}) == 2
    assert len(large) == len(small)


def test_gohighlevels_example_answers_its_documented_fields(client, secret, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "999.00")
    example = json.loads(GHL_EXAMPLE)
    del example["paymentScheduleIds"]  # refused until schedules exist (test_compat_gohighlevel)
    example["card"] = {"brand": "Visa", "last4": "4242"}  # the document's are "<string>"
    response = client.post(
        f"/compat/gohighlevel/invoices/{invoice.pk}/record-payment",
        json.dumps(example),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}", "Version": "2021-07-28"},
    )
    assert response.status_code == 200, response.content
    answer, documented = response.json(), json.loads(GHL_ANSWER)
    assert answer["success"] is True
    ghl, shown = answer["invoice"], documented["invoice"]
    assert set(shown) - GHL_NOT_SERVED <= set(ghl)
    contact = set(shown["contactDetails"]) - GHL_CONTACT_NOT_SERVED
    assert contact <= set(ghl["contactDetails"])
    item = set(shown["invoiceItems"][0]) - GHL_ITEM_NOT_SERVED
    assert item <= set(ghl["invoiceItems"][0])
    # Their types as documented: amounts are JSON numbers, never strings.
    for name in ("total", "amountPaid", "amountDue"):
        assert isinstance(ghl[name], int | float) and not isinstance(ghl[name], bool)
    assert isinstance(ghl["invoiceItems"][0]["amount"], int | float)
    assert ghl["total"] == 999 and ghl["amountPaid"] == 999 and ghl["amountDue"] == 0
    assert ghl["status"] == "paid" and ghl["liveMode"] is True


# -- docs/api.md's own examples of the compat shapes ------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
CURL = re.compile(r"curl -X POST \$B(/compat/\S+)(.*?)-d '(.*?)'", re.DOTALL)


def documented_posts():
    """(path, headers, body) of every compat POST docs/api.md shows."""
    posts = []
    for path, flags, body in CURL.findall(DOCS.read_text()):
        headers = dict(re.findall(r'-H "([^:"]+): ([^"]*)"', flags))
        posts.append((path, headers, body))
    return posts


def test_the_docs_show_one_example_per_compat_shape():
    prefixes = sorted(path.split("/")[2] for path, _, _ in documented_posts())
    assert prefixes == ["dolfin", "gohighlevel", "lago"]


@pytest.mark.parametrize(("path", "headers", "body"), documented_posts())
def test_the_docs_compat_examples_record_as_shown(client, clerk, path, headers, body):
    invoice = issued_invoice(CustomerFactory(), clerk, "1000.00")
    secret = key_for(clerk)[1]
    # The docs' invoices (31, INV-2026-000123) are this test's invoice; $KEY its key.
    path = re.sub(r"/invoices/[^/]+/", f"/invoices/{invoice.number}/", path)
    body = re.sub(r'"INV-[0-9-]+"', f'"{invoice.number}"', body)
    headers = {
        name: value.replace("$KEY", secret)
        for name, value in headers.items()
        if name != "Content-Type"
    }
    response = client.post(path, body, content_type="application/json", headers=headers)
    assert response.status_code in (200, 201), response.content
    assert Payment.objects.get().invoice == invoice
