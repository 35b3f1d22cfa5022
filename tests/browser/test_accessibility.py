"""Readable and usable by everyone: axe-core on every page and dialog with the demo
data (`manage.py load_demo`), the skip link, and focus rings that show.

One walk visits the pages and opens each dialog, collecting axe's reports, and
fails once at the end with all of them, so one run shows everything to fix.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from moneyed import Money
from playwright.sync_api import expect

from billing import services
from billing.models import Customer, Invoice, InvoiceStatus, PaymentStatus
from tests.browser.accessibility import assert_accessible, axe_violations
from tests.browser.conftest import sign_in, take_payment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme():
    """The demo data, with some credit for its first customer (Acme, USD) so that
    the dialogs that spend credit (apply credit, pay out) are offered too."""
    call_command("load_demo", stdout=io.StringIO())
    acme = Customer.objects.get(external_ref="demo-1")
    admin = get_user_model().objects.get(username="admin")
    services.balance_adjust(
        customer=acme, amount=Money("100.00", "USD"), actor=admin, reason="Goodwill"
    )
    return acme


class Walk:
    """Goes from page to page and dialog to dialog, keeping axe's reports."""

    def __init__(self, page):
        self.page = page
        self.reports = []
        self.checked = []

    def check(self, label):
        self.checked.append(label)
        report = axe_violations(self.page, label)
        if report:
            self.reports.append(report)

    def visit(self, url, heading):
        self.page.goto(url)
        expect(self.page.get_by_role("heading", level=1)).to_contain_text(heading)
        self.check(url)

    def dialog(self):
        return self.page.locator("dialog#modal-dialog[open]")

    def open_dialog(self, name, within="main"):
        self.page.locator(within).get_by_role("link", name=name, exact=True).first.click()
        expect(self.dialog()).to_be_visible()
        self.check(f"{self.page.url} dialog {name!r}")
        return self.dialog()

    def close_dialog(self):
        self.page.keyboard.press("Escape")
        expect(self.page.locator("dialog#modal-dialog")).to_have_count(0)

    def dialogs(self, *names, within="main"):
        for name in names:
            self.open_dialog(name, within)
            self.close_dialog()


def test_every_page_and_dialog_passes_axe_with_the_demo_data(page, acme):
    walk = Walk(page)
    invoices = Invoice.objects.filter(customer=acme).order_by("id")
    draft = invoices.filter(status=InvoiceStatus.DRAFT).first()
    unpaid = invoices.filter(status=InvoiceStatus.OPEN, amount_paid=0, amount_credited=0).first()
    # A partly paid invoice with a payment that can still be voided and refunded.
    partly_paid = next(
        invoice
        for invoice in invoices.filter(status=InvoiceStatus.PARTIALLY_PAID)
        if any(p.can_void and p.can_refund for p in invoice.payments.all())
    )
    declined = invoices.filter(payments__status=PaymentStatus.FAILED).first()

    walk.visit("/login/", "Sign in")
    sign_in(page, "admin", "admin")
    walk.visit("/", "Dashboard")
    walk.visit("/invoices/", "Invoices")
    walk.dialogs("New invoice")
    walk.visit("/payments/", "Payments")
    walk.visit("/refunds/", "Refunds")
    walk.visit("/credit-notes/", "Credit notes")
    walk.visit("/customers/", "Customers")
    walk.dialogs("New customer")
    walk.visit("/bank/", "Bank")
    walk.visit("/settings/api-keys/", "API keys")
    walk.visit("/settings/webhooks/", "Webhooks")

    walk.visit(f"/customers/{acme.pk}/", acme.name)
    walk.dialogs("Edit", "Add payment method")
    walk.dialogs("New invoice", "Adjust balance", "Apply credit", "Pay out")

    payment = next(p for p in partly_paid.payments.all() if p.can_refund)
    walk.visit(f"/payments/{payment.pk}/", f"Payment #{payment.pk}")
    walk.visit(f"/invoices/{partly_paid.pk}/", partly_paid.number)
    walk.dialogs("Take payment", "Refund", "Void")
    for source in ("Saved card", "Customer credit", "Paid outside"):
        dialog = take_payment(page, source)
        walk.check(f"take payment: {source}")
        if source != "Paid outside":
            walk.close_dialog()
    dialog.get_by_label("Amount", exact=True).fill("1.00")
    expect(page.locator("#payment-outcome")).to_contain_text("That leaves")
    walk.check("record payment: what is left")
    walk.close_dialog()
    dialog = walk.open_dialog("Issue credit note")
    dialog.get_by_label("Reduce what is due").fill("1.00")
    dialog.get_by_label("Notes", exact=True).click()  # leaving the field previews
    expect(dialog.locator(".preview")).to_contain_text("After this credit note")
    walk.check("credit note: its preview")
    walk.close_dialog()

    walk.visit(f"/invoices/{unpaid.pk}/", unpaid.number)
    dialog = walk.open_dialog("Void invoice")
    dialog.get_by_label("Reason").fill("   ")  # passes the browser's check, not the form's
    dialog.get_by_role("button", name="Void invoice").click()
    expect(dialog.locator(".errorlist")).to_be_visible()
    walk.check("void invoice: refused without a reason")
    walk.close_dialog()
    # A payment schedule: its dialog, its live preview, the page with it.
    dialog = walk.open_dialog("Split into instalments")
    dialog.get_by_label("Number of parts").fill("4")
    dialog.get_by_label("Number of parts").blur()  # leaving the field redraws the parts
    expect(dialog.locator("#schedule-preview tbody tr")).to_have_count(4)
    walk.check("schedule: its preview")
    dialog.get_by_role("button", name="Save schedule").click()
    expect(page.locator("#schedule tbody tr")).to_have_count(4)
    walk.check("invoice page with a schedule")

    walk.visit(f"/invoices/{declined.pk}/", declined.number)
    walk.dialogs("Retry")
    walk.visit(f"/invoices/{draft.pk}/", "Draft")
    walk.dialogs("Edit lines", "Issue", "Issue and charge")

    # Without JavaScript a dialog is a page of its own; and the page for a wrong link.
    page.goto(f"/invoices/{partly_paid.pk}/payments/new/")
    expect(page.get_by_role("dialog", name="Record payment")).to_be_visible()
    walk.check("record payment as a page")
    walk.visit("/invoices/0/", "Not found")

    assert len(walk.checked) == 44
    assert not walk.reports, "\n\n".join(walk.reports)


