"""Record the payments of a CSV file: every row checked first, each recorded once.

1. The file is read whole and its header checked; a wrong header writes nothing.
2. Rows whose key was used already (an earlier run of the same file) are skipped.
3. Every other row is checked as ``payment_record`` would check it, without a
   lock (``services.payment_record_check``), rows for the same invoice adding up.
4. Unless ``--dry-run``, each row that passed is recorded through
   ``services.payment_record``, one durable transaction per row, with the row's
   key as its idempotency key. Someone may pay an invoice between the check and
   the write: the service re-checks on the locked invoice and refuses the row,
   which then wrote nothing. ``--stop-on-error`` writes nothing when a row fails
   its check, and stops at the first refusal while writing.

A row's key is a hash of its cells and how many identical rows came before it
in the file, so running a file again (or a later file repeating a row) records
nothing twice, while two identical payments in one file are two payments. A key
used by any actor counts, not only this run's actor: a colleague's import of the
same file is skipped too (docs/decisions.md). Two runs at the same moment by the
same actor record a row once: the service claims its key before it writes.
"""

import csv
import hashlib
import io
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.management.base import CommandError
from tqdm import tqdm

from billing import services
from billing.errors import BillingError, ErrorCode
from billing.management.base import BillingCommand, Done, amount_json
from billing.models import IdempotencyKey, Invoice
from billing.money import currency_code, format_money, zero

COLUMNS = (
    "invoice",
    "amount",
    "currency",
    "paid_at",
    "method",
    "cheque_number",
    "card_brand",
    "card_last4",
    "bank_reference",
    "reference",
    "notes",
)
REQUIRED = ("invoice", "amount", "currency", "paid_at", "method")
DETAILS = ("cheque_number", "card_brand", "card_last4", "bank_reference")
# payment_record's operation in the idempotency home (services._common.Idempotency).
OPERATION = "payment_record"
KEY_PREFIX = "import"
CHUNK = 500  # ids per IN (...) query: well within SQLite's variable limit

CHECKED = "checked"  # passed its check, to be written
RECORDED, ALREADY, REFUSED, NOT_ATTEMPTED = (
    "recorded",
    "already_recorded",
    "refused",
    "not_attempted",
)


@dataclass
class Row:
    line: int
    cells: dict
    key: str
    invoice: Invoice | None = None
    amount: object = None
    outcome: str = ""
    error: BillingError | None = None
    payment_id: int | None = None
    note: str = ""

    def as_json(self):
        answer = {"line": self.line, "outcome": self.outcome, "invoice": self.cells["invoice"]}
        if self.amount is not None:
            answer["amount"] = amount_json(self.amount)
            answer["currency"] = self.amount.currency.code
        if self.payment_id is not None:
            answer["payment"] = self.payment_id
        if self.error is not None:
            answer["error"] = {"code": self.error.code, "message": self.error.message}
        return answer


@dataclass
class Report:
    rows: list = field(default_factory=list)

    def count(self, outcome):
        return sum(1 for row in self.rows if row.outcome == outcome)


