"""import_payments: every row checked first, bad rows by line number, each row once."""

import datetime

import pytest
from moneyed import Money

from billing import services
from billing.models import IdempotencyKey, Payment
from tests.billing.commands._cli import ok, shell
from tests.billing.services._refusals import snapshot
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, user_with

pytestmark = pytest.mark.django_db

HEADER = "invoice,amount,currency,paid_at,method,cheque_number,bank_reference,reference,notes\n"
TODAY = datetime.date.today().isoformat()


@pytest.fixture
def invoices(clerk):
    usd = issued_invoice(CustomerFactory(), clerk, "100.00")
    jpy = issued_invoice(CustomerFactory(currency="JPY"), clerk, "48000", currency="JPY")
    return usd, jpy


def csv_file(tmp_path, *rows, header=HEADER):
    path = tmp_path / "payments.csv"
    path.write_text(header + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def good_rows(usd, jpy):
    return (
        f"{usd.number},40.00,USD,{TODAY},cheque,0042,,Nov,",
        f"{usd.number.lower()},60.00,USD,{TODAY},bank_transfer,,TRF-1,,paid in full",
        f'{jpy.number},"48,000",JPY,{TODAY},cash,,,,',
    )


def test_import_records_every_row_and_says_how_many(clerk, invoices, tmp_path):
    usd, jpy = invoices
    run = ok("import_payments", csv_file(tmp_path, *good_rows(usd, jpy)), "--actor=clerk")
    assert "recorded 3, skipped 0 already recorded, refused 0." in run.out
    cheque = Payment.objects.get(cheque_number="0042")
    assert (cheque.amount, cheque.reference, cheque.created_by) == (
        Money("40.00", "USD"),
        "Nov",
        clerk,
    )
    assert Payment.objects.get(bank_reference="TRF-1").notes == "paid in full"
    assert Payment.objects.get(invoice=jpy).amount == Money("48000", "JPY")
    usd.refresh_from_db()
    jpy.refresh_from_db()
    assert usd.status == jpy.status == "paid"


def test_a_dry_run_says_what_would_happen_per_row_and_writes_nothing(clerk, invoices, tmp_path):
    usd, jpy = invoices
    path = csv_file(tmp_path, *good_rows(usd, jpy), f"{usd.number},1,USD,{TODAY},cash,,,,")
    before = snapshot()

    run = shell("import_payments", path, "--dry-run", "--actor=clerk")

    assert snapshot() == before
    assert run.status == 1
    assert f"line 2: would record 40.00 USD (cheque) on {usd.number}" in run.out
    assert f"line 4: would record 48,000 JPY (cash) on {jpy.number}" in run.out
    assert "line 5: refused: overpayment: " in run.err
    assert "dry run: would record 3, skipped 0 already recorded, refused 1." in run.out


def test_running_the_same_file_twice_records_nothing_the_second_time(clerk, invoices, tmp_path):
    path = csv_file(tmp_path, *good_rows(*invoices))
    ok("import_payments", path, "--actor=clerk")
    before = snapshot()

    run = ok("import_payments", path, "--actor=clerk", "-v2")

    assert snapshot() == before
    assert "recorded 0, skipped 3 already recorded, refused 0." in run.out
    assert "line 2: already recorded (payment #" in run.out


def test_another_actor_importing_the_same_file_records_nothing_either(clerk, invoices, tmp_path):
    path = csv_file(tmp_path, *good_rows(*invoices))
    ok("import_payments", path, "--actor=clerk")
    user_with("record_payment", username="other")
    before = snapshot()
    assert "skipped 3 already recorded" in ok("import_payments", path, "--actor=other").out
    assert snapshot() == before


def test_two_identical_rows_in_one_file_are_two_payments(clerk, invoices, tmp_path):
    usd, _ = invoices
    row = f"{usd.number},10.00,USD,{TODAY},cash,,,,"
    path = csv_file(tmp_path, row, row)
    ok("import_payments", path, "--actor=clerk")
    ok("import_payments", path, "--actor=clerk")
    assert Payment.objects.count() == 2
    assert IdempotencyKey.objects.filter(key__startswith="import:").count() == 2


BAD_ROWS = [
    ("invoice_not_found", "INV-2026-999999,1,USD,{today},cash,,,,"),
    ("currency_mismatch", "{usd},1,EUR,{today},cash,,,,"),
    ("invalid_value", "{usd},1,ZZZ,{today},cash,,,,"),
    ("invalid_amount", "{usd},1.001,USD,{today},cash,,,,"),
    ("invalid_amount", "{usd},1e2,USD,{today},cash,,,,"),
    ("invalid_amount", "{jpy},1.5,JPY,{today},cash,,,,"),
    ("invalid_date", "{usd},1,USD,2999-01-01,cash,,,,"),
    ("invalid_date", "{usd},1,USD,01/12/2026,cash,,,,"),
    ("invalid_value", "{usd},1,USD,{today},cheque,,,,"),
    ("invalid_value", "{usd},1,USD,{today},saved_method,,,,"),
    ("invalid_value", "{usd},1,USD,{today},cash,,,,,extra"),
    ("overpayment", "{usd},100.01,USD,{today},cash,,,,"),
]


@pytest.mark.parametrize(("code", "row"), BAD_ROWS)
def test_a_bad_row_is_reported_with_its_line_and_code_and_the_rest_is_recorded(
    clerk, invoices, tmp_path, code, row
):
    usd, jpy = invoices
    bad = row.format(usd=usd.number, jpy=jpy.number, today=TODAY)
    path = csv_file(tmp_path, f"{usd.number},10.00,USD,{TODAY},cash,,,,", "", bad)

    run = shell("import_payments", path, "--actor=clerk")

    assert run.status == 1
    assert f"line 4: refused: {code}: " in run.err  # the blank line 3 counts
    assert "recorded 1, skipped 0 already recorded, refused 1." in run.out
    assert Payment.objects.get().amount == Money("10.00", "USD")


def test_rows_for_one_invoice_add_up_before_anything_is_written(clerk, invoices, tmp_path):
    usd, _ = invoices
    path = csv_file(
        tmp_path,
        f"{usd.number},60.00,USD,{TODAY},cash,,,,",
        f"{usd.number},40.00,USD,{TODAY},cash,,,,",
        f"{usd.number},0.01,USD,{TODAY},cash,,,,",
    )
    run = shell("import_payments", path, "--actor=clerk", "--stop-on-error")
    assert "line 4: refused: overpayment: " in run.err
    assert "after the payments before it" in run.err
    assert Payment.objects.count() == 0


def test_stop_on_error_writes_nothing_when_any_row_is_bad(clerk, invoices, tmp_path):
    usd, jpy = invoices
    path = csv_file(tmp_path, *good_rows(usd, jpy), f"{usd.number},x,USD,{TODAY},cash,,,,")
    before = snapshot()

    run = shell("import_payments", path, "--actor=clerk", "--stop-on-error", "--json")

    assert run.status == 1
    assert snapshot() == before
    answer = run.json
    assert answer["ok"] is False
    assert answer["summary"] == {
        "recorded": 0,
        "already_recorded": 0,
        "refused": 1,
        "not_attempted": 3,
    }
    assert answer["rows"][3]["line"] == 5
    assert answer["rows"][3]["error"]["code"] == "invalid_amount"


def test_a_row_refused_while_writing_stops_the_run_with_stop_on_error(
    clerk, invoices, tmp_path, monkeypatch
):
    """Someone pays an invoice between the check and the write: the service refuses
    the row on the locked invoice, and --stop-on-error leaves the rest alone."""
    usd, jpy = invoices
    path = csv_file(tmp_path, *good_rows(usd, jpy))
    record = services.payment_record

    def a_colleague_pays_first(**kwargs):
        if kwargs["invoice"].pk == usd.pk and not Payment.objects.filter(invoice=usd).exists():
            record(**{**kwargs, "amount": Money("100.00", "USD"), "idempotency_key": None})
        return record(**kwargs)

    monkeypatch.setattr(services, "payment_record", a_colleague_pays_first)

    run = shell("import_payments", path, "--actor=clerk", "--stop-on-error")

    assert run.status == 1
    assert "line 2: refused: invoice_not_payable: " in run.err
    assert "recorded 0, skipped 0 already recorded, refused 1, not attempted 2." in run.out
    assert Payment.objects.count() == 1  # the colleague's
    assert not Payment.objects.filter(invoice=jpy).exists()


def test_a_wrong_header_refuses_the_whole_file(clerk, invoices, tmp_path):
    usd, _ = invoices
    path = csv_file(tmp_path, f"{usd.number},1,USD", header="invoice,amount,currency,colour\n")
    run = shell("import_payments", path, "--actor=clerk").refused("invalid_value")
    assert "unknown: colour" in run.err and "missing: paid_at, method" in run.err
    assert Payment.objects.count() == 0


def test_an_actor_without_the_permission_is_refused_for_every_row(nobody, invoices, tmp_path):
    path = csv_file(tmp_path, *good_rows(*invoices))
    run = shell("import_payments", path, "--actor=nobody")
    assert run.status == 1
    assert run.err.count("refused: permission_denied") == 3
    assert Payment.objects.count() == 0


def test_a_progress_bar_is_drawn_on_a_terminal_only(clerk, invoices, tmp_path):
    usd, _ = invoices
    first = csv_file(tmp_path, f"{usd.number},5,USD,{TODAY},cash,,,,")
    on_terminal = ok("import_payments", first, "--actor=clerk", terminal=True)
    assert "0/1" in on_terminal.err and "row/s" in on_terminal.err
    second = csv_file(tmp_path, f"{usd.number},6,USD,{TODAY},cash,,,,")
    piped = ok("import_payments", second, "--actor=clerk")
    assert piped.err == ""
    assert "recorded 1," in on_terminal.out and "recorded 1," in piped.out


def test_a_missing_file_is_bad_usage(clerk, tmp_path):
    assert shell("import_payments", tmp_path / "nope.csv", "--actor=clerk").status == 2


def test_the_file_may_come_on_stdin_with_a_byte_order_mark(clerk, invoices):
    usd, _ = invoices
    text = "\ufeff" + HEADER + f"{usd.number},5,USD,{TODAY},cash,,,,\n"
    run = ok("import_payments", "-", "--actor=clerk", stdin=text)
    assert "recorded 1" in run.out


def test_the_check_takes_a_fixed_number_of_queries_whatever_the_rows(
    clerk, tmp_path, django_assert_max_num_queries
):
    customer = CustomerFactory()
    invoices = [issued_invoice(customer, clerk, "10.00") for _ in range(6)]
    rows = [f"{invoice.number},1,USD,{TODAY},cash,,,," for invoice in invoices]
    path = csv_file(tmp_path, *rows)
    with django_assert_max_num_queries(8):
        ok("import_payments", path, "--dry-run", "--actor=clerk")
