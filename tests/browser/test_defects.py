"""The defects of issue 10 that live in the browser: the header on a phone,
focus after a modal, the credit ledger at a laptop's width. Each measures what a
person sees (widths, the focused element) rather than the markup."""

import pytest
from moneyed import Money
from playwright.sync_api import expect

from billing import services
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db(transaction=True)

# The widest the page may be: no sideways scrolling.
PAGE_WIDTH = "document.documentElement.scrollWidth"
# What sticks out past a phone's width outside any scrolling box: named when the
# width check fails.
STICKING_OUT = """
[...document.querySelectorAll("body *")].filter((e) => {
  if (e.getBoundingClientRect().right <= 391) return false;
  for (let a = e.parentElement; a; a = a.parentElement) {
    if (["auto", "hidden", "scroll"].includes(getComputedStyle(a).overflowX)) return false;
  }
  return true;
}).slice(0, 8).map((e) => `${e.tagName}.${e.className}#${e.id}`)
"""


def test_on_a_phone_the_header_wraps_and_nothing_scrolls_sideways(page, manager):
    invoice = issued_invoice(CustomerFactory(name="Bäckerei Müller GmbH"), manager, "1250.00")
    pay(invoice, manager, "250.00", method="bank_transfer", details={"bank_reference": "TRF-1"})
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "manager")
    for path in ("/", "/invoices/", "/payments/", f"/invoices/{invoice.pk}/"):
        page.goto(path)
        assert page.evaluate(PAGE_WIDTH) <= 390, (path, page.evaluate(STICKING_OUT))
        for name in ("Dashboard", "Invoices", "Customers", "Payments", "Credit notes"):
            link = page.get_by_role("navigation", name="Main").get_by_role("link", name=name)
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, name, box)
        sign_out = page.get_by_role("button", name="Sign out")
        box = sign_out.bounding_box()
        assert box and box["x"] + box["width"] <= 390, (path, box)
    # The screenshot the fixture saves is the invoice page at the phone's width.


def paid_outside(dialog):
    """Choose "Paid outside" in the open Take payment dialog and wait for the
    record form it loads."""
    choice = dialog.get_by_label("Paid outside")
    choice.check()
    dialog.locator(f'form#modal-form[hx-post="{choice.get_attribute("hx-get")}"]').wait_for()


def test_after_a_modal_focus_returns_to_its_button_or_the_region_that_changed(page, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    sign_in(page, "manager")
    page.goto(f"/invoices/{invoice.pk}/")

    take = page.get_by_role("link", name="Take payment")
    take.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#modal-dialog")
    expect(dialog).to_be_visible()
    paid_outside(dialog)
    page.get_by_label("Amount", exact=True).fill("40.00")
    page.get_by_role("button", name="Record payment").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#totals .totals-due dd")).to_have_text("60.00 USD")
    page.wait_for_load_state("networkidle")
    # The header was fetched again: focus is on the new "Take payment" link.
    expect(page.get_by_role("link", name="Take payment")).to_be_focused()

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    paid_outside(dialog)
    page.get_by_role("button", name="Record payment").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#invoice-header")).to_contain_text("Paid")
    page.wait_for_load_state("networkidle")
    # Paid: the button is gone, so the region it was in has the focus.
    expect(page.locator("#invoice-header")).to_be_focused()
    assert page.evaluate("document.activeElement !== document.body")


def test_the_credit_ledger_fits_a_laptop_and_shows_a_refund_s_notes(page, manager):
    customer = CustomerFactory(name="Gulf Logistics WLL", currency="KWD")
    invoice = issued_invoice(customer, manager, "99999.125")
    payment = pay(invoice, manager, "99999.125", method="cheque", details={"cheque_number": "1"})
    services.payment_refund(
        payment=payment,
        amount=Money("12345.125", "KWD"),
        destination="customer_credit",
        actor=manager,
        reason="requested_by_customer",
        notes="Kept as credit for the spring order",
    )
    services.credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        to_credit=Money("1000.000", "KWD"),
    )
    services.balance_adjust(
        customer=customer,
        amount=Money("-10.000", "KWD"),
        actor=manager,
        reason="Bank charges the customer agreed to carry, per the e-mail of March",
    )
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, "manager")
    page.goto(f"/customers/{customer.pk}/")
    ledger = page.locator("#ledger")
    expect(ledger).to_contain_text("Kept as credit for the spring order")
    assert page.evaluate(PAGE_WIDTH) <= 1366
    widths = ledger.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], widths
