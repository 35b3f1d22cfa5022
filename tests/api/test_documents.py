"""/api/v1 PDF downloads: receipts of payments and refunds (made on the first
download, once), credit notes and invoices; the back office's rendering and
permission; problems for what has no PDF."""

import pytest
from moneyed import Money

from billing import services
from billing.models import Receipt
from tests.api.conftest import problem_of
from tests.billing.views.test_documents import pdf_text
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(manager):
    invoice = issued_invoice(CustomerFactory(name="Dolfin Ltd"), manager, "100.00")
    return invoice, pay(invoice, manager, "100.00")


def test_a_payments_receipt_is_made_on_the_first_download_and_only_once(clerk_api, paid):
    _, payment = paid
    assert not Receipt.objects.filter(payment=payment).exists()

    first = pdf_text(clerk_api.get(f"/payments/{payment.pk}/receipt"), "RCPT-")
    receipt = Receipt.objects.get(payment=payment)
    again = clerk_api.get(f"/payments/{payment.pk}/receipt")

    assert f"Receipt {receipt.number}" in first and "Dolfin Ltd" in first
    assert pdf_text(again, receipt.number) == first
    assert Receipt.objects.count() == 1


def test_a_refunds_receipt(clerk_api, manager, paid):
    _, payment = paid
    refund = services.payment_refund(
        payment=payment,
        amount=Money("30.00", "USD"),
        destination="customer_credit",
        reason="requested_by_customer",
        actor=manager,
    )

    text = pdf_text(clerk_api.get(f"/refunds/{refund.pk}/receipt"), "RCPT-")

    receipt = Receipt.objects.get(refund=refund)
    assert f"Refund receipt {receipt.number}" in text
    assert "Amount refunded 30.00 USD" in text


def test_a_credit_note_and_an_invoice_as_pdfs(clerk_api, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    note = services.credit_note_issue(
        invoice=invoice, reduce_due=Money("10.00", "USD"), reason="goodwill", actor=manager
    ).credit_note

    text = pdf_text(clerk_api.get(f"/credit_notes/{note.pk}/pdf"), note.number)
    assert f"Credit note {note.number}" in text

    by_id = pdf_text(clerk_api.get(f"/invoices/{invoice.pk}/pdf"), invoice.number)
    by_number = pdf_text(clerk_api.get(f"/invoices/{invoice.number}/pdf"), invoice.number)
    assert f"Invoice {invoice.number}" in by_id and by_number == by_id


def test_a_payment_that_did_not_succeed_has_no_receipt_and_nothing_is_written(clerk_api, manager):
    invoice = invoice_with_card(manager, token="sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=manager)
    before = record_counts()

    response = clerk_api.get(f"/payments/{failed.pk}/receipt")

    body = problem_of(response, 404, "not_found")
    assert "succeeded" in body["detail"]
    assert record_counts() == before


@pytest.mark.parametrize(
    "path",
    ["/payments/999/receipt", "/refunds/999/receipt", "/credit_notes/999/pdf"],
)
def test_an_unknown_record_is_a_404_problem(clerk_api, path):
    problem_of(clerk_api.get(path), 404, "not_found")


def test_an_unknown_invoice_is_invoice_not_found(clerk_api):
    problem_of(clerk_api.get("/invoices/INV-1999-000001/pdf"), 404, "invoice_not_found")


def test_a_key_whose_user_may_not_see_billing_gets_nothing_and_makes_no_receipt(nobody_api, paid):
    invoice, payment = paid
    before = record_counts()

    for path in (f"/payments/{payment.pk}/receipt", f"/invoices/{invoice.pk}/pdf"):
        problem_of(nobody_api.get(path), 403, "permission_denied")

    assert record_counts() == before


def test_without_a_key_it_is_401(api_as, client, paid):
    _, payment = paid
    response = client.get(f"/api/v1/payments/{payment.pk}/receipt")

    problem_of(response, 401, "authentication_failed")


def test_the_openapi_document_says_the_downloads_are_pdfs(client):
    schema = client.get("/api/v1/openapi.json").json()

    for path in (
        "/api/v1/payments/{payment}/receipt",
        "/api/v1/refunds/{refund}/receipt",
        "/api/v1/credit_notes/{credit_note}/pdf",
        "/api/v1/invoices/{invoice}/pdf",
    ):
        responses = schema["paths"][path]["get"]["responses"]
        assert list(responses["200"]["content"]) == ["application/pdf"], path
        assert list(responses["404"]["content"]) == ["application/problem+json"], path
