"""Record a bank line on one invoice or split it across several."""

from bank import services
from bank.management.base import get_line, line_json
from billing.management.base import BillingCommand, Done, money
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Record a bank line (a credit, suggested or unmatched) on invoices, each with its "
        "amount in the line's currency: one payment per invoice, as the Bank page's Match. "
        "The amounts add up to the line, or --rest-to-credit sends what is left to the "
        "first invoice's customer's credit. A line is matched once: run again, it is "
        "refused (invalid_state) and writes nothing."
    )
    example = (
        "manage.py bank_line_match 812 --invoice INV-2026-000103 40.00 "
        "--invoice INV-2026-000105 20.00 --actor ops"
    )
    idempotent = False

    def add_arguments(self, parser):
        parser.add_argument("line", help="The line's id, or its bank entry reference.")
        parser.add_argument(
            "--invoice",
            nargs=2,
            action="append",
            required=True,
            metavar=("INVOICE", "AMOUNT"),
            help="An invoice (its number in any spelling, or id) and the amount it gets; "
            "repeat for a split.",
        )
        parser.add_argument(
            "--rest-to-credit",
            action="store_true",
            help="Send what the amounts leave of the line to the customer's credit.",
        )

    def run(self, actor, options):
        line = get_line(options["line"])
        allocations = [
            (services.invoices_by_number_or_id(invoice), money(amount, line.currency))
            for invoice, amount in options["invoice"]
        ]
        line = services.line_match(
            line=line,
            allocations=allocations,
            rest_to_credit=options["rest_to_credit"],
            actor=actor,
        )
        names = ", ".join(str(invoice) for invoice, _ in allocations)
        rest = " and the rest to the customer's credit" if line.credit_entry_id else ""
        return Done(
            f"Recorded bank line {line.bank_ref} ({format_money(line.amount)}) on {names}{rest}.",
            {"line": line_json(line)},
        )
