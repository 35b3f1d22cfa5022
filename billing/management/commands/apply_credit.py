"""Pay an invoice from the customer's credit in its currency."""

from billing import services
from billing.management.base import (
    BillingCommand,
    Done,
    get_invoice,
    invoice_json,
    money,
    payment_json,
)
from billing.models import Invoice
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Pay an invoice from the customer's credit in the invoice's currency: AMOUNT, or "
        "by default the most it can (the smaller of the credit and what is payable)."
    )
    example = "manage.py apply_credit INV-2026-000123 40.00 --actor alice"

    def add_arguments(self, parser):
        parser.add_argument("invoice", help="The invoice's number (INV-2026-000123) or id.")
        parser.add_argument("amount", nargs="?", help="The amount (default: the most it can).")

    def run(self, actor, options):
        invoice = get_invoice(options["invoice"])
        payment = services.credit_apply(
            invoice=invoice,
            amount=money(options["amount"], invoice.currency),
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        invoice = Invoice.objects.get(pk=invoice.pk)
        return Done(
            f"Applied {format_money(payment.amount)} of credit to {invoice} "
            f"(payment #{payment.pk}); {format_money(invoice.amount_due)} due.",
            {"payment": payment_json(payment), "invoice": invoice_json(invoice)},
        )
