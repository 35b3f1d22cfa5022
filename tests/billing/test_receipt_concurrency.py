"""Receipt numbers under concurrency on PostgreSQL: gap-free, one per payment."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from billing import permissions, services
from billing.models import Receipt
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


@pytest.fixture
def boss(transactional_db):
    user = get_user_model().objects.create_user("boss", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=permissions.MANAGER))
    return user


def expected_numbers(count):
    year = timezone.localdate().year
    return [f"RCPT-{year}-{n:06d}" for n in range(1, count + 1)]


def test_payments_recorded_together_get_gap_free_receipts(boss):
    # Each commit runs its receipt task at once (tests' ImmediateBackend), so the
    # threads' receipts are numbered together too.
    invoices = [issued_invoice(CustomerFactory(), boss, "100.00") for _ in range(THREADS)]

    results, errors = run_together(THREADS, lambda i: pay(invoices[i], boss, "10.00"))

    assert errors == {}
    receipts = Receipt.objects.order_by("number")
    assert [r.number for r in receipts] == expected_numbers(THREADS)
    assert sorted(r.payment_id for r in receipts) == sorted(p.pk for p in results.values())


def test_asking_together_for_the_same_receipts_makes_each_once(boss, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    invoice = issued_invoice(CustomerFactory(), boss, "1000.00")
    payments = [pay(invoice, boss, "10.00") for _ in range(THREADS // 2)]
    assert not Receipt.objects.exists()  # their tasks wait, unrun

    # Two askers per payment: the worker and a download, say.
    results, errors = run_together(
        THREADS, lambda i: services.receipt_issue(payment=payments[i % len(payments)])
    )

    assert errors == {}
    receipts = Receipt.objects.order_by("number")
    assert [r.number for r in receipts] == expected_numbers(len(payments))
    assert sorted(r.payment_id for r in receipts) == sorted(p.pk for p in payments)
    for i, receipt in results.items():
        assert receipt.payment_id == payments[i % len(payments)].pk
