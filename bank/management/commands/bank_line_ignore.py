"""Set a bank line aside with a reason: not a customer's payment."""

from bank import services
from bank.management.base import get_line, line_json
from billing.management.base import BillingCommand, Done


class Command(BillingCommand):
    help = (
        "Ignore a bank line (suggested or unmatched) with a reason, as the Bank page's "
        "Ignore; the reason and the actor are kept. Run again, it is refused "
        "(invalid_state) and writes nothing."
    )
    example = 'manage.py bank_line_ignore 812 --reason "Own transfer" --actor ops'
    idempotent = False

    def add_arguments(self, parser):
        parser.add_argument("line", help="The line's id, or its bank entry reference.")
        parser.add_argument("--reason", required=True, help="Why it is set aside (kept).")

    def run(self, actor, options):
        line = services.line_ignore(
            line=get_line(options["line"]), reason=options["reason"], actor=actor
        )
        return Done(f"Ignored bank line {line.bank_ref}.", {"line": line_json(line)})
