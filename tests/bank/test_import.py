"""Importing each format: lines stored once, matched, recorded only by the rule."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from moneyed import Money

from bank import statements
from bank.models import Direction, LinePayment, LineState, Statement, StatementLine
from bank.services import statement_import
from billing.errors import BillingError
from billing.models import Payment, PaymentStatus
from tests.bank.conftest import DATA, FORMATS, read
from tests.bank.conftest import bank_counts as record_counts

pytestmark = pytest.mark.django_db

EXPECTED_STATES = {
    "B1-001": LineState.RECORDED,  # INV-2026-000101, 100.00 asked
    "B1-002": LineState.RECORDED,  # "inv 2026 000102", 250.00 asked
    "B1-003": LineState.SUGGESTED,  # end-to-end id names 103, 50 of 80: partial
    "B1-004": LineState.SUGGESTED,  # 70 on 105 asking 60: overpaid
    "B1-006": LineState.IGNORED,  # a debit
    "B1-007": LineState.UNMATCHED,  # nothing points anywhere
    "B1-008": LineState.SUGGESTED,  # no number; the amount and the name fit 105
    "U1-001": LineState.RECORDED,  # USD line, USD invoice 104
    "U1-002": LineState.UNMATCHED,  # names 103, which is in EUR
}


def states():
    return dict(StatementLine.objects.values_list("bank_ref", "state"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_the_same_lines(fmt):
    kind, parsed = statements.parse(read(FORMATS[fmt][0]))
    assert kind == fmt
    accounts = {s.account: s for s in parsed}
    assert set(accounts) == {"NL91ABNA0417164300", "NL39ABNA0417164399"}
    eur = {line.bank_ref: line for line in accounts["NL91ABNA0417164300"].lines}
    assert list(eur) == ["B1-001", "B1-002", "B1-003", "B1-004", "B1-006", "B1-007", "B1-008"]
    assert eur["B1-001"].amount == Money("100.00", "EUR")
    assert eur["B1-001"].booking_date.isoformat() == "2026-02-02"
    assert eur["B1-001"].counterparty_name == "Acme Trading BV"
    assert eur["B1-006"].direction == Direction.DEBIT
    assert eur["B1-006"].amount == Money("15.00", "EUR")
    assert eur["B1-007"].amount.amount == Decimal("12.34")
    usd = accounts["NL39ABNA0417164399"].lines
    assert [(line.bank_ref, line.amount) for line in usd] == [
        ("U1-001", Money("40.00", "USD")),
        ("U1-002", Money("80.00", "USD")),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_records_only_what_the_rule_allows_and_suggests_the_rest(fmt, invoices, manager):
    result = statement_import(data=read(FORMATS[fmt][0]), file_name="s", actor=manager)

    assert (result.new, result.duplicates) == (9, 0)
    assert (result.recorded, result.suggested, result.unmatched, result.ignored) == (3, 3, 2, 1)
    assert states() == EXPECTED_STATES
    for key, ref in (("A", "B1-001"), ("B", "B1-002"), ("D", "U1-001")):
        invoice = invoices[key]
        invoice.refresh_from_db()
        assert invoice.status == "paid"
        payment = Payment.objects.get(invoice=invoice)
        assert payment.method == "bank_transfer"
        assert payment.bank_reference == ref
        assert payment.status == PaymentStatus.SUCCEEDED
        assert payment.paid_at == StatementLine.objects.get(bank_ref=ref).booking_date
        assert payment.created_by == manager
        assert LinePayment.objects.get(payment=payment).line.bank_ref == ref
    # Nothing else was paid.
    assert Payment.objects.count() == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_file_twice_stores_and_records_nothing_the_second_time(fmt, invoices, manager):
    statement_import(data=read(FORMATS[fmt][0]), file_name="s", actor=manager)
    before = record_counts()

    again = statement_import(data=read(FORMATS[fmt][0]), file_name="s", actor=manager)

    assert (again.new, again.duplicates, again.recorded) == (0, 9, 0)
    # Only the statements themselves are new: they say what the import found.
    assert record_counts() == {**before, "statements": before["statements"] + 2}
    assert [s.lines_duplicate for s in again.statements] == [7, 2]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_overlapping_statement_adds_only_its_new_lines(fmt, invoices, manager):
    statement_import(data=read(FORMATS[fmt][0]), file_name="s", actor=manager)

    result = statement_import(data=read(FORMATS[fmt][1]), file_name="o", actor=manager)

    assert (result.new, result.duplicates, result.recorded) == (1, 2, 1)
    assert StatementLine.objects.filter(bank_ref__in=["B1-007", "B1-008"]).count() == 2
    line = StatementLine.objects.get(bank_ref="B1-009")
    assert line.state == LineState.RECORDED
    assert line.statement.bank_statement_id in ("MSG-2026-02-09", "STMT-EUR-0209", "")
    invoices["C"].refresh_from_db()
    assert invoices["C"].status == "paid"


def test_the_evidence_explains_each_suggestion(invoices, manager):
    statement_import(data=read("statement.camt053.xml"), file_name="s", actor=manager)

    partial = StatementLine.objects.get(bank_ref="B1-003").evidence
    assert partial["references"] == ["INV-2026-000103"]
    assert partial["candidates"][0]["number"] == "INV-2026-000103"
    # "Cedar and Co" sends for "Cedar & Co".
    assert partial["candidates"][0]["reasons"] == ["reference", "name_similar"]
    assert "asks for 80.00 EUR" in partial["explanation"]

    by_name = StatementLine.objects.get(bank_ref="B1-008").evidence
    assert by_name["references"] == []
    assert by_name["candidates"][0]["number"] == "INV-2026-000105"
    assert by_name["candidates"][0]["reasons"] == ["amount_equal", "name_similar"]

    other_currency = StatementLine.objects.get(bank_ref="U1-002").evidence
    assert other_currency["candidates"] == []
    assert other_currency["notes"] == ["INV-2026-000103 is named, but it is in EUR."]

    debit = StatementLine.objects.get(bank_ref="B1-006")
    assert debit.ignore_reason.startswith("A debit")
    assert debit.ignored_by == manager


def test_a_file_that_does_not_read_is_refused_and_writes_nothing(manager):
    before = (Statement.objects.count(), StatementLine.objects.count())
    for data, fmt in (
        (b"<?xml version='1.0'?><Document xmlns='urn:camt.053'><x/></Document>", None),
        (b":20:X\n:25:ACC\n:61:nonsense\n-\n", "mt940"),
        (b"OFXHEADER:100\n<OFX><broken>", None),
        (b"account,bank_reference\nA,B\n", "csv"),
        (b"hello", None),
    ):
        with pytest.raises(BillingError) as error:
            statement_import(data=data, file_name="bad", format=fmt, actor=manager)
        assert error.value.code == "invalid_value"
    assert (Statement.objects.count(), StatementLine.objects.count()) == before


def test_a_csv_line_with_too_many_decimals_names_its_line_and_writes_nothing(manager):
    data = read("statement.csv").replace(b"12.34", b"12.345")
    with pytest.raises(BillingError) as error:
        statement_import(data=data, file_name="bad.csv", actor=manager)
    assert error.value.code == "invalid_value"
    assert "CSV line 7" in error.value.message
    assert StatementLine.objects.count() == 0


def test_importing_needs_the_record_payment_permission(nobody):
    with pytest.raises(BillingError) as error:
        statement_import(data=read("statement.csv"), file_name="s", actor=nobody)
    assert error.value.code == "permission_denied"
    assert Statement.objects.count() == 0


def test_the_command_imports_and_prints_a_summary(invoices, manager, capsys):
    call_command("import_bank_statement", str(DATA / "statement.mt940"), "--actor", "manager")
    out = capsys.readouterr().out
    assert "NL91ABNA0417164300: 7 lines, 7 new, 0 already imported." in out
    assert "recorded 3, suggested 3, unmatched 2, ignored 1." in out

    call_command(
        "import_bank_statement",
        str(DATA / "statement.mt940"),
        "--format",
        "mt940",
        "--actor",
        "manager",
    )
    assert "new 0, duplicates 9: recorded 0" in capsys.readouterr().out


def test_the_command_refuses_with_the_code_and_writes_nothing(manager, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"nothing to see")
    with pytest.raises(CommandError, match="invalid_value"):
        call_command("import_bank_statement", str(bad), "--actor", "manager")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_bank_statement", str(tmp_path / "missing"), "--actor", "manager")
    assert Statement.objects.count() == 0


def test_a_second_transfer_for_the_same_invoice_stays_a_suggestion_saying_why(invoices, manager):
    data = (
        b"account,bank_reference,booking_date,amount,currency,remittance\n"
        b"NL91ABNA0417164300,T-1,2026-02-02,100.00,EUR,INV-2026-000101\n"
        b"NL91ABNA0417164300,T-2,2026-02-03,100.00,EUR,INV-2026-000101 again\n"
    )
    result = statement_import(data=data, file_name="twice.csv", actor=manager)

    assert (result.recorded, result.suggested) == (1, 1)
    assert [(line.bank_ref, error.code) for line, error in result.refused] == [
        ("T-2", "invoice_not_payable")
    ]
    second = StatementLine.objects.get(bank_ref="T-2")
    assert second.state == LineState.SUGGESTED
    assert "auto" not in second.evidence
    assert second.evidence["explanation"].startswith("Recording it automatically was refused")
    assert Payment.objects.filter(invoice=invoices["A"]).count() == 1


def test_a_refusal_in_a_batch_leaves_the_other_lines_recorded_once(invoices, manager):
    data = (
        b"account,bank_reference,booking_date,amount,currency,remittance\n"
        b"NL91ABNA0417164300,T-1,2026-02-02,100.00,EUR,INV-2026-000101\n"
        b"NL91ABNA0417164300,T-2,2026-02-03,100.00,EUR,INV-2026-000101 again\n"
        b"NL91ABNA0417164300,T-3,2026-02-04,250.00,EUR,INV-2026-000102\n"
        b"NL91ABNA0417164300,T-4,2026-02-04,80.00,EUR,INV-2026-000103\n"
    )
    result = statement_import(data=data, file_name="batch.csv", actor=manager)

    assert (result.recorded, result.suggested) == (3, 1)
    assert [(line.bank_ref, error.code) for line, error in result.refused] == [
        ("T-2", "invoice_not_payable")
    ]
    assert states() == {
        "T-1": LineState.RECORDED,
        "T-2": LineState.SUGGESTED,
        "T-3": LineState.RECORDED,
        "T-4": LineState.RECORDED,
    }
    for key in "ABC":
        payments = Payment.objects.filter(invoice=invoices[key])
        assert payments.count() == 1
        assert payments.get().bank_link.line.bank_ref in {"T-1", "T-3", "T-4"}
    assert LinePayment.objects.count() == 3
