import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from moneyed import Money

from billing import selectors, services
from billing.models import Invoice
from tests.billing.views.conftest import count_queries
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, text

pytestmark = pytest.mark.django_db

URL = reverse("billing:dashboard")
TODAY = datetime.date(2026, 6, 15)  # a Monday


def due_in(customer, actor, amount, days, currency=None):
    """An issued invoice whose due date is ``days`` from TODAY (negative: past)."""
    currency = currency or customer.currency
    draft = services.invoice_create(
        customer=customer,
        currency=currency,
        lines=[{"description": "x", "quantity": Decimal(1), "unit_price": Money(amount, currency)}],
        actor=actor,
    )
    invoice = services.invoice_issue(invoice=draft, actor=actor)
    due = TODAY + datetime.timedelta(days=days)
    Invoice.objects.filter(pk=invoice.pk).update(due_date=due)
    return invoice


def test_receivables_are_per_currency_with_overdue_and_ageing_buckets(clerk):
    usd, kwd = CustomerFactory(), CustomerFactory(currency="KWD")
    due_in(usd, clerk, "100.00", 3)  # current
    due_in(usd, clerk, "10.00", 0)  # due today: current
    due_in(usd, clerk, "20.00", -1)  # 1-30
    due_in(usd, clerk, "30.00", -30)  # 1-30
    due_in(usd, clerk, "40.00", -31)  # 31-60
    due_in(usd, clerk, "50.00", -90)  # 61-90
    late = due_in(usd, clerk, "60.00", -91)  # 90+
    pay(late, clerk, "15.00")
    paid = due_in(usd, clerk, "999.00", -200)
    pay(paid, clerk, "999.00")
    due_in(kwd, clerk, "1.250", -45)
    rows = {row["currency"]: row for row in selectors.receivables(today=TODAY)}
    assert list(rows) == ["KWD", "USD"]
    usd_row = rows["USD"]
    assert usd_row["outstanding"] == Money("295.00", "USD")
    assert usd_row["overdue"] == Money("185.00", "USD")
    assert usd_row["count"] == 7
    assert [b["amount"] for b in usd_row["buckets"]] == [
        Money("110.00", "USD"),
        Money("50.00", "USD"),
        Money("40.00", "USD"),
        Money("50.00", "USD"),
        Money("45.00", "USD"),
    ]
    assert sum(b["percent"] for b in usd_row["buckets"]) in (99, 100, 101)
    assert rows["KWD"]["buckets"][2]["amount"] == Money("1.250", "KWD")


def test_void_and_draft_invoices_are_not_receivable(manager):
    customer = CustomerFactory()
    voided = issued_invoice(customer, manager, "30.00")
    services.invoice_void(invoice=voided, actor=manager, reason="Wrong customer")
    services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "x", "quantity": Decimal(1), "unit_price": Money("5", "USD")}],
        actor=manager,
    )
    assert selectors.receivables() == []


def test_payments_this_week_count_money_received_since_monday_per_currency(manager):
    usd, jpy = CustomerFactory(), CustomerFactory(currency="JPY")
    pay(issued_invoice(usd, manager, "100.00"), manager, "40.00")
    pay(issued_invoice(usd, manager, "100.00"), manager, "60.00")
    pay(issued_invoice(jpy, manager, "5000"), manager, "5000")
    services.balance_adjust(
        customer=usd, amount=Money("5.00", "USD"), actor=manager, reason="Goodwill"
    )
    services.credit_apply(
        invoice=issued_invoice(usd, manager, "50.00", apply_credit=False), actor=manager
    )
    week = {row["amount"].currency.code: row for row in selectors.payments_this_week()}
    assert week["USD"] == {"amount": Money("100.00", "USD"), "count": 2}
    assert week["JPY"] == {"amount": Money("5000", "JPY"), "count": 1}


def test_the_dashboard_shows_totals_ageing_week_and_activity(staff_client, manager):
    customer = CustomerFactory(name="Acme Corporation", currency="JPY")
    invoice = issued_invoice(customer, manager, "48000")
    pay(invoice, manager, "8000")
    page = text(staff_client.get(URL))
    assert "JPY 1 40,000 JPY 0 JPY" in page  # currency, open invoices, outstanding, overdue
    assert "Current" in page and "90+ days" in page
    assert "8,000 JPY 1 payment" in page
    assert f"{invoice.number} Acme Corporation Payment recorded" in page
    assert "manager" in page


def test_the_dashboard_query_count_does_not_grow_with_activity(staff_client, manager):
    customer = CustomerFactory()
    pay(issued_invoice(customer, manager, "100.00"), manager, "1.00")
    few = count_queries(staff_client, URL)
    for _ in range(10):
        pay(issued_invoice(CustomerFactory(currency="EUR"), manager, "100.00"), manager, "1.00")
    assert count_queries(staff_client, URL) == few
