"""Payment schedules under concurrency on PostgreSQL: payments naming the same
instalment at once never over-allocate it, and a schedule set while payments
arrive leaves every payment allocated."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from moneyed import Money

from billing import permissions, services
from billing.errors import BillingError
from billing.integrity import find_disagreements
from billing.models import Allocation, Instalment
from billing.services.schedules import monthly_due_dates
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12


@pytest.fixture
def boss(transactional_db):
    user = get_user_model().objects.create_user("boss", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=permissions.MANAGER))
    return user


def scheduled(actor, total="90.00", count=3):
    invoice = issued_invoice(CustomerFactory(), actor, total)
    instalments = services.schedule_set(
        invoice=invoice,
        actor=actor,
        split="equal",
        due_dates=monthly_due_dates(datetime.date.today(), count),
    )
    return invoice, instalments


def test_two_payments_naming_the_same_instalment_never_over_allocate_it(boss):
    invoice, (_, second, _) = scheduled(boss)

    def work(i):
        return pay(invoice, boss, "30.00", instalments=[second.pk])

    results, errors = run_together(2, work)
    # The first pays the second part; the other finds it paid.
    assert len(results) == 1, errors
    assert [e.code for e in errors.values()] == ["instalment_already_paid"]
    second.refresh_from_db()
    assert second.amount_paid == Money("30.00", "USD")
    assert Allocation.objects.get().instalment_id == second.pk
    assert find_disagreements() == []


def test_many_payments_naming_one_instalment_at_once(boss):
    invoice, (_, second, _) = scheduled(boss)

    def work(i):
        return pay(invoice, boss, "7.00", instalments=[second.pk])

    results, errors = run_together(THREADS, work)
    for error in errors.values():
        assert isinstance(error, BillingError) and error.code in (
            "instalment_already_paid",
            "overpayment",
        ), repr(error)
    parts = list(Instalment.objects.filter(invoice=invoice).order_by("sequence"))
    assert all(p.amount_paid <= p.amount for p in parts)
    # 30 / 7: four payments fill 28 of it, the fifth ends it and spills 5 onto the first.
    assert len(results) == 5
    assert parts[1].amount_paid == Money("30.00", "USD")
    assert parts[0].amount_paid == Money("5.00", "USD")
    assert find_disagreements() == []


def test_payments_racing_a_first_schedule_are_all_allocated(boss):
    invoice = issued_invoice(CustomerFactory(), boss, "120.00")

    def work(i):
        if i == 0:
            return services.schedule_set(
                invoice=invoice,
                actor=boss,
                split="equal",
                due_dates=monthly_due_dates(datetime.date.today(), 4),
            )
        return pay(invoice, boss, "10.00")

    _, errors = run_together(8, work)
    assert not errors, errors
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("70.00", "USD")
    paid = sum(
        (i.amount_paid.amount for i in Instalment.objects.filter(invoice=invoice)), Decimal(0)
    )
    assert paid == Decimal("70.00")
    assert find_disagreements() == []
