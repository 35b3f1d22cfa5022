"""Confirm a bank line's suggestion: the line on one invoice, up to what it asks."""

from bank import services
from bank.management.base import get_line, line_json
from billing.management.base import BillingCommand, Done
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Confirm a suggested bank line on an invoice, as the Bank page's Confirm: the line "
        "is recorded on it up to what it asks for now; a line paying more needs "
        "--rest-to-credit. A line is confirmed once: run again, it is refused "
        "(invalid_state) and writes nothing."
    )
    example = "manage.py bank_line_confirm 812 INV-2026-000103 --actor ops"
    idempotent = False

    def add_arguments(self, parser):
        parser.add_argument("line", help="The line's id, or its bank entry reference.")
        parser.add_argument("invoice", help="The invoice's number or id.")
        parser.add_argument(
            "--rest-to-credit",
            action="store_true",
            help="Send what the invoice does not take to the customer's credit.",
        )

    def run(self, actor, options):
        invoice = services.invoices_by_number_or_id(options["invoice"])
        line = services.line_confirm(
            line=get_line(options["line"]),
            invoice=invoice,
            rest_to_credit=options["rest_to_credit"],
            actor=actor,
        )
        return Done(
            f"Recorded bank line {line.bank_ref} ({format_money(line.amount)}) on {invoice}.",
            {"line": line_json(line)},
        )
