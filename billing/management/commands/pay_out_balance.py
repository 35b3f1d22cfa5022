"""Record credit returned to a customer outside the system."""

from billing import services
from billing.management.base import (
    BillingCommand,
    Done,
    balance_entry_json,
    get_customer,
    money,
)
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Record credit paid back to a customer outside the system (a transfer, a "
        "cheque): a payout from their credit in one currency."
    )
    example = (
        'manage.py pay_out_balance 17 80.00 --currency EUR --reference "Transfer 2026-12-01" '
        "--actor manager"
    )

    def add_arguments(self, parser):
        parser.add_argument("customer", help="The customer's id or external reference.")
        parser.add_argument("amount", help="The amount paid out, e.g. 80.00.")
        parser.add_argument("--currency", help="The credit's currency (default: the customer's).")
        parser.add_argument("--reference", required=True, help="How it was paid out.")
        parser.add_argument("--notes", default="")

    def run(self, actor, options):
        customer = get_customer(options["customer"])
        entry = services.balance_pay_out(
            customer=customer,
            amount=money(options["amount"], options["currency"] or customer.currency),
            reference=options["reference"],
            notes=options["notes"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        return Done(
            f"Paid out {format_money(-entry.amount)} of {customer}'s credit; "
            f"{format_money(entry.balance_after)} is left.",
            {"customer": customer.pk, "balance_entry": balance_entry_json(entry)},
        )
