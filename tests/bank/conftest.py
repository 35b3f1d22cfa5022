"""The invoices the hand-written statements in tests/data/bank/ speak of.

Each is issued through the real services, then given the number the files use
(numbers are given at issue from the year's counter, and the files are fixed).
"""

from pathlib import Path

import pytest

from billing.models import Invoice
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

DATA = Path(__file__).resolve().parent.parent / "data" / "bank"
FORMATS = {
    "camt053": ("statement.camt053.xml", "overlap.camt053.xml"),
    "mt940": ("statement.mt940", "overlap.mt940"),
    "ofx": ("statement.ofx", "overlap.ofx"),
    "csv": ("statement.csv", "overlap.csv"),
}


def read(name):
    return (DATA / name).read_bytes()


def numbered(invoice, number):
    Invoice.objects.filter(pk=invoice.pk).update(number=number)
    invoice.refresh_from_db()
    return invoice


@pytest.fixture
def invoices(manager):
    """A-E of the files: 101 Acme 100 EUR, 102 Blue Fox 250 EUR, 103 Cedar 80
    EUR, 104 Delta 40 USD, 105 Elm 60 EUR."""
    made = {}
    for key, (name, currency, amount) in {
        "A": ("Acme Trading BV", "EUR", "100.00"),
        "B": ("Blue Fox Ltd", "EUR", "250.00"),
        "C": ("Cedar & Co", "EUR", "80.00"),
        "D": ("Delta Inc", "USD", "40.00"),
        "E": ("Elm Studio", "EUR", "60.00"),
    }.items():
        customer = CustomerFactory(name=name, currency=currency)
        invoice = issued_invoice(customer, manager, amount)
        made[key] = numbered(invoice, f"INV-2026-00010{'ABCDE'.index(key) + 1}")
    return made


# The signed-in clients of the back office's view tests.
from tests.billing.views.conftest import clerk_client, staff_client  # noqa: E402, F401


def bank_counts():
    """The money records' counts (tests.helpers.record_counts) and every bank
    line's state, evidence and actors: what a refused action must leave as it was."""
    from bank.models import LinePayment, Statement, StatementLine
    from tests.helpers import record_counts

    lines = StatementLine.objects.order_by("pk").values_list(
        "state", "evidence", "match_round", "recorded_by", "ignored_by", "undone_by", "credit_entry"
    )
    return {
        **record_counts(),
        "statements": Statement.objects.count(),
        "links": LinePayment.objects.count(),
        "lines": [repr(line) for line in lines],
    }