def test_the_axe_helper_names_the_rule_the_element_and_the_fix(page):
    page.set_content(
        '<html lang="en"><title>t</title><main><h1>t</h1>'
        '<p id="faint" style="color: #aaaaaa">0.00 USD</p></main></html>'
    )

    with pytest.raises(pytest.fail.Exception) as failure:
        assert_accessible(page, "a faint amount")

    report = str(failure.value)
    assert "1 element(s) break 1 rule(s)" in report and "(a faint amount)" in report
    assert "- color-contrast [serious]" in report
    assert "at #faint" in report
    assert "Fix any of the following" in report and "contrast of 2.32" in report


# The focus ring of the focused element and the surface it is drawn on: the first
# opaque background under a point on the ring (the ring is outside the element's
# box: outline-offset 2px, width 2px), ignoring the element itself.
FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2;
  const y = box.top - 3;
  const opaque = (color) => !color.startsWith("rgba") || color.endsWith(", 1)");
  const surface = document.elementsFromPoint(x, Math.max(y, 0)).find(
    (node) => !el.contains(node) && opaque(getComputedStyle(node).backgroundColor)
  );
  return {
    text: el.textContent.trim(),
    color: style.outlineColor,
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    surface: surface ? getComputedStyle(surface).backgroundColor : "rgb(255, 255, 255)",
  };
}"""


def contrast(first, second):
    """WCAG's contrast ratio of two CSS colours "rgb(r, g, b)"."""

    def luminance(color):
        channels = [int(part) / 255 for part in color[color.index("(") + 1 : -1].split(",")[:3]]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def assert_visible_focus(page):
    ring = page.evaluate(FOCUS_RING)
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert contrast(ring["color"], ring["surface"]) >= 3, ring


def test_the_skip_link_is_the_first_tab_stop_and_leads_to_the_main_content(page, manager):
    sign_in(page, "manager")
    page.goto("/invoices/")
    skip = page.get_by_role("link", name="Skip to main content")

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert skip.bounding_box()["width"] > 50  # shown, not a clipped pixel
    assert_visible_focus(page)  # on the dark top bar

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    assert_visible_focus(page)  # on the page

    page.keyboard.press("Shift+Tab")  # back to the top bar's last control
    expect(page.get_by_role("button", name="Sign out")).to_be_focused()
    assert_visible_focus(page)  # on the dark top bar
    assert skip.bounding_box()["width"] <= 1  # hidden again once focus has left
