"""A payment schedule in a real browser: split an invoice in three with the
live preview, pay the second part by name, see the first shown as overdue."""

import datetime

import pytest
from moneyed import Money
from playwright.sync_api import expect

from billing.models import Instalment
from billing.services.schedules import monthly_due_dates
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db(transaction=True)


def test_split_in_three_pay_the_second_part_and_see_the_first_overdue(page, clerk):
    invoice = issued_invoice(CustomerFactory(name="Initech"), clerk, "300.00")
    sign_in(page, "clerk")
    page.goto(f"/invoices/{invoice.pk}/")

    page.get_by_role("link", name="Split into instalments").click()
    dialog = page.locator("dialog#modal-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Number of parts")).to_have_value("3")
    # The first part fell due ten days ago: due dates may lie in the past, as
    # an invoice's may. Each change previews the parts.
    days = monthly_due_dates(datetime.date.today() - datetime.timedelta(days=10), 3)
    for n, day in enumerate(days, start=1):
        dialog.get_by_label(f"Due date, part {n}").fill(day.isoformat())
    dialog.get_by_label("Due date, part 3").blur()
    preview = dialog.locator("#schedule-preview")
    expect(preview).to_contain_text(days[0].isoformat())
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview).to_contain_text("100.00 USD")
    dialog.get_by_role("button", name="Save schedule").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("is due in 3 instalments")

    schedule = page.locator("#schedule")
    part = {n: schedule.locator("tbody tr", has_text=f"Part {n}") for n in (1, 2, 3)}
    expect(part[1]).to_contain_text("Overdue")
    expect(part[2]).not_to_contain_text("Overdue")

    part[2].get_by_role("link", name="Record payment for part 2").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("For part 2 of the schedule")
    expect(dialog.get_by_label("Amount", exact=True)).to_have_value("100.00")
    dialog.get_by_role("button", name="Record payment").click()
    expect(dialog).to_have_count(0)

    expect(part[2]).to_contain_text("Paid")
    expect(part[2].get_by_role("link", name="Record payment for part 2")).to_have_count(0)
    expect(part[1]).to_contain_text("Open")
    expect(part[1]).to_contain_text("Overdue")
    expect(page.locator("#invoice-header")).to_contain_text("Overdue")
    paid = [i.amount_paid for i in Instalment.objects.filter(invoice=invoice)]
    assert paid == [Money("0.00", "USD"), Money("100.00", "USD"), Money("0.00", "USD")]
    # Focus came back to the page, not to <body>.
    assert page.evaluate("document.activeElement !== document.body")
