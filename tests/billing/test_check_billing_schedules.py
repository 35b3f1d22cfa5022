"""check_billing's schedule rules: instalments sum to what the invoice asks for,
and allocations equal the payments they come from."""

import datetime

import pytest
from django.db import connection
from moneyed import Money

from billing import services
from billing.integrity import find_disagreements
from billing.models import Allocation, Instalment, Invoice
from billing.services.schedules import monthly_due_dates
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def execute(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def scheduled(manager):
    """A scheduled invoice through payments, a refund, a void and a credit note,
    in USD, and one in KWD (three decimals)."""
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    services.schedule_set(
        invoice=invoice, actor=manager, split="equal", due_dates=monthly_due_dates(TODAY, 3)
    )
    first = pay(invoice, manager, "50.00")
    mistake = pay(invoice, manager, "5.00")
    services.payment_void(payment=mistake, actor=manager, reason="typo")
    services.payment_refund(
        payment=first,
        amount=Money("10.00", "USD"),
        destination="customer_credit",
        actor=manager,
        reason="duplicate",
    )
    services.credit_note_issue(
        invoice=invoice, actor=manager, reason="goodwill", reduce_due=Money("20.00", "USD")
    )
    kwd = issued_invoice(CustomerFactory(currency="KWD"), manager, "10.000", currency="KWD")
    services.schedule_set(
        invoice=kwd, actor=manager, split="equal", due_dates=monthly_due_dates(TODAY, 3)
    )
    pay(kwd, manager, "4.000")
    return invoice, first, kwd


def test_clean_after_schedules_payments_refunds_voids_and_credit_notes(scheduled):
    assert find_disagreements() == []


def test_an_instalment_changed_breaks_the_sum(scheduled):
    invoice, _, _ = scheduled
    last = Instalment.objects.filter(invoice=invoice).order_by("sequence").last()
    execute(f"UPDATE {Instalment._meta.db_table} SET amount = amount + 1 WHERE id = %s", [last.pk])
    problems = find_disagreements()
    assert problems == [
        f"invoice {invoice.number} (id {invoice.pk}): asks for 80.0000 USD but its "
        "instalments give 81.0000"
    ]


def test_an_allocation_changed_breaks_its_instalment_and_payment(scheduled):
    invoice, first, _ = scheduled
    allocation = Allocation.objects.filter(payment=first).order_by("pk").first()
    execute(
        f"UPDATE {Allocation._meta.db_table} SET amount_released = amount_released + 1 "
        "WHERE id = %s",
        [allocation.pk],
    )
    text = "\n".join(find_disagreements())
    assert f"instalment 1 (id {allocation.instalment_id}) of invoice {invoice.number}" in text
    assert f"payment #{first.pk} of invoice {invoice.number}" in text
    assert "pays 40.0000 USD of its invoice but its allocations give 39.0000" in text


def test_a_kwd_instalment_off_by_a_fils_is_found(scheduled):
    _, _, kwd = scheduled
    first = Instalment.objects.filter(invoice=kwd).order_by("sequence").first()
    execute(
        f"UPDATE {Instalment._meta.db_table} SET amount_paid = amount_paid - 0.001 WHERE id = %s",
        [first.pk],
    )
    assert any(f"(id {first.pk})" in line for line in find_disagreements())


def test_the_schedule_flag_must_match_the_instalments(scheduled):
    invoice, _, _ = scheduled
    execute(
        f"UPDATE {Invoice._meta.db_table} SET has_schedule = %s WHERE id = %s", [False, invoice.pk]
    )
    text = "\n".join(find_disagreements())
    assert f"invoice {invoice.number} (id {invoice.pk}): has_schedule is False" in text