class Command(BillingCommand):
    help = (
        "Record the payments listed in a CSV file (columns: invoice, amount, currency, "
        "paid_at, method, and optionally cheque_number, card_brand, card_last4, "
        "bank_reference, reference, notes; see docs/commands.md). Every row is checked "
        "before any is written; a bad row is reported with its line number and error "
        "code and written not at all. By default the good rows are recorded and the "
        "bad ones reported (exit 1); --stop-on-error writes nothing if any row is bad. "
        "Running the same file again records nothing twice."
    )
    example = (
        "manage.py import_payments november.csv --dry-run --actor alice\n"
        "manage.py import_payments november.csv --actor alice"
    )
    idempotent = False  # every row has its own key

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, a header row), or - for stdin.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and say what would happen."
        )
        parser.add_argument(
            "--stop-on-error",
            action="store_true",
            help="Write nothing if any row fails its check, and stop at the first row "
            "refused while writing (default: record the good rows, report the bad).",
        )

    def run(self, actor, options):
        dry_run, stop = options["dry_run"], options["stop_on_error"]
        report = Report(rows=_read(options["file"]))
        _skip_recorded(report.rows)
        _check(report.rows, actor)
        if not dry_run and stop and report.count(REFUSED):
            for row in report.rows:
                if row.outcome == CHECKED:
                    row.outcome = NOT_ATTEMPTED
        elif not dry_run:
            self._write(report.rows, actor, stop)
        self._print_rows(report.rows, dry_run, options["verbosity"], options["json"])
        return self._summary(report, dry_run)

    def _write(self, rows, actor, stop):
        todo = [row for row in rows if row.outcome == CHECKED]
        # The bar draws on the stream itself: OutputWrapper would end each redraw
        # with a newline.
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = tqdm(
            total=len(todo), unit="row", file=stream, disable=not self.stderr.isatty(), leave=False
        )
        with bar:
            for index, row in enumerate(todo):
                try:
                    payment = services.payment_record(
                        invoice=row.invoice,
                        amount=row.amount,
                        method=row.cells["method"],
                        paid_at=row.cells["paid_at"],
                        reference=row.cells["reference"],
                        notes=row.cells["notes"],
                        details={name: row.cells[name] for name in DETAILS},
                        idempotency_key=row.key,
                        actor=actor,
                    )
                except BillingError as exc:
                    row.outcome, row.error = REFUSED, exc
                    if stop:
                        for later in todo[index + 1 :]:
                            later.outcome = NOT_ATTEMPTED
                        break
                else:
                    row.outcome, row.payment_id = RECORDED, payment.pk
                bar.update()

    def _print_rows(self, rows, dry_run, verbosity, as_json):
        if as_json:
            return
        for row in rows:
            if row.outcome == REFUSED:
                self.stderr.write(
                    f"line {row.line}: refused: {row.error.code}: {row.error.message}"
                )
            elif dry_run or verbosity >= 2:
                self.stdout.write(f"line {row.line}: {_describe(row, dry_run)}")

    def _summary(self, report, dry_run):
        counts = {
            outcome: report.count(outcome)
            for outcome in (RECORDED, ALREADY, REFUSED, NOT_ATTEMPTED)
        }
        if dry_run:
            counts[RECORDED] = report.count(CHECKED)
        recorded = "would record" if dry_run else "recorded"
        text = (
            f"{'dry run: ' if dry_run else ''}{recorded} {counts[RECORDED]}, "
            f"skipped {counts[ALREADY]} already recorded, refused {counts[REFUSED]}"
        )
        if counts[NOT_ATTEMPTED]:
            text += f", not attempted {counts[NOT_ATTEMPTED]}"
        text += "."
        data = {
            "dry_run": dry_run,
            "summary": counts,
            "rows": [row.as_json() for row in report.rows],
        }
        failure = None
        if counts[REFUSED]:
            failure = CommandError(
                f"{counts[REFUSED]} of {len(report.rows)} row(s) refused.", returncode=1
            )
        return Done(text, data, failure=failure)


def _describe(row, dry_run):
    if row.outcome == ALREADY:
        return f"already recorded{row.note}"
    if row.outcome == NOT_ATTEMPTED:
        return "not attempted"
    amount = f"{format_money(row.amount)} ({row.cells['method']}) on {row.invoice}"
    if dry_run:
        return f"would record {amount}"
    return f"recorded {amount}: payment #{row.payment_id}"


# -- reading -----------------------------------------------------------------------


def _read(path):
    """The file's rows, keyed; a wrong header is refused for the whole file."""
    try:
        if path == "-":
            stdin = sys.stdin
            if hasattr(stdin, "buffer"):  # read as UTF-8 whatever the locale says
                stdin = io.TextIOWrapper(stdin.buffer, encoding="utf-8-sig", newline="")
            return _rows(stdin)
        with open(path, newline="", encoding="utf-8-sig") as stream:
            return _rows(stream)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.", returncode=2) from None
    except UnicodeDecodeError:
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"{path} is not UTF-8 text.", field="file"
        ) from None
    except csv.Error as exc:
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"{path} is not a CSV file: {exc}.", field="file"
        ) from None


