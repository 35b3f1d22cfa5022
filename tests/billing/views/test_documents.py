"""Receipts, credit notes and invoices as PDFs (their text read back with pypdf),
their downloads, and e-mailing them through the outbox."""

import io

import pytest
from django.core import mail
from django.urls import reverse
from moneyed import Money
from pypdf import PdfReader

from billing import services
from billing.models import InvoiceEvent, OutboxMessage, Receipt
from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, invoice_with_card, issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db

SELLER = {"name": "Acme Billing GmbH", "address": "Hauptstrasse 1\n10115 Berlin", "tax_id": "DE123"}


@pytest.fixture(autouse=True)
def seller(settings):
    settings.BILLING_SELLER = SELLER


def pdf_text(response, filename_start):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{filename_start}')
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_a_receipt_shows_seller_payer_invoice_method_refunds_and_what_is_due(staff_client, manager):
    customer = CustomerFactory(name="Kuwait Trading Co", email="pay@kuwait.example", currency="KWD")
    invoice = issued_invoice(customer, manager, "1250.500")
    payment = pay(
        invoice,
        manager,
        "1000.125",
        method="card",
        details={"card_brand": "visa", "card_last4": "4242"},
        reference="INTERNAL-REF-9",
        notes="kept in the drawer",
    )
    services.payment_refund(
        payment=payment,
        amount=Money("0.125", "KWD"),
        destination="external",
        reason="requested_by_customer",
        actor=manager,
    )

    url = reverse("billing:payment_receipt_pdf", args=[payment.pk])
    text = pdf_text(staff_client.get(url), "RCPT-")

    receipt = Receipt.objects.get(payment=payment)
    assert f"Receipt {receipt.number}" in text
    for expected in (
        "Acme Billing GmbH",
        "Hauptstrasse 1",
        "10115 Berlin",
        "Tax ID: DE123",
        "Received from",
        "Kuwait Trading Co",
        invoice.number,
        "Amount paid 1,000.125 KWD",
        "Invoice total 1,250.500 KWD",
        "Settled by this payment 1,000.125 KWD",
        "Card terminal: Visa •••• 4242",
        "Refunded so far 0.125 KWD",
        "250.500 KWD",  # still due: 1,250.500 - 1,000.125 + 0.125
    ):
        assert expected in text, expected
    assert "INTERNAL-REF-9" not in text and "drawer" not in text
    # Downloaded again: the same receipt, the same number.
    assert f"Receipt {receipt.number}" in pdf_text(staff_client.get(url), receipt.number)
    assert Receipt.objects.count() == 1


def test_receipts_show_yen_and_cheques_as_the_pages_do(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(currency="JPY"), manager, "48000")
    payment = pay(invoice, manager, "48000", method="cheque", details={"cheque_number": "000123"})
    text = pdf_text(
        staff_client.get(reverse("billing:payment_receipt_pdf", args=[payment.pk])), "RCPT-"
    )
    assert "Amount paid 48,000 JPY" in text
    assert "Cheque #000123" in text
    assert "Still due on" in text and "0 JPY" in text
    assert "None so far." in text


