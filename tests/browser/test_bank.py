"""The Bank page in a real browser: a line split across four invoices, rows
added with "Add another invoice"."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from bank import services
from bank.models import LineState, StatementLine
from billing.models import Payment
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db(transaction=True)

STATEMENT = (
    b"account,bank_reference,booking_date,amount,currency,counterparty_name,remittance\n"
    b"NL91ABNA0417164300,S-1,2026-02-02,100.00,EUR,Someone Else,four invoices\n"
)


def test_splitting_a_line_across_four_invoices(page, manager):
    customer = CustomerFactory(name="Quartet BV", currency="EUR")
    invoices = [issued_invoice(customer, manager, amount) for amount in ("40", "30", "20", "10")]
    services.statement_import(data=STATEMENT, file_name="s.csv", actor=manager)
    line = StatementLine.objects.get()
    assert line.state == LineState.UNMATCHED

    sign_in(page, "manager")
    page.goto("/bank/?state=unmatched")
    page.locator(f"#line-{line.pk}").get_by_role("link", name="Match").click()
    dialog = page.locator("dialog#modal-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Amount, row 1")).to_have_value("100.00")
    expect(dialog.get_by_label("Invoice, row 3")).to_have_count(0)
    assert_accessible(page)

    amounts = ("40.00", "30.00", "20.00", "10.00")
    for row in (1, 2):
        dialog.get_by_label(f"Invoice, row {row}").fill(invoices[row - 1].number)
        dialog.get_by_label(f"Amount, row {row}").fill(amounts[row - 1])
    for row in (3, 4):
        dialog.get_by_role("button", name="Add another invoice").click()
        expect(dialog.get_by_label(f"Invoice, row {row}")).to_be_visible()
        # What was typed comes back with the new row.
        expect(dialog.get_by_label("Invoice, row 1")).to_have_value(invoices[0].number)
        dialog.get_by_label(f"Invoice, row {row}").fill(invoices[row - 1].number)
        dialog.get_by_label(f"Amount, row {row}").fill(amounts[row - 1])
    dialog.get_by_role("button", name="Record").click()

    expect(dialog).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Recorded bank line S-1")
    expect(page.locator("#bank-lines")).not_to_contain_text("S-1")
    line.refresh_from_db()
    assert line.state == LineState.RECORDED
    paid = Payment.objects.filter(bank_link__line=line)
    assert sorted((p.invoice_id, p.amount.amount) for p in paid) == sorted(
        (invoice.pk, Decimal(amount)) for invoice, amount in zip(invoices, amounts, strict=True)
    )
    page.goto("/bank/?state=recorded")
    for invoice in invoices:
        expect(page.locator(f"#line-{line.pk}")).to_contain_text(invoice.number)
