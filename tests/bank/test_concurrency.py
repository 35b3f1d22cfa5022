"""Bank operations side by side on PostgreSQL: the line's lock makes each happen once."""

import pytest

from bank import services
from bank.models import LineState, StatementLine
from billing.errors import BillingError
from billing.models import Payment
from tests.bank.conftest import read
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def only_billing_errors(errors, *codes):
    for exc in errors.values():
        assert isinstance(exc, BillingError), repr(exc)
        assert exc.code in codes, exc


def test_the_same_file_imported_at_once_stores_and_records_each_line_once(invoices, manager):
    data = read("statement.camt053.xml")

    results, errors = run_together(
        THREADS, lambda i: services.statement_import(data=data, file_name="s", actor=manager)
    )

    only_billing_errors(errors, "idempotency_conflict")
    assert sum(result.new for result in results.values()) == 9
    assert StatementLine.objects.count() == 9
    assert Payment.objects.count() == 3


def test_a_line_confirmed_by_several_people_at_once_is_recorded_once(invoices, manager):
    services.statement_import(data=read("statement.csv"), file_name="s", actor=manager)
    line = StatementLine.objects.get(bank_ref="B1-003")

    results, errors = run_together(
        THREADS,
        lambda i: services.line_confirm(line=line, invoice=invoices["C"], actor=manager),
    )

    only_billing_errors(errors, "invalid_state")
    assert len(results) == 1
    line.refresh_from_db()
    assert line.state == LineState.RECORDED
    assert Payment.objects.filter(bank_link__line=line).count() == 1
