"""The finance manager's dashboard and the invoice page's "Take payment" dialog
in a real browser (issue 10): the charts render beside their tables, and each
source of money (a saved card, customer credit, money paid outside) loads its
own form into the one dialog and takes the payment. The page fixture saves each
journey's end as a screenshot (tests/browser/conftest.py, test-artifacts/)."""

import datetime

import pytest
from django.utils import timezone
from moneyed import Money
from playwright.sync_api import expect

from billing import services
from billing.models import Invoice, Payment
from billing.selectors import customer_credit
from tests.browser.conftest import sign_in, take_payment
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, saved_card

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_dashboard_draws_its_charts_beside_their_tables(page, manager):
    usd, jpy = CustomerFactory(name="Acme Corporation"), CustomerFactory(currency="JPY")
    for weeks_back, amount in ((0, "400.00"), (2, "250.00"), (5, "900.00")):
        payment = pay(issued_invoice(usd, manager, amount), manager, amount)
        moved = timezone.now() - datetime.timedelta(weeks=weeks_back)
        Payment.objects.filter(pk=payment.pk).update(created_at=moved)
    pay(issued_invoice(jpy, manager, "48000"), manager, "48000")
    late = services.invoice_create(
        customer=usd,
        currency="USD",
        lines=[{"description": "x", "quantity": 1, "unit_price": Money("80.00", "USD")}],
        actor=manager,
        due_date=timezone.localdate() - datetime.timedelta(days=40),
    )
    services.invoice_issue(invoice=late, actor=manager)
    sign_in(page, "manager")

    cash = page.locator("#cash")
    charts = cash.locator("svg.chart")
    expect(charts).to_have_count(2)  # JPY and USD, never added together
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    expect(charts.last.locator("rect.chart-collected")).to_have_count(13)
    usd_table = cash.locator('table.cash-table[data-currency="USD"]')
    expect(usd_table.locator("tbody tr")).to_have_count(13)
    expect(usd_table.locator("tfoot")).to_contain_text("1,550.00 USD")
    expect(cash).to_contain_text("USD: 1,550.00 USD collected")
    overdue = page.locator('#overdue-customers table[data-currency="USD"]')
    expect(overdue).to_contain_text("Acme Corporation")
    expect(overdue).to_contain_text("80.00 USD")
    receivables = page.locator('section[aria-labelledby="receivables-title"]')
    expect(receivables.locator("tbody tr", has_text="USD")).to_contain_text("days")  # DSO


def test_take_payment_from_credit_then_outside_then_the_saved_card(page, clerk, manager):
    customer = CustomerFactory(name="Acme Corporation")
    saved_card(customer, manager, last4="4242")
    invoice = issued_invoice(customer, manager, "100.00")
    services.balance_adjust(
        customer=customer, amount=Money("30.00", "USD"), reason="Goodwill", actor=manager
    )
    sign_in(page, "clerk")
    page.goto(f"/invoices/{invoice.pk}/")
    for gone in ("Record payment", "Charge", "Apply credit"):
        expect(page.get_by_role("link", name=gone, exact=True)).to_have_count(0)
    due = page.locator("#totals .totals-due dd")

    # Customer credit: offered since the customer has USD credit.
    dialog = take_payment(page, "Customer credit")
    expect(dialog.get_by_label("Saved card")).not_to_be_checked()
    expect(dialog.get_by_label("Amount", exact=True)).to_have_value("30.00")
    dialog.get_by_role("button", name="Apply credit").click()
    expect(dialog).to_have_count(0)
    expect(due).to_have_text("70.00 USD")
    assert customer_credit(customer=customer, currency="USD") == Money("0.00", "USD")

    # Paid outside: the form follows the choice (the record form's fields).
    dialog = take_payment(page, "Paid outside")
    expect(dialog.get_by_label("Customer credit")).to_have_count(0)  # none left
    expect(dialog.get_by_label("Amount", exact=True)).to_have_value("70.00")
    dialog.get_by_label("Amount", exact=True).fill("20.00")
    dialog.get_by_label("Method").select_option(label="Cash")
    dialog.get_by_role("button", name="Record payment").click()
    expect(dialog).to_have_count(0)
    expect(due).to_have_text("50.00 USD")

    # The saved card: chosen first when the dialog opens.
    page.get_by_role("link", name="Take payment").click()
    dialog = page.locator("dialog#modal-dialog")
    expect(dialog.get_by_label("Saved card")).to_be_checked()
    expect(dialog.get_by_label("Amount", exact=True)).to_have_value("50.00")
    expect(dialog).to_contain_text("4242")
    dialog.get_by_role("button", name="Charge", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(due).to_have_text("0.00 USD")
    expect(page.get_by_role("link", name="Take payment")).to_have_count(0)
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    methods = sorted(invoice.payments.values_list("method", flat=True))
    assert methods == ["cash", "customer_credit", "saved_method"]
