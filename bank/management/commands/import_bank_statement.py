"""Import a bank statement file and match its lines to invoices."""

from pathlib import Path

from django.core.management.base import CommandError

from bank.management.base import line_json
from bank.models import StatementFormat
from bank.services import statement_import
from billing.management.base import BillingCommand, Done


class Command(BillingCommand):
    help = (
        "Store the statements of a bank file (CAMT.053, MT940, OFX or the bank CSV "
        "export of docs/bank.md) and match each new credit line to invoices: a line "
        "naming one payable invoice and paying exactly what it asks for is recorded as a "
        "bank transfer; the others become suggestions or stay unmatched for the Bank "
        "page. Lines imported before (same account and bank reference) are skipped, so "
        "the same file again records nothing: a line is its own idempotency key."
    )
    example = "manage.py import_bank_statement feb.xml --actor ops"
    idempotent = False

    def add_arguments(self, parser):
        parser.add_argument("file", help="The statement file.")
        parser.add_argument(
            "--format",
            choices=StatementFormat.values,
            help="The file's format (default: told from its content).",
        )

    def run(self, actor, options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.", returncode=2) from None
        result = statement_import(
            data=data, file_name=path.name, format=options["format"], actor=actor
        )
        lines = [
            f"{statement.account}: {statement.lines_in_file} lines, "
            f"{statement.lines_new} new, {statement.lines_duplicate} already imported."
            for statement in result.statements
        ]
        for line, error in result.refused:
            self.stderr.write(f"{line.bank_ref}: not recorded ({error.code}): {error.message}")
        lines.append(
            f"new {result.new}, duplicates {result.duplicates}: recorded {result.recorded}, "
            f"suggested {result.suggested}, unmatched {result.unmatched}, "
            f"ignored {result.ignored}."
        )
        data = {
            "statements": [
                {
                    "object": "bank_statement",
                    "id": statement.pk,
                    "account": statement.account,
                    "lines_in_file": statement.lines_in_file,
                    "lines_new": statement.lines_new,
                    "lines_duplicate": statement.lines_duplicate,
                }
                for statement in result.statements
            ],
            "summary": {
                key: getattr(result, key)
                for key in ("new", "duplicates", "recorded", "suggested", "unmatched", "ignored")
            },
            "not_recorded": [
                {"line": line_json(line), "error": {"code": error.code, "message": error.message}}
                for line, error in result.refused
            ],
        }
        return Done("\n".join(lines), data)
