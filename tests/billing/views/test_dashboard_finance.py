"""The finance manager's figures on the dashboard: cash per week (a chart and its
table), overdue by customer, days sales outstanding, a quiet activity feed."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from moneyed import Money

from billing import selectors, services
from billing.models import InvoiceEventKind, Payment, Refund
from tests.billing.views.conftest import count_queries
from tests.factories import CustomerFactory
from tests.helpers import get_ok, invoice_with_card, issued_invoice, pay, refund_to_card, text

pytestmark = pytest.mark.django_db

URL = reverse("billing:dashboard")


def weeks_ago(record, weeks):
    """Move a payment or refund's recorded time ``weeks`` weeks back (the services
    stamp now; a test of history needs the past). Not a money column."""
    moved = timezone.now() - datetime.timedelta(weeks=weeks)
    type(record).objects.filter(pk=record.pk).update(created_at=moved)


def overdue_invoice(customer, actor, amount, days_late, currency=None):
    """An issued invoice ``days_late`` days past its due date."""
    currency = currency or customer.currency
    draft = services.invoice_create(
        customer=customer,
        currency=currency,
        lines=[{"description": "x", "quantity": Decimal(1), "unit_price": Money(amount, currency)}],
        actor=actor,
        due_date=timezone.localdate() - datetime.timedelta(days=days_late),
    )
    return services.invoice_issue(invoice=draft, actor=actor, apply_credit=False)


def test_cash_per_week_counts_money_in_and_out_per_currency_over_thirteen_weeks(manager):
    usd, jpy = CustomerFactory(), CustomerFactory(currency="JPY")
    now = pay(issued_invoice(usd, manager, "100.00"), manager, "100.00")
    old = pay(issued_invoice(usd, manager, "40.00"), manager, "40.00")
    weeks_ago(old, 3)
    too_old = pay(issued_invoice(usd, manager, "7.00"), manager, "7.00")
    weeks_ago(too_old, 13)
    back = services.payment_refund(
        payment=now,
        amount=Money("30.00", "USD"),
        destination="external",
        actor=manager,
        reason="requested_by_customer",
    )
    # A refund to credit keeps the money, and credit applied brings none in.
    services.payment_refund(
        payment=now,
        amount=Money("5.00", "USD"),
        destination="customer_credit",
        actor=manager,
        reason="requested_by_customer",
    )
    services.credit_apply(
        invoice=issued_invoice(usd, manager, "50.00", apply_credit=False), actor=manager
    )
    voided = pay(issued_invoice(usd, manager, "9.00"), manager, "9.00")
    services.payment_void(payment=voided, actor=manager, reason="Never arrived")
    pay(issued_invoice(jpy, manager, "5000"), manager, "5000")

    flows = {flow.currency: flow for flow in selectors.cash_by_week()}

    assert list(flows) == ["JPY", "USD"]
    usd_weeks = flows["USD"].weeks
    assert len(usd_weeks) == 13
    assert usd_weeks[-1].start == selectors.week_start().date()
    assert usd_weeks[0].start == usd_weeks[-1].start - datetime.timedelta(weeks=12)
    assert (usd_weeks[-1].collected, usd_weeks[-1].refunded) == (
        Money("100.00", "USD"),
        back.amount,
    )
    assert usd_weeks[-1].net == Money("70.00", "USD")
    assert usd_weeks[-4].collected == Money("40.00", "USD")
    assert flows["USD"].collected == Money("140.00", "USD")
    assert flows["USD"].net == Money("110.00", "USD")
    assert flows["JPY"].collected == Money("5000", "JPY")
    assert all(week.collected.currency.code == "JPY" for week in flows["JPY"].weeks)


def test_gateway_refunds_count_only_once_succeeded(manager):
    invoice = invoice_with_card(manager)
    charge = services.payment_charge(invoice=invoice, actor=manager)
    refund_to_card(charge, manager, "20.00")
    assert Refund.objects.get().status == "succeeded"
    (flow,) = selectors.cash_by_week()
    assert (flow.collected, flow.refunded) == (Money("100.00", "USD"), Money("20.00", "USD"))


def test_overdue_by_customer_ranks_the_ten_who_owe_most_per_currency(manager):
    customers = [CustomerFactory(name=f"Late {n:02d}") for n in range(12)]
    for n, customer in enumerate(customers):
        overdue_invoice(customer, manager, f"{10 * (n + 1)}.00", 5)
    worst = customers[-1]
    overdue_invoice(worst, manager, "1.00", 45)
    overdue_invoice(worst, manager, "2.00", 75)
    overdue_invoice(worst, manager, "3.00", 120)
    issued_invoice(worst, manager, "500.00")  # not yet due: not overdue
    kwd = CustomerFactory(name="Gulf", currency="KWD")
    overdue_invoice(kwd, manager, "1.250", 40)

    groups = {group["currency"]: group["customers"] for group in selectors.overdue_by_customer()}

    assert list(groups) == ["KWD", "USD"]
    usd = groups["USD"]
    assert [row["name"] for row in usd] == [f"Late {n:02d}" for n in range(11, 1, -1)]
    top = usd[0]
    assert top["overdue"] == Money("126.00", "USD")
    assert top["count"] == 4
    assert top["buckets"] == [
        Money("120.00", "USD"),
        Money("1.00", "USD"),
        Money("2.00", "USD"),
        Money("3.00", "USD"),
    ]
    assert top["days"] == 120
    assert groups["KWD"][0]["buckets"][1] == Money("1.250", "KWD")


def test_days_sales_outstanding_is_receivables_over_ninety_days_of_sales(manager):
    usd, eur = CustomerFactory(), CustomerFactory(currency="EUR")
    pay(issued_invoice(usd, manager, "300.00"), manager, "300.00")
    issued_invoice(usd, manager, "100.00")
    credited = issued_invoice(usd, manager, "200.00")
    services.credit_note_issue(
        invoice=credited, actor=manager, reason="goodwill", reduce_due=Money("100.00", "USD")
    )
    issued_invoice(eur, manager, "50.00")
    rows = selectors.receivables()
    dso = {row["currency"]: row for row in selectors.days_sales_outstanding(receivables=rows)}
    # Outstanding 200.00 of 500.00 invoiced (600.00 less a 100.00 credit note) × 90.
    assert dso["USD"]["invoiced"] == Money("500.00", "USD")
    assert dso["USD"]["days"] == Decimal("36.0")
    assert dso["EUR"]["days"] == Decimal("90.0")
    assert set(dso) == {"USD", "EUR"}


def test_days_sales_outstanding_is_none_without_sales_in_the_period(manager):
    customer = CustomerFactory()
    issued_invoice(customer, manager, "80.00")
    rows = selectors.receivables()
    later = timezone.localdate() + datetime.timedelta(days=200)
    (dso,) = selectors.days_sales_outstanding(receivables=rows, today=later)
    assert dso["days"] is None


def test_the_feed_leaves_out_the_steps_between(manager):
    invoice = invoice_with_card(manager)
    services.payment_charge(invoice=invoice, actor=manager)
    kinds = [event.kind for event in selectors.recent_events()]
    assert InvoiceEventKind.PAYMENT_SUCCEEDED in kinds
    assert InvoiceEventKind.PAYMENT_PENDING not in kinds
    assert invoice.events.filter(kind=InvoiceEventKind.PAYMENT_PENDING).exists()


def test_the_dashboard_draws_the_cash_chart_with_its_table(staff_client, manager):
    customer = CustomerFactory(name="Acme Corporation")
    payment = pay(issued_invoice(customer, manager, "1250.00"), manager, "1250.00")
    weeks_ago(payment, 2)
    overdue_invoice(customer, manager, "80.00", 40)
    response = get_ok(staff_client, URL)
    content = response.content.decode()
    page = text(response)
    assert "Cash collected" in page
    assert 'class="chart"' in content
    assert len(re.findall(r'<rect class="chart-collected"', content)) == 13
    assert "USD: 1,250.00 USD collected, 0.00 USD refunded, 1,250.00 USD net" in page
    assert "13 weeks 1,250.00 USD 0.00 USD 1,250.00 USD" in page
    assert "Overdue by customer" in page
    assert "Acme Corporation 1 0.00 USD 80.00 USD 0.00 USD 0.00 USD 80.00 USD" in page
    assert "DSO" in page and "days" in page
    # A strict CSP: no inline styles or scripts anywhere in the page.
    assert "style=" not in content
    assert "<script>" not in content


def test_the_dashboard_says_so_when_there_is_nothing_yet(staff_client):
    page = text(get_ok(staff_client, URL))
    assert "No money collected or refunded in these weeks." in page
    assert "Nothing is overdue." in page


def test_the_dashboard_query_count_does_not_grow_with_weeks_customers_or_currencies(
    staff_client, manager
):
    customer = CustomerFactory()
    pay(issued_invoice(customer, manager, "100.00"), manager, "10.00")
    overdue_invoice(customer, manager, "5.00", 10)
    few = count_queries(staff_client, URL)
    for n in range(12):
        other = CustomerFactory(currency=("EUR", "JPY", "KWD")[n % 3])
        payment = pay(issued_invoice(other, manager, "100"), manager, "100")
        weeks_ago(payment, n)
        overdue_invoice(other, manager, "10", 10 * n + 1)
        refund = services.payment_refund(
            payment=payment,
            amount=Money("1", other.currency),
            destination="external",
            actor=manager,
            reason="requested_by_customer",
        )
        weeks_ago(refund, n)
    assert Payment.objects.count() == 13
    assert count_queries(staff_client, URL) == few
