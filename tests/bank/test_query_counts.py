"""Importing costs a fixed number of queries per batch of lines, plus each
automatic payment's own: the bank side adds no query per line (docs/bank.md,
"What an import costs"; the benchmark, benchmarks/bank_import.py, measures it at
10,000 lines)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bank.models import LineState, StatementLine
from bank.services import BATCH, _record, statement_import
from billing.models import Payment
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db

HEADER = "account,bank_reference,booking_date,amount,currency,counterparty_name,remittance"


def csv(rows):
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def queries(data, actor, name):
    with CaptureQueriesContext(connection) as captured:
        result = statement_import(data=data, file_name=name, actor=actor)
    return len(captured), result


@pytest.fixture
def make_rows(manager):
    """``make_rows(n, run)``: n lines of each kind but the recorded one: a
    reference paying half (suggested), a customer's name paying its due
    (suggested), a stranger (unmatched), a debit (ignored)."""
    made = iter(range(10_000))

    def make(n, run):
        rows = []
        for _ in range(n):
            i = next(made)
            customer = CustomerFactory(name=f"Count Customer {i:04d}", currency="EUR")
            half = issued_invoice(customer, manager, "80.00")
            issued_invoice(customer, manager, "33.00")  # what the line by name pays
            rows += [
                f"NL00COUNT,{run}-h{i},2026-02-02,40.00,EUR,{customer.name},{half.number.lower()}",
                f"NL00COUNT,{run}-n{i},2026-02-02,33.00,EUR,{customer.name},monthly",
                f"NL00COUNT,{run}-s{i},2026-02-02,12.{i % 100:02d},EUR,Stranger {i},gift",
                f"NL00COUNT,{run}-d{i},2026-02-02,-9.99,EUR,,bank fee",
            ]
        return rows

    return make


@pytest.fixture
def paying_rows(manager):
    """``paying_rows(n, run)``: n lines each naming an invoice and paying what it
    asks for (recorded automatically)."""
    made = iter(range(10_000))

    def make(n, run):
        rows = []
        for _ in range(n):
            i = next(made)
            customer = CustomerFactory(name=f"Payer {i:04d}", currency="EUR")
            invoice = issued_invoice(customer, manager, "25.00")
            text = f"Invoice {invoice.number}"
            rows.append(f"NL00COUNT,{run}-p{i},2026-02-02,25.00,EUR,{customer.name},{text}")
        return rows

    return make


def test_lines_not_recorded_cost_no_query_of_their_own(manager, make_rows):
    few, result = queries(csv(make_rows(3, "a")), manager, "few")
    assert (result.suggested, result.unmatched, result.ignored) == (6, 3, 3)
    many, result = queries(csv(make_rows(6, "b")), manager, "many")
    assert (result.suggested, result.unmatched, result.ignored) == (12, 6, 6)
    assert BATCH > 12 * 2  # both files are one batch
    assert many == few


def test_each_recorded_line_costs_the_same_queries_and_the_rest_none(
    manager, make_rows, paying_rows
):
    counts = []
    for n, run in ((2, "a"), (4, "b"), (6, "c")):
        count, result = queries(csv(make_rows(n, run) + paying_rows(n, run)), manager, run)
        assert (result.recorded, result.suggested) == (n, 2 * n)
        counts.append(count)
    per_two_recorded = counts[1] - counts[0]
    assert counts[2] - counts[1] == per_two_recorded  # linear in the recorded lines
    # What two more recorded lines add is what billing's payment service costs
    # for two payments: the bank side adds nothing per line.
    customer = CustomerFactory(name="Alone", currency="EUR")
    invoices = [issued_invoice(customer, manager, "10.00") for _ in range(2)]
    line = StatementLine.objects.filter(state=LineState.SUGGESTED).first()
    with CaptureQueriesContext(connection) as captured:
        for invoice in invoices:
            _record(line, invoice, invoice.payable_now, manager)
    assert Payment.objects.filter(invoice__in=invoices).count() == 2
    assert per_two_recorded == len(captured)
