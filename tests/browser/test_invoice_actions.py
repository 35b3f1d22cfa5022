"""The invoice lifecycle and credit note actions in a real browser: a new draft
found by typing its customer's name, one with "Add line", issue with credit, issue
and charge with a declined card, the credit note's live preview, apply credit,
void."""

import re

import pytest
from moneyed import Money
from playwright.sync_api import expect

from billing import services
from billing.models import CreditNote, Invoice
from tests.browser.conftest import sign_in, take_payment
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, saved_card

pytestmark = pytest.mark.django_db(transaction=True)


def dialog(page):
    return page.locator("dialog#modal-dialog")


def test_a_new_draft_with_an_extra_line_then_issued_with_credit(page, manager):
    customer = CustomerFactory(name="Yamada KK", currency="JPY")
    services.balance_adjust(
        customer=customer, amount=Money("5000", "JPY"), actor=manager, reason="goodwill"
    )
    sign_in(page, "manager")
    page.goto(f"/customers/{customer.pk}/")

    page.get_by_role("link", name="New invoice").click()
    expect(dialog(page).get_by_label("Currency", exact=True)).to_have_value("JPY")
    dialog(page).get_by_label("Description, line 1").fill("Seats")
    dialog(page).get_by_label("Quantity, line 1").fill("4")
    dialog(page).get_by_label("Unit price, line 1").fill("12000")
    for number in (2, 3):
        dialog(page).get_by_label(f"Description, line {number}").fill(f"Extra {number}")
        dialog(page).get_by_label(f"Unit price, line {number}").fill("1000")
    dialog(page).get_by_role("button", name="Add line").click()
    expect(dialog(page).get_by_label("Description, line 4")).to_be_visible()
    expect(dialog(page).get_by_label("Description, line 1")).to_have_value("Seats")
    dialog(page).get_by_label("Description, line 4").fill("Setup")
    dialog(page).get_by_label("Unit price, line 4").fill("500")
    dialog(page).get_by_label("Tax rate %, line 4").fill("10")
    dialog(page).get_by_role("button", name="Create draft").click()

    expect(page).to_have_url(re.compile(r"/invoices/\d+/$"))
    draft = Invoice.objects.get()
    assert page.url.endswith(f"/invoices/{draft.pk}/")
    expect(page.locator(".messages")).to_contain_text(f"Created {draft}")
    expect(page.locator("#lines")).to_contain_text("Setup")
    expect(page.locator("#totals")).to_contain_text("50,550 JPY")

    page.locator("#invoice-header").get_by_role("link", name="Issue", exact=True).click()
    expect(dialog(page)).to_contain_text("5,000 JPY of credit")
    expect(dialog(page).get_by_label("Apply customer credit")).to_be_checked()
    dialog(page).get_by_role("button", name="Issue", exact=True).click()
    expect(dialog(page)).to_have_count(0)
    draft.refresh_from_db()
    expect(page.get_by_role("heading", level=1)).to_contain_text(draft.number)
    expect(page.locator("#totals .totals-due dd")).to_have_text("45,550 JPY")
    expect(page.locator("#toasts")).to_contain_text("5,000 JPY was paid from customer credit")


def test_a_new_draft_finds_its_customer_by_typing(page, manager):
    CustomerFactory(name="Globex US")
    asia = CustomerFactory(name="Globex Asia", currency="EUR")
    CustomerFactory(name="Initech")
    sign_in(page, "manager")
    page.goto("/invoices/")

    page.get_by_role("link", name="New invoice").click()
    search = dialog(page).get_by_label("Customer", exact=True)
    expect(search).to_be_focused()  # the dialog is open, on the search
    expect(dialog(page).get_by_role("radio")).to_have_count(0)
    search.press_sequentially("glob", delay=30)
    expect(search).to_have_value("glob")
    expect(dialog(page).get_by_role("radio")).to_have_count(2)
    dialog(page).get_by_label("Globex Asia").check()
    dialog(page).get_by_label("Description, line 1").fill("Audit")
    dialog(page).get_by_label("Unit price, line 1").fill("250")
    dialog(page).get_by_role("button", name="Create draft").click()

    expect(page).to_have_url(re.compile(r"/invoices/\d+/$"))
    draft = Invoice.objects.get()
    assert draft.customer == asia and draft.currency == "EUR"
    expect(page.locator("#totals")).to_contain_text("250.00 EUR")


