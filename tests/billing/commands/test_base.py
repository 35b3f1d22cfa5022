"""What every billing command shares: the actor, exit statuses, --json, --help."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from billing.management.base import Refused
from billing.models import Payment
from tests.billing.commands._cli import ok, shell
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts

COMMANDS = [
    "record_payment",
    "charge_invoice",
    "void_payment",
    "retry_payment",
    "refund_payment",
    "issue_credit_note",
    "apply_credit",
    "adjust_balance",
    "pay_out_balance",
    "issue_invoice",
    "void_invoice",
    "import_payments",
]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def no_actor_in_the_environment(monkeypatch):
    monkeypatch.delenv("BILLING_ACTOR", raising=False)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_helps_with_an_example_and_the_common_options(name):
    run = ok(name, "--help")
    assert f"example:\n  manage.py {name} " in run.out
    for option in ("--actor", "--json"):
        assert option in run.out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_without_an_actor_is_bad_usage(name):
    run = shell(name, "x", "1")
    assert run.status == 2
    assert re.search(r"the following arguments are required: .*--actor", run.err)


def test_an_unknown_option_is_bad_usage_and_writes_nothing(db, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk)
    before = record_counts()
    run = shell(
        "record_payment", invoice.number, "10", "--method", "cash", "--actor", "clerk", "--bogus"
    )
    assert run.status == 2
    assert "unrecognized arguments: --bogus" in run.err
    assert record_counts() == before


def test_billing_actor_in_the_environment_names_the_actor(db, clerk, monkeypatch):
    invoice = issued_invoice(CustomerFactory(), clerk)
    monkeypatch.setenv("BILLING_ACTOR", "clerk")
    ok("record_payment", invoice.number, "10.00", "--method", "cash")
    assert Payment.objects.get().created_by == clerk


def test_an_unknown_or_inactive_actor_is_refused_and_nothing_is_written(db, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk)
    clerk.is_active = False
    clerk.save()
    before = record_counts()
    for name in ("ghost", "clerk"):
        run = shell("record_payment", invoice.number, "10", "--method", "cash", "--actor", name)
        run.refused("permission_denied")
        assert f"no active user '{name}'" in run.err
    assert record_counts() == before


def test_a_refusal_with_json_prints_the_error_as_json_too(db, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk)
    run = shell(
        "record_payment", invoice.number, "1.001", "--method", "cash", "--actor", "clerk", "--json"
    )
    run.refused("invalid_amount")
    assert run.json["ok"] is False
    assert run.json["error"]["code"] == "invalid_amount"
    assert "at most 2 decimals" in run.json["error"]["message"]


def test_an_invoice_that_does_not_exist_is_refused_by_number_and_by_id(db, clerk):
    for reference in ("INV-2026-999999", "987654"):
        run = shell("record_payment", reference, "10", "--method", "cash", "--actor", "clerk")
        run.refused("invoice_not_found")


def test_manage_py_itself_answers_help_and_bad_usage_with_its_exit_status():
    """One real process, as cron runs it (the rest run in-process for speed)."""

    def manage(*argv):
        return subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "test"},
            timeout=60,
        )

    helped = manage("void_invoice", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "example:" in helped.stdout
    wrong = manage("void_invoice", "INV-2026-000001", "--actor", "x")
    assert wrong.returncode == 2
    assert "--reason" in wrong.stderr


def test_call_command_raises_the_refusal_with_its_code_for_python_callers(db, clerk):
    with pytest.raises(Refused) as refusal:
        call_command("record_payment", "INV-2026-999999", "1", "--method=cash", actor="clerk")
    assert (refusal.value.code, refusal.value.returncode) == ("invoice_not_found", 1)


def test_cron_commands_take_their_actor_from_the_environment(db, clerk, monkeypatch):
    monkeypatch.setenv("BILLING_ACTOR", "clerk")
    assert "settled 0; left pending 0." in ok("reconcile_payments").out
    assert "0 succeeded" in ok("retry_failed_payments", "--dry-run").out
    monkeypatch.setenv("BILLING_ACTOR", "ghost")
    shell("reconcile_payments").refused("permission_denied")
