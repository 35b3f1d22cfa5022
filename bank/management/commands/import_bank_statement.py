"""Import a bank statement file and match its lines to invoices."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bank.models import StatementFormat
from bank.services import statement_import
from billing.errors import BillingError
from billing.management.base import add_actor_argument, get_actor


class Command(BaseCommand):
    help = (
        "Store the statements of a bank file (CAMT.053, MT940, OFX or the bank CSV "
        "export of docs/bank.md) and match each new credit line to invoices: a line "
        "naming one payable invoice and paying exactly what it asks for is recorded as a "
        "bank transfer; the others become suggestions or stay unmatched for the Bank "
        "page. Lines imported before (same account and bank reference) are skipped. "
        "Example: manage.py import_bank_statement feb.xml --actor ops"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The statement file.")
        parser.add_argument(
            "--format",
            choices=StatementFormat.values,
            help="The file's format (default: told from its content).",
        )
        add_actor_argument(parser)

    def handle(self, *args, file, format, actor, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        try:
            result = statement_import(
                data=data, file_name=path.name, format=format, actor=get_actor(actor)
            )
        except BillingError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        for statement in result.statements:
            self.stdout.write(
                f"{statement.account}: {statement.lines_in_file} lines, "
                f"{statement.lines_new} new, {statement.lines_duplicate} already imported."
            )
        for line, error in result.refused:
            self.stderr.write(f"{line.bank_ref}: not recorded ({error.code}): {error.message}")
        self.stdout.write(
            f"new {result.new}, duplicates {result.duplicates}: recorded {result.recorded}, "
            f"suggested {result.suggested}, unmatched {result.unmatched}, "
            f"ignored {result.ignored}."
        )