def test_issue_and_charge_with_a_declined_card_leaves_the_invoice_issued(page, clerk):
    customer = CustomerFactory()
    saved_card(customer, clerk, "sandbox_declined", last4="0002")
    draft = services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "Plan", "quantity": 1, "unit_price": Money("80.00", "USD")}],
        actor=clerk,
    )
    sign_in(page, "clerk")
    page.goto(f"/invoices/{draft.pk}/")

    page.get_by_role("link", name="Issue and charge").click()
    expect(dialog(page)).to_contain_text("Visa •••• 0002")
    expect(dialog(page)).to_contain_text("80.00 USD")
    dialog(page).get_by_role("button", name="Issue and charge").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#toasts .toast--warning")).to_contain_text(
        "the charge was declined: Your card was declined."
    )
    draft.refresh_from_db()
    assert draft.status == "open"
    expect(page.locator("#invoice-header")).to_contain_text(draft.number)
    expect(page.locator("#payments")).to_contain_text("Your card was declined.")


def test_a_credit_note_previews_its_effect_as_it_is_typed(page, manager):
    invoice = issued_invoice(CustomerFactory(currency="KWD"), manager, "375.125")
    pay(invoice, manager, "100", method="cheque", details={"cheque_number": "77"})
    sign_in(page, "manager")
    page.goto(f"/invoices/{invoice.pk}/")

    page.get_by_role("link", name="Issue credit note").click()
    dialog(page).get_by_label("Reason", exact=True).select_option(label="Order change")
    dialog(page).get_by_label("Reduce what is due", exact=True).fill("75.125")
    dialog(page).get_by_label("Move to customer credit", exact=True).fill("20")
    dialog(page).get_by_label("Notes", exact=True).click()  # leaving the field previews
    preview = dialog(page).locator(".preview")
    expect(preview).to_contain_text("After this credit note")
    expect(preview.locator("tr", has_text="Due")).to_contain_text("200.000 KWD")
    expect(preview.locator("tr", has_text="Customer credit")).to_contain_text("20.000 KWD")
    assert not CreditNote.objects.exists()

    dialog(page).get_by_label("Notes", exact=True).fill("Two seats fewer")
    dialog(page).get_by_role("button", name="Confirm").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#credit-notes")).to_contain_text("Order change")
    expect(page.locator("#totals .totals-due dd")).to_have_text("200.000 KWD")
    note = CreditNote.objects.get()
    assert note.total == Money("95.125", "KWD") and note.memo == "Two seats fewer"


def test_apply_credit_then_void_another_invoice(page, manager):
    customer = CustomerFactory()
    services.balance_adjust(
        customer=customer, amount=Money("30.00", "USD"), actor=manager, reason="goodwill"
    )
    invoice = issued_invoice(customer, manager, "100.00", apply_credit=False)
    sign_in(page, "manager")
    page.goto(f"/invoices/{invoice.pk}/")

    take_payment(page, "Customer credit")
    amount = dialog(page).get_by_label("Amount", exact=True)
    expect(amount).to_have_value("30.00")
    amount.fill("25.00")
    dialog(page).get_by_role("button", name="Apply credit").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#totals .totals-due dd")).to_have_text("75.00 USD")

    other = issued_invoice(customer, manager, "10.00", apply_credit=False)
    page.goto(f"/invoices/{other.pk}/")
    page.get_by_role("link", name="Void invoice").click()
    reason = dialog(page).get_by_label("Reason", exact=True)
    expect(reason).to_have_attribute("required", "")  # the browser asks for it first
    reason.fill("Sent twice")
    dialog(page).get_by_role("button", name="Void invoice").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#invoice-header")).to_contain_text("Void")
