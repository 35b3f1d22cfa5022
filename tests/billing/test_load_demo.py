"""`manage.py load_demo`: what `make run` shows a newcomer."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from billing import selectors
from billing.integrity import find_disagreements
from billing.models import (
    BalanceEntry,
    CreditNote,
    Customer,
    Invoice,
    Payment,
    PaymentMethod,
    Refund,
)

pytestmark = pytest.mark.django_db


def test_demo_data_covers_every_status_in_four_currencies_and_loads_once():
    call_command("load_demo", stdout=io.StringIO())
    counts = {
        model: model.objects.count()
        for model in (Customer, Invoice, Payment, Refund, CreditNote, BalanceEntry, PaymentMethod)
    }

    out = io.StringIO()
    call_command("load_demo", stdout=out)

    assert {model: model.objects.count() for model in counts} == counts
    assert "admin" in out.getvalue()
    assert get_user_model().objects.get(username="admin").is_superuser
    for currency in ("USD", "EUR", "JPY", "KWD"):
        statuses = set(Invoice.objects.filter(currency=currency).values_list("status", flat=True))
        assert statuses == {"draft", "open", "partially_paid", "paid", "void"}, currency
    assert Payment.objects.filter(method="saved_method", status="succeeded").exists()
    assert Payment.objects.filter(method="saved_method", status="failed").exists()
    assert Refund.objects.exists() and CreditNote.objects.exists()
    assert BalanceEntry.objects.filter(kind="overpayment").exists()
    assert not PaymentMethod.objects.exclude(gateway="sandbox").exists()
    assert find_disagreements() == []
    # The dashboard has something to show: twelve weeks of history before this
    # one, per currency, and something overdue in every ageing bucket.
    for flow in selectors.cash_by_week():
        assert all(week.collected.amount > 0 for week in flow.weeks), flow.currency
        assert flow.refunded.amount > 0, flow.currency
    for row in selectors.receivables():
        assert all(bucket["amount"].amount > 0 for bucket in row["buckets"]), row["currency"]
    overdue = selectors.overdue_by_customer()
    assert [len(group["customers"]) for group in overdue] == [1, 1, 1, 1]
    numbers = Invoice.objects.filter(number__isnull=False).order_by("number")
    dates = list(numbers.values_list("issue_date", flat=True))
    assert dates == sorted(dates), "invoice numbers follow their issue dates"
