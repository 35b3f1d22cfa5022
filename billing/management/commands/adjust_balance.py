"""Correct a customer's credit by a signed amount, with a reason."""

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
        "Add to (positive AMOUNT) or take from (negative AMOUNT) a customer's credit in "
        "one currency, with a reason; the credit never goes below zero."
    )
    example = (
        'manage.py adjust_balance 17 -12.50 --currency EUR --reason "Bank fee" '
        "--actor manager\n"
        'manage.py adjust_balance acme-001 50.00 --reason "Goodwill" --actor manager'
    )

    def add_arguments(self, parser):
        parser.add_argument("customer", help="The customer's id or external reference.")
        parser.add_argument("amount", help="The signed amount, e.g. 50.00 or -12.50.")
        parser.add_argument("--currency", help="The credit's currency (default: the customer's).")
        parser.add_argument("--reason", required=True)

    def run(self, actor, options):
        customer = get_customer(options["customer"])
        currency = options["currency"] or customer.currency
        entry = services.balance_adjust(
            customer=customer,
            amount=money(options["amount"], currency, allow_negative=True),
            reason=options["reason"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        return Done(
            f"Adjusted {customer}'s credit by {format_money(entry.amount)}; "
            f"it is now {format_money(entry.balance_after)}.",
            {"customer": customer.pk, "balance_entry": balance_entry_json(entry)},
        )
