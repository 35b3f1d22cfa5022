"""Undo a bank line's match: its payments are voided with the reason."""

from bank import services
from bank.management.base import get_line, line_json
from billing.management.base import BillingCommand, Done


class Command(BillingCommand):
    help = (
        "Undo a recorded bank line's match, as the Bank page's Undo: its payments are "
        "voided with the reason, what it sent to credit is taken back, and the line is "
        "matched again (suggested or unmatched). Run again, it is refused "
        "(invalid_state) and writes nothing."
    )
    example = 'manage.py bank_line_undo 812 --reason "Wrong invoice" --actor manager'
    idempotent = False

    def add_arguments(self, parser):
        parser.add_argument("line", help="The line's id, or its bank entry reference.")
        parser.add_argument("--reason", required=True, help="Why it is undone (kept).")

    def run(self, actor, options):
        line = services.line_undo(
            line=get_line(options["line"]), reason=options["reason"], actor=actor
        )
        return Done(
            f"Undid the match of bank line {line.bank_ref}; its payments are void and it is "
            f"{line.get_state_display().lower()} again.",
            {"line": line_json(line)},
        )