def _rows(stream):
    reader = csv.reader(stream)
    # A byte order mark (a spreadsheet's UTF-8 export) is not part of the first name.
    header = [name.strip().lstrip("\ufeff").lower() for name in next(reader, [])]
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "The header row must name each column once, from: "
            f"{', '.join(COLUMNS)} (required: {', '.join(REQUIRED)}); "
            + "; ".join(
                part
                for part in (
                    f"unknown: {', '.join(unknown)}" if unknown else "",
                    f"missing: {', '.join(missing)}" if missing else "",
                )
                if part
            )
            + ".",
            field="file",
        )
    rows, seen, end = [], Counter(), reader.line_num
    for cells in reader:
        line, end = end + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: "" for name in COLUMNS}
        values.update({name: cell.strip() for name, cell in zip(header, cells, strict=False)})
        row = Row(line=line, cells=values, key=_key(values, seen))
        if len(cells) != len(header):
            row.outcome = REFUSED
            row.error = BillingError(
                ErrorCode.INVALID_VALUE,
                f"The row has {len(cells)} cells; the header has {len(header)}.",
            )
        rows.append(row)
    return rows


def _key(values, seen):
    """A stable key for a row: its cells (the invoice named as written, upper
    case) and how many identical rows came before it in this file."""
    cells = {**values, "invoice": values["invoice"].upper()}
    digest = hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()[:40]
    seen[digest] += 1
    return f"{KEY_PREFIX}:{digest}:{seen[digest]}"


# -- checking ----------------------------------------------------------------------


def _skip_recorded(rows):
    """Rows whose key any actor used already: recorded by an earlier run."""
    keys = {row.key: row for row in rows if not row.outcome}
    found = {}
    names = list(keys)
    for start in range(0, len(names), CHUNK):
        used = IdempotencyKey.objects.filter(
            operation=OPERATION, key__in=names[start : start + CHUNK]
        ).values_list("key", "result_id", "created_by__username")
        for key, result_id, username in used:
            found[key] = (result_id, username)
    for key, (result_id, username) in found.items():
        row = keys[key]
        row.outcome, row.payment_id = ALREADY, result_id
        row.note = f" (payment #{result_id}, by {username})" if result_id else " (in progress)"


def _invoices(rows):
    """The rows' invoices, by number or id, in a few queries."""
    numbers, ids = set(), set()
    for row in rows:
        text = row.cells["invoice"]
        if text.isascii() and text.isdigit():
            ids.add(int(text))
        else:
            numbers.add(text.upper())
    found = {}
    for name, values in (("number", sorted(numbers)), ("pk", sorted(ids))):
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            for invoice in Invoice.objects.select_related("customer").filter(
                **{f"{name}__in": chunk}
            ):
                found[invoice.number] = found[str(invoice.pk)] = invoice
    return found


def _check(rows, actor):
    """Check every row not yet decided as ``payment_record`` would, rows for one
    invoice adding up against what it may be paid now."""
    todo = [row for row in rows if not row.outcome]
    invoices = _invoices(todo)
    taken = defaultdict(lambda: None)
    for row in todo:
        try:
            row.invoice = invoices.get(row.cells["invoice"].upper())
            if row.invoice is None:
                raise BillingError(
                    ErrorCode.INVOICE_NOT_FOUND,
                    f"There is no invoice {row.cells['invoice'] or '(empty)'}.",
                    field="invoice",
                )
            currency = currency_code(row.cells["currency"])
            if currency != row.invoice.currency:
                raise BillingError(
                    ErrorCode.CURRENCY_MISMATCH,
                    f"The amount is in {currency} but invoice {row.invoice} is in "
                    f"{row.invoice.currency}.",
                    field="currency",
                )
            row.amount = services.payment_record_check(
                invoice=row.invoice,
                amount=row.cells["amount"],
                method=row.cells["method"],
                paid_at=row.cells["paid_at"],
                reference=row.cells["reference"],
                notes=row.cells["notes"],
                details={name: row.cells[name] for name in DETAILS},
                taken=taken[row.invoice.pk],
                actor=actor,
            )
        except BillingError as exc:
            row.outcome, row.error = REFUSED, exc
            continue
        row.outcome = CHECKED
        before = taken[row.invoice.pk] or zero(row.invoice.currency)
        taken[row.invoice.pk] = before + row.amount
