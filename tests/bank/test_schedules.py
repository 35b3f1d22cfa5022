"""A bank line recorded against a scheduled invoice is allocated to its
instalments, oldest due first, and an undo releases it."""

import datetime
from decimal import Decimal

import pytest

from bank import services
from bank.models import StatementLine
from billing import services as billing
from billing.integrity import find_disagreements
from billing.models import Instalment
from billing.services.schedules import monthly_due_dates
from tests.bank.conftest import read

pytestmark = pytest.mark.django_db


def test_a_bank_line_pays_the_oldest_instalment_and_undo_reopens_it(invoices, manager):
    invoice = invoices["C"]  # 80 EUR; line B1-003 pays 50 of it
    billing.schedule_set(
        invoice=invoice,
        actor=manager,
        split="equal",
        due_dates=monthly_due_dates(datetime.date.today(), 2),
    )
    services.statement_import(data=read("statement.csv"), file_name="s", actor=manager)
    line = StatementLine.objects.get(bank_ref="B1-003")

    line = services.line_confirm(line=line, invoice=invoice, actor=manager)
    paid = list(
        Instalment.objects.filter(invoice=invoice)
        .order_by("sequence")
        .values_list("amount_paid", flat=True)
    )
    assert paid == [Decimal("40.00"), Decimal("10.00")]
    assert find_disagreements() == []

    services.line_undo(line=line, reason="wrong invoice", actor=manager)
    assert all(i.amount_paid.amount == 0 for i in Instalment.objects.filter(invoice=invoice))
    assert find_disagreements() == []
