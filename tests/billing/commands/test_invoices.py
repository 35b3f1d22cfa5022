"""issue_invoice and void_invoice."""

from decimal import Decimal

import pytest
from moneyed import Money

from billing import services
from billing.models import InvoiceEvent, InvoiceStatus
from tests.billing.commands._cli import ok, refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(clerk):
    return services.invoice_create(
        customer=CustomerFactory(),
        currency="USD",
        lines=[{"description": "Work", "quantity": Decimal(1), "unit_price": Money("80", "USD")}],
        actor=clerk,
    )


def test_issue_invoice_numbers_and_opens_a_draft(clerk, draft):
    run = ok("issue_invoice", draft.pk, "--actor=clerk", "--json")
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.OPEN and draft.number
    assert run.json["invoice"]["number"] == draft.number
    assert run.json["invoice"]["amount_due"] == "80.00"


def test_issue_invoice_applies_credit_unless_told_not_to(manager, draft):
    services.balance_adjust(
        customer=draft.customer, amount=Money("30", "USD"), reason="seed", actor=manager
    )
    run = ok("issue_invoice", draft.pk, "--no-credit", "--actor=manager", "--json")
    assert run.json["invoice"]["amount_due"] == "80.00"


def test_issue_invoice_refusals_write_nothing(clerk, nobody, draft):
    refused("permission_denied", "issue_invoice", draft.pk, "--actor=nobody")
    ok("issue_invoice", draft.pk, "--actor=clerk")
    refused("invalid_state", "issue_invoice", draft.pk, "--actor=clerk")


def test_issue_invoice_with_a_key_issues_once(clerk, draft):
    argv = ("issue_invoice", draft.pk, "--actor=clerk", "--idempotency-key=i")
    number = ok(*argv, "--json").json["invoice"]["number"]
    before = record_counts()
    assert ok(*argv, "--json").json["invoice"]["number"] == number
    assert record_counts() == before


def test_void_invoice_voids_an_open_invoice_and_keeps_its_number(manager):
    invoice = issued_invoice(CustomerFactory(), manager)
    run = ok("void_invoice", invoice.number, "--reason=Issued twice", "--actor=manager")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID
    assert f"Voided {invoice.number}." in run.out
    assert InvoiceEvent.objects.get(invoice=invoice, kind="voided").message == "Issued twice"


def test_void_invoice_refusals_write_nothing(manager, clerk):
    invoice = issued_invoice(CustomerFactory(), manager)
    refused("permission_denied", "void_invoice", invoice.number, "--reason=x", "--actor=clerk")
    refused("invalid_value", "void_invoice", invoice.number, "--reason= ", "--actor=manager")
    pay(invoice, manager, "1.00")
    refused("invalid_state", "void_invoice", invoice.number, "--reason=x", "--actor=manager")


def test_void_invoice_with_a_key_voids_once_and_a_rerun_exits_0(manager):
    invoice = issued_invoice(CustomerFactory(), manager)
    argv = ("void_invoice", invoice.number, "--reason=x", "--actor=manager", "--idempotency-key=v")
    ok(*argv)
    before = record_counts()
    assert ok(*argv, "--json").json["invoice"]["status"] == "void"
    assert record_counts() == before
