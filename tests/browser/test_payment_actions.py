"""The invoice page's payment actions in a real browser: htmx modals, the
amount's live outcome, method details shown by CSS, a declined charge."""

import pytest
from playwright.sync_api import expect

from billing.models import Payment
from tests.browser.conftest import sign_in, take_payment
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, saved_card

pytestmark = pytest.mark.django_db(transaction=True)


def test_recording_an_overpayment_sends_the_excess_to_credit(page, manager):
    invoice = issued_invoice(CustomerFactory(currency="JPY"), manager, "48000")
    sign_in(page, "manager")
    page.goto(f"/invoices/{invoice.pk}/")

    take_payment(page, "Paid outside")
    dialog = page.locator("dialog#modal-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Amount", exact=True)).to_have_value("48000")

    page.get_by_label("Amount", exact=True).fill("50000")
    excess = page.get_by_label("Send the excess of 2,000 JPY to customer credit")
    expect(excess).to_be_visible()
    excess.check()

    expect(page.get_by_label("Cheque number")).to_be_hidden()
    page.get_by_label("Method").select_option("cheque")
    expect(page.get_by_label("Cheque number")).to_be_visible()
    expect(page.get_by_label("Card brand")).to_be_hidden()
    page.get_by_label("Cheque number").fill("123")
    page.get_by_label("Reference").fill("R-1")
    page.get_by_label("Notes", exact=True).fill("At the desk")
    page.get_by_role("button", name="Record payment").click()

    expect(dialog).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("2,000 JPY went to customer credit")
    expect(page.locator("#payments")).to_contain_text("Cheque #123")
    expect(page.locator("#totals .totals-due dd")).to_have_text("0 JPY")
    assert Payment.objects.get().amount_to_credit.amount == 2000


def test_writing_off_the_rest_of_a_short_payment(page, manager):
    invoice = issued_invoice(CustomerFactory(currency="KWD"), manager, "375.125")
    sign_in(page, "manager")
    page.goto(f"/invoices/{invoice.pk}/")
    take_payment(page, "Paid outside")
    page.get_by_label("Amount", exact=True).fill("375")
    expect(page.locator("#payment-outcome")).to_contain_text("That leaves 0.125 KWD")
    page.get_by_label("Write off the rest").check()
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("dialog#modal-dialog")).to_have_count(0)
    expect(page.locator("#invoice-header")).to_contain_text("Paid")
    expect(page.locator("#credit-notes")).to_contain_text("Write-off")


def test_a_declined_charge_keeps_the_modal_open_and_shows_the_failed_payment(page, manager):
    customer = CustomerFactory(currency="USD")
    saved_card(customer, manager, token="sandbox_declined", last4="0002")
    invoice = issued_invoice(customer, manager, "120.00")
    sign_in(page, "manager")
    page.goto(f"/invoices/{invoice.pk}/")

    take_payment(page, "Saved card")
    expect(page.get_by_label("Amount", exact=True)).to_have_value("120.00")
    page.get_by_role("button", name="Charge").click()

    dialog = page.locator("dialog#modal-dialog")
    expect(dialog).to_contain_text("The charge was declined: Your card was declined.")
    expect(dialog).to_be_visible()
    expect(page.locator("#payments")).to_contain_text("Your card was declined.")
    expect(page.locator("#payments").get_by_role("link", name="Retry")).to_be_visible()
