"""The journeys billing staff make, in a real browser (Chromium through Playwright).

Each journey acts only through the page, then checks both what the page shows and
what the database holds. The end state of each is saved as a screenshot
(tests/browser/conftest.py).
"""

import re

import pytest
from moneyed import Money
from playwright.sync_api import expect

from billing.models import Invoice, InvoiceStatus, PaymentStatus, Refund
from billing.selectors import customer_credit
from tests.browser.conftest import sign_in, take_payment
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, saved_card

pytestmark = pytest.mark.django_db(transaction=True)


def usd(amount):
    return Money(amount, "USD")


def open_invoice(page, invoice):
    page.goto(f"/invoices/{invoice.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)


def dialog(page):
    return page.locator("dialog[open]")


def submit(page, name):
    """Press the dialog's submit button and wait until the dialog has gone."""
    dialog(page).get_by_role("button", name=name, exact=True).click()
    expect(dialog(page)).to_have_count(0)


def due(page):
    return page.locator("#totals .totals-due dd")


def status(invoice):
    invoice.refresh_from_db()
    return invoice.status


def test_staff_sign_in_and_land_on_the_dashboard(page, manager):
    sign_in(page, "manager")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.get_by_role("link", name="Invoices")).to_be_visible()


def test_record_a_partial_cheque_payment_then_the_rest(page, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    sign_in(page, "clerk")
    open_invoice(page, invoice)

    take_payment(page, "Paid outside")
    expect(dialog(page).get_by_label("Amount")).to_have_value("100.00")
    dialog(page).get_by_label("Amount").fill("40.00")
    dialog(page).get_by_label("Method").select_option(label="Cheque")
    dialog(page).get_by_label("Cheque number").fill("004512")
    submit(page, "Record payment")

    expect(due(page)).to_have_text("60.00 USD")
    expect(page.locator("#payments")).to_contain_text("004512")
    assert status(invoice) == InvoiceStatus.PARTIALLY_PAID

    take_payment(page, "Paid outside")
    expect(dialog(page).get_by_label("Amount")).to_have_value("60.00")
    dialog(page).get_by_label("Method").select_option(label="Cash")
    submit(page, "Record payment")

    expect(due(page)).to_have_text("0.00 USD")
    assert status(invoice) == InvoiceStatus.PAID
    assert invoice.payments.filter(status=PaymentStatus.SUCCEEDED).count() == 2


def test_overpay_into_customer_credit(page, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    sign_in(page, "clerk")
    open_invoice(page, invoice)

    take_payment(page, "Paid outside")
    dialog(page).get_by_label("Amount").fill("150.00")
    dialog(page).get_by_label("Method").select_option(label="Bank transfer")
    excess = dialog(page).get_by_label(re.compile("excess .*to customer credit"))
    expect(dialog(page)).to_contain_text("50.00 USD")
    excess.check()
    submit(page, "Record payment")

    expect(due(page)).to_have_text("0.00 USD")
    assert status(invoice) == InvoiceStatus.PAID
    assert customer_credit(customer=invoice.customer, currency="USD") == usd("50.00")
    page.goto(f"/customers/{invoice.customer_id}/")
    expect(page.locator("#balances")).to_contain_text("50.00 USD")


def test_refund_part_to_credit_and_part_externally(page, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    pay(invoice, manager, "100.00", method="bank_transfer", details={"bank_reference": "T-1"})
    sign_in(page, "manager")
    open_invoice(page, invoice)

    page.locator("#payments").get_by_role("link", name="Refund").click()
    dialog(page).get_by_label("Amount").fill("30.00")
    # The reason chooses its default (a customer's request: a credit note, which
    # refunds the way the money came); owing it again offers customer credit.
    dialog(page).get_by_label("Reason").select_option(label="Requested by customer")
    expect(
        dialog(page).get_by_label("Also issue a credit note so the invoice stays paid")
    ).to_be_checked()
    dialog(page).get_by_label("The customer owes this again").check()
    dialog(page).get_by_label("To customer credit").check()
    expect(dialog(page).get_by_label("To customer credit")).to_be_checked()
    submit(page, "Refund")
    expect(due(page)).to_have_text("30.00 USD")

    page.locator("#payments").get_by_role("link", name="Refund").click()
    expect(dialog(page).get_by_label("Amount")).to_have_value("70.00")
    dialog(page).get_by_label("Amount").fill("20.00")
    dialog(page).get_by_label("Reason").select_option(label="Duplicate")
    expect(dialog(page).get_by_label("The customer owes this again")).to_be_checked()
    dialog(page).get_by_label("Paid back outside the system").check()
    dialog(page).get_by_label("Reference").fill("Transfer back 2026-11")
    submit(page, "Refund")

    expect(due(page)).to_have_text("50.00 USD")
    refunds = Refund.objects.filter(payment__invoice=invoice).order_by("pk")
    assert [(r.destination, r.amount) for r in refunds] == [
        ("customer_credit", usd("30.00")),
        ("external", usd("20.00")),
    ]
    assert customer_credit(customer=invoice.customer, currency="USD") == usd("30.00")
    expect(page.locator("#timeline")).to_contain_text("Refund")


def test_issue_a_credit_note_after_previewing_its_effect(page, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    sign_in(page, "manager")
    open_invoice(page, invoice)

    page.get_by_role("link", name="Issue credit note").click()
    dialog(page).get_by_label("Reason").select_option(label="Goodwill")
    dialog(page).get_by_label("Reduce what is due").fill("25.00")
    dialog(page).get_by_role("button", name="Preview").click()
    expect(dialog(page)).to_contain_text("75.00 USD")
    assert invoice.credit_notes.count() == 0  # a preview writes nothing
    submit(page, "Confirm")

    expect(due(page)).to_have_text("75.00 USD")
    expect(page.locator("#credit-notes")).to_contain_text("CN-")
    invoice.refresh_from_db()
    assert invoice.amount_credited == usd("25.00")


def test_adjust_a_balance_then_apply_it_to_an_invoice(page, manager):
    customer = CustomerFactory()
    invoice = issued_invoice(customer, manager, "100.00")
    sign_in(page, "manager")
    page.goto(f"/customers/{customer.pk}/")

    page.get_by_role("link", name="Adjust balance").click()
    dialog(page).get_by_label("Amount").fill("40.00")
    dialog(page).get_by_label("Reason").fill("Goodwill for the outage")
    submit(page, "Adjust balance")
    expect(page.locator("#balances")).to_contain_text("40.00 USD")

    page.locator("#balances").get_by_role("link", name="Apply credit").click()
    expect(dialog(page).get_by_label("Invoice")).to_contain_text(invoice.number)
    submit(page, "Apply credit")

    expect(page.locator("#balances")).to_contain_text("0.00 USD")
    invoice.refresh_from_db()
    assert invoice.amount_due == usd("60.00")
    assert customer_credit(customer=customer, currency="USD") == usd("0.00")


def test_charge_a_saved_card_that_is_declined_then_retry(page, clerk):
    customer = CustomerFactory()
    card = saved_card(customer, clerk, "sandbox_declined", last4="0002")
    invoice = issued_invoice(customer, clerk, "100.00")
    sign_in(page, "clerk")
    open_invoice(page, invoice)

    take_payment(page, "Saved card")
    expect(dialog(page)).to_contain_text("0002")
    dialog(page).get_by_role("button", name="Charge", exact=True).click()
    expect(dialog(page)).to_contain_text("Your card was declined.")
    dialog(page).get_by_role("link", name="Cancel").click()
    expect(page.locator("#payments")).to_contain_text("Failed")
    assert status(invoice) == InvoiceStatus.OPEN

    # The customer's bank lifts the block; the next attempt goes through.
    card.token = "sandbox_ok"
    card.save(update_fields=["token"])
    page.locator("#payments").get_by_role("link", name="Retry").click()
    submit(page, "Retry")

    expect(due(page)).to_have_text("0.00 USD")
    assert status(invoice) == InvoiceStatus.PAID
    attempts = list(Invoice.objects.get(pk=invoice.pk).payments.order_by("pk"))
    assert [p.status for p in attempts] == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]
