"""The payment page and the refund modal's choices in a browser: reached from the
invoice page; the invoice after each option shown and refreshed as the clerk
types; the reason choosing the default; only valid destinations offered.

Each test's end state is saved as a screenshot by the ``page`` fixture
(tests/browser/conftest.py: test-artifacts/screenshots/<test>-<database>.png),
so test_the_payment_page_is_reached_from_the_invoice_page leaves a picture of
the payment page there."""

import re

import pytest
from moneyed import Money
from playwright.sync_api import expect

from billing.models import InvoiceStatus, Refund
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db(transaction=True)


def dialog(page):
    return page.locator("dialog[open]")


def preview(page):
    return dialog(page).locator("#refund-choices table")


def row(page, name):
    return preview(page).locator("tr", has=page.get_by_role("rowheader", name=name, exact=True))


def test_the_payment_page_is_reached_from_the_invoice_page(page, manager):
    invoice = issued_invoice(CustomerFactory(name="Bäckerei Müller"), manager, "300.00")
    payment = pay(invoice, manager, "120.00", method="cheque", details={"cheque_number": "104233"})
    sign_in(page, "manager")
    page.goto(f"/invoices/{invoice.pk}/")

    page.locator("#payments").get_by_role("link", name=f"Payment #{payment.pk}").click()

    expect(page).to_have_url(re.compile(rf"/payments/{payment.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Payment #{payment.pk}")
    details = page.locator("#payment-details")
    expect(details).to_contain_text("Cheque number")
    expect(details).to_contain_text("104233")
    expect(page.locator("#payment-header")).to_contain_text("Bäckerei Müller")
    expect(page.locator("#payment-timeline")).to_contain_text("Payment recorded")


def test_the_refund_modal_shows_each_outcome_and_offers_only_valid_choices(page, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "200.00")
    payment = pay(invoice, manager, "200.00")
    sign_in(page, "manager")
    page.goto(f"/payments/{payment.pk}/")
    page.locator("#payment-header").get_by_role("link", name="Refund").click()

    # The prefilled amount's figures, before anything is chosen.
    expect(dialog(page)).to_contain_text("The invoice after refunding 200.00 USD")
    expect(row(page, "Due")).to_contain_text("200.00 USD")
    expect(row(page, "Status")).to_contain_text("Open")

    # A new amount refreshes them.
    dialog(page).get_by_label("Amount", exact=True).fill("50.00")
    dialog(page).get_by_label("Reason").select_option(label="Faulty or unsatisfactory product")
    expect(dialog(page)).to_contain_text("The invoice after refunding 50.00 USD")
    expect(row(page, "Status")).to_have_text(re.compile(r"Status\s*Paid\s*Partially paid\s*Paid"))

    # The reason chose a credit note, which refunds the way the money came.
    credit_note = dialog(page).get_by_label("Also issue a credit note so the invoice stays paid")
    owes_again = dialog(page).get_by_label("The customer owes this again")
    expect(credit_note).to_be_checked()
    destinations = dialog(page).locator("input[name=destination]")
    expect(destinations).to_have_count(1)
    expect(dialog(page).get_by_label("Paid back outside the system")).to_be_checked()

    # Owing it again offers customer credit, and its figures show it.
    owes_again.check()
    expect(destinations).to_have_count(2)
    dialog(page).get_by_label("To customer credit").check()
    expect(row(page, "Customer credit")).to_have_text(
        re.compile(r"Customer credit\s*0\.00 USD\s*50\.00 USD\s*0\.00 USD")
    )

    # A bounced cheque: the customer owes it again.
    dialog(page).get_by_label("Reason").select_option(label="Bounced")
    expect(owes_again).to_be_checked()

    # Back to a customer's request, and confirm with the credit note.
    dialog(page).get_by_label("Reason").select_option(label="Requested by customer")
    expect(credit_note).to_be_checked()
    expect(destinations).to_have_count(1)
    dialog(page).get_by_role("button", name="Refund", exact=True).click()
    expect(dialog(page)).to_have_count(0)

    expect(page.locator("#payment-refunds")).to_contain_text("50.00 USD")
    expect(page.locator("#payment-refunds")).to_contain_text("With credit note")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.amount_credited == Money("50.00", "USD")
    [refund] = Refund.objects.filter(payment=payment)
    assert (refund.destination, refund.amount) == ("external", Money("50.00", "USD"))