def test_a_refund_has_its_own_receipt(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    payment = pay(
        invoice, manager, "100.00", method="bank_transfer", details={"bank_reference": "TRX-77"}
    )
    payment_receipt = services.receipt_issue(payment=payment)
    refund = services.payment_refund(
        payment=payment,
        amount=Money("30.00", "USD"),
        destination="customer_credit",
        reason="requested_by_customer",
        actor=manager,
    )
    text = pdf_text(
        staff_client.get(reverse("billing:refund_receipt_pdf", args=[refund.pk])), "RCPT-"
    )
    receipt = Receipt.objects.get(refund=refund)
    assert receipt.number != payment_receipt.number
    assert f"Refund receipt {receipt.number}" in text
    assert "Amount refunded 30.00 USD" in text
    assert f"(receipt {payment_receipt.number})" in text
    assert "Bank transfer (ref TRX-77)" in text


def test_credit_note_and_invoice_pdfs(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(name="Dolfin Ltd"), manager, "100.00")
    pay(invoice, manager, "40.00")
    note = services.credit_note_issue(
        invoice=invoice, reduce_due=Money("10.00", "USD"), reason="goodwill", actor=manager
    ).credit_note

    text = pdf_text(
        staff_client.get(reverse("billing:credit_note_pdf", args=[note.pk])), note.number
    )
    assert f"Credit note {note.number}" in text
    assert "Reduces the amount due by 10.00 USD" in text
    assert "Credit note total 10.00 USD" in text
    assert "Dolfin Ltd" in text and "Acme Billing GmbH" in text

    text = pdf_text(staff_client.get(reverse("billing:invoice_pdf", args=[invoice.pk])), "INV-")
    assert f"Invoice {invoice.number}" in text
    assert "Total 100.00 USD" in text
    assert "Credited 10.00 USD" in text
    assert "Amount due 50.00 USD" in text


def test_a_failed_charge_has_no_receipt_to_download(staff_client, manager):
    invoice = invoice_with_card(manager, token="sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=manager)
    before = record_counts()
    response = staff_client.get(reverse("billing:payment_receipt_pdf", args=[failed.pk]))
    assert response.status_code == 404
    assert record_counts() == before


def test_the_invoice_page_links_each_succeeded_payments_receipt(staff_client, manager):
    invoice = invoice_with_card(manager, token="sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=manager)
    paid = pay(invoice, manager, "10.00")
    content = get_ok(staff_client, invoice.get_absolute_url()).content.decode()
    assert reverse("billing:payment_receipt_pdf", args=[paid.pk]) in content
    assert reverse("billing:payment_receipt_email", args=[paid.pk]) in content
    assert reverse("billing:payment_receipt_pdf", args=[failed.pk]) not in content
    assert reverse("billing:invoice_pdf", args=[invoice.pk]) in content


def test_emailing_a_receipt_sends_the_pdf_and_records_it_on_the_timeline(
    clerk_client, clerk, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="Spacebring", email="accounts@spacebring.example")
    invoice = issued_invoice(customer, clerk, "100.00")
    payment = pay(invoice, clerk, "100.00")
    url = reverse("billing:payment_receipt_email", args=[payment.pk])
    assert "accounts@spacebring.example" in get_ok(clerk_client, url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(url, headers=htmx("modal-form"))
    assert response.status_code == 204

    receipt = Receipt.objects.get(payment=payment)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["accounts@spacebring.example"]
    assert receipt.number in sent.subject
    ((filename, content, mimetype),) = sent.attachments
    assert (filename, mimetype) == (f"{receipt.number}.pdf", "application/pdf")
    assert receipt.number in PdfReader(io.BytesIO(content)).pages[0].extract_text()
    event = InvoiceEvent.objects.get(invoice=invoice, kind="document_emailed")
    assert event.created_by == clerk and event.payment == payment
    assert event.message == f"Receipt {receipt.number} e-mailed to accounts@spacebring.example"
    page = get_ok(clerk_client, invoice.get_absolute_url()).content.decode()
    assert "e-mailed to accounts@spacebring.example" in page


def test_emailing_a_credit_note_and_an_invoice(
    staff_client, manager, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(CustomerFactory(email="ap@lago.example"), manager, "100.00")
    note = services.credit_note_issue(
        invoice=invoice, reduce_due=Money("5.00", "USD"), reason="goodwill", actor=manager
    ).credit_note
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            staff_client.post(reverse("billing:credit_note_email", args=[note.pk])).status_code
            == 302
        )
        assert (
            staff_client.post(reverse("billing:invoice_email", args=[invoice.pk])).status_code
            == 302
        )
    assert [m.attachments[0][0] for m in mail.outbox] == [
        f"{note.number}.pdf",
        f"{invoice.number}.pdf",
    ]
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="document_emailed").count() == 2


def test_a_customer_without_an_address_is_refused_and_nothing_is_written(clerk_client, clerk):
    invoice = issued_invoice(CustomerFactory(email=""), clerk, "100.00")
    before = record_counts()
    response = clerk_client.post(
        reverse("billing:invoice_email", args=[invoice.pk]), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "has no e-mail address" in response.content.decode()
    assert record_counts() == before
    assert mail.outbox == []


def test_receipts_can_be_emailed_automatically(clerk, settings, django_capture_on_commit_callbacks):
    settings.BILLING_EMAIL_RECEIPTS = True
    invoice = issued_invoice(CustomerFactory(email="auto@example.com"), clerk, "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        payment = pay(invoice, clerk, "60.00")
    receipt = Receipt.objects.get(payment=payment)
    assert [m.to for m in mail.outbox] == [["auto@example.com"]]
    assert mail.outbox[0].attachments[0][0] == f"{receipt.number}.pdf"
    assert not OutboxMessage.objects.filter(done_at=None).exists()
    assert InvoiceEvent.objects.get(kind="document_emailed").created_by == clerk
