"""The bank's commands as a shell runs them: import_bank_statement and the Bank
page's actions on a line (docs/commands.md, "Bank statements")."""

import pytest

from bank.models import LineState, StatementLine
from billing.models import Payment, PaymentStatus
from tests.bank.conftest import DATA
from tests.bank.conftest import bank_counts as record_counts
from tests.billing.commands._cli import ok, shell

pytestmark = pytest.mark.django_db

COMMANDS = [
    "import_bank_statement",
    "bank_line_confirm",
    "bank_line_match",
    "bank_line_ignore",
    "bank_line_undo",
]


@pytest.fixture(autouse=True)
def no_actor_in_the_environment(monkeypatch):
    monkeypatch.delenv("BILLING_ACTOR", raising=False)


@pytest.fixture
def lines(invoices, manager):
    ok("import_bank_statement", DATA / "statement.csv", "--actor", "manager")
    return {line.bank_ref: line for line in StatementLine.objects.all()}


def refused(code, *argv):
    """Exit 1 with the code on stderr, and nothing written."""
    before = record_counts()
    run = shell(*argv).refused(code)
    assert record_counts() == before
    return run


@pytest.mark.parametrize("name", COMMANDS)
def test_every_bank_command_helps_with_an_example_and_the_common_options(name):
    run = ok(name, "--help")
    assert f"example:\n  manage.py {name} " in run.out
    for option in ("--actor", "--json"):
        assert option in run.out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_bank_command_without_an_actor_is_bad_usage(name):
    assert shell(name, "1").status == 2


def test_the_actor_may_come_from_the_environment(invoices, manager, monkeypatch):
    monkeypatch.setenv("BILLING_ACTOR", "manager")
    run = ok("import_bank_statement", DATA / "statement.ofx", "--json")
    assert run.json["ok"] is True
    assert run.json["summary"]["recorded"] == 3


def test_importing_answers_json_and_the_same_file_again_records_nothing(invoices, manager):
    camt = DATA / "statement.camt053.xml"
    run = ok("import_bank_statement", camt, "--actor", "manager", "--json")
    assert run.json["summary"] == {
        "new": 9,
        "duplicates": 0,
        "recorded": 3,
        "suggested": 3,
        "unmatched": 2,
        "ignored": 1,
    }
    assert [s["account"] for s in run.json["statements"]] == [
        "NL91ABNA0417164300",
        "NL39ABNA0417164399",
    ]
    before = record_counts()
    again = ok("import_bank_statement", camt, "--actor", "manager")
    assert "new 0, duplicates 9: recorded 0" in again.out
    # Only the statement row of the second run, which records that the file came again.
    after = record_counts()
    assert after.pop("statements") == before.pop("statements") + 2
    assert after == before


def test_a_file_that_does_not_read_is_refused_and_one_that_cannot_be_opened_is_bad_usage(
    manager, tmp_path
):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"nothing to see")
    run = refused("invalid_value", "import_bank_statement", bad, "--actor", "manager", "--json")
    assert run.json == {"ok": False, "error": run.json["error"]}
    assert run.json["error"]["code"] == "invalid_value"
    run = shell("import_bank_statement", tmp_path / "missing", "--actor", "manager")
    assert run.status == 2 and "Cannot read" in run.err


def test_matching_a_line_across_two_invoices_from_the_shell(lines, invoices):
    line = lines["B1-008"]  # 60.00, suggested
    run = ok(
        "bank_line_match",
        line.pk,
        "--invoice",
        "inv 2026 000103",
        "40.00",
        "--invoice",
        invoices["E"].pk,
        "20.00",
        "--actor",
        "manager",
        "--json",
    )
    assert run.json["ok"] is True
    assert run.json["line"]["state"] == LineState.RECORDED
    payments = Payment.objects.filter(pk__in=run.json["line"]["payments"])
    assert sorted((p.invoice.number, p.amount.amount) for p in payments) == [
        ("INV-2026-000103", 40),
        ("INV-2026-000105", 20),
    ]
    assert {p.created_by.username for p in payments} == {"manager"}
    # Once: run again, refused and nothing written.
    refused(
        "invalid_state",
        "bank_line_match",
        line.pk,
        "--invoice",
        "INV-2026-000103",
        "60.00",
        "--actor",
        "manager",
    )


def test_a_refused_match_writes_nothing(lines):
    line = lines["B1-008"]
    for argv, code in (
        (("--invoice", "INV-2026-000103", "61.00"), "invalid_amount"),
        (("--invoice", "INV-2026-000103", "30.00"), "invalid_amount"),
        (("--invoice", "INV-2026-000103", "6.005"), "invalid_amount"),
        (("--invoice", "INV-2026-999999", "60.00"), "invoice_not_found"),
        (("--invoice", "INV-2026-000101", "60.00"), "invoice_not_payable"),
    ):
        refused(code, "bank_line_match", line.pk, *argv, "--actor", "manager")
    refused(
        "invalid_value",
        "bank_line_match",
        "NO-SUCH-LINE",
        "--invoice",
        "INV-2026-000103",
        "60.00",
        "--actor",
        "manager",
    )


def test_confirm_ignore_and_undo_by_bank_reference(lines, invoices, clerk):
    run = ok("bank_line_confirm", "B1-003", "INV-2026-000103", "--actor", "clerk")
    assert "Recorded bank line B1-003 (50.00 EUR) on INV-2026-000103." in run.out
    line = StatementLine.objects.get(bank_ref="B1-003")
    assert (line.state, line.recorded_by) == (LineState.RECORDED, clerk)

    # A clerk may not void what the line made.
    refused("permission_denied", "bank_line_undo", "B1-003", "--reason", "x", "--actor", "clerk")
    run = ok("bank_line_undo", "B1-003", "--reason", "Wrong invoice", "--actor", "manager")
    assert "suggested again" in run.out
    payment = Payment.objects.get(bank_link__line=line)
    assert (payment.status, payment.void_reason) == (PaymentStatus.VOIDED, "Wrong invoice")

    run = ok("bank_line_ignore", "B1-007", "--reason", "A gift", "--actor", "clerk", "--json")
    assert run.json["line"]["state"] == LineState.IGNORED
    refused("invalid_state", "bank_line_ignore", "B1-007", "--reason", "again", "--actor", "clerk")
    refused("invalid_value", "bank_line_ignore", "B1-008", "--reason", " ", "--actor", "clerk")
