"""create_customer and create_invoice: a customer and a draft from a shell."""

from decimal import Decimal

import pytest

from billing.models import Customer, Invoice, InvoiceStatus
from tests.billing.commands._cli import ok, shell

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_actor_in_the_environment(monkeypatch):
    monkeypatch.delenv("BILLING_ACTOR", raising=False)


@pytest.mark.parametrize("name", ["create_customer", "create_invoice"])
def test_each_helps_with_an_example_and_the_common_options(name):
    run = ok(name, "--help")
    assert f"example:\n  manage.py {name} " in run.out
    for option in ("--actor", "--json", "--idempotency-key"):
        assert option in run.out


def test_a_customer_then_a_draft_then_issued(manager):
    run = ok(
        "create_customer",
        "Acme Trading BV",
        "--currency",
        "eur",
        "--external-ref",
        "crm-881",
        "--actor",
        "manager",
        "--json",
    )
    customer = Customer.objects.get()
    assert run.json["customer"]["id"] == customer.pk
    assert (customer.currency, customer.created_by) == ("EUR", manager)

    run = ok(
        "create_invoice",
        "crm-881",
        "--line",
        "Seats",
        "4",
        "120.00",
        "21",
        "--line",
        "Setup",
        "1",
        "50.00",
        "--actor",
        "manager",
        "--json",
    )
    invoice = Invoice.objects.get()
    assert invoice.status == InvoiceStatus.DRAFT and invoice.created_by == manager
    assert run.json["invoice"]["total"] == "630.80"  # 480.00 + 100.80 tax + 50.00
    assert invoice.total.amount == Decimal("630.80")
    ok("issue_invoice", invoice.pk, "--actor", "manager")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_the_same_key_creates_once(manager):
    argv = ("create_customer", "Once", "--currency", "USD", "--actor", "manager")
    first = ok(*argv, "--idempotency-key", "k1", "--json")
    again = ok(*argv, "--idempotency-key", "k1", "--json")
    assert first.json == again.json
    assert Customer.objects.count() == 1


def test_refusals_write_nothing(manager, nobody):
    ok("create_customer", "Acme", "--currency", "EUR", "--external-ref", "x", "--actor", "manager")
    customers = list(Customer.objects.values_list("pk", flat=True))
    for argv, code in (
        (("create_customer", " ", "--currency", "EUR"), "invalid_value"),
        (("create_customer", "B", "--currency", "EURO"), "invalid_value"),
        (("create_customer", "B", "--currency", "EUR", "--external-ref", "x"), "invalid_value"),
        (("create_invoice", "x", "--line", "Seats", "1"), "invalid_value"),
        (("create_invoice", "x", "--line", "Seats", "1", "1.005"), "invalid_amount"),
        (("create_invoice", "x", "--line", "Seats", "0", "1.00"), "invalid_value"),
        (("create_invoice", "nobody", "--line", "Seats", "1", "1.00"), "invalid_value"),
        (("create_invoice", "x", "--line", "A", "1", "1", "--due-date", "2026-13-01"), None),
    ):
        run = shell(*argv, "--actor", "manager")
        if code:
            run.refused(code)
        else:
            assert run.status == 1, run.err
    shell("create_customer", "C", "--currency", "EUR", "--actor", "nobody").refused(
        "permission_denied"
    )
    assert list(Customer.objects.values_list("pk", flat=True)) == customers
    assert Invoice.objects.count() == 0
