"""Void a payment recorded by hand by mistake; the invoice's due grows back."""

from billing import services
from billing.management.base import BillingCommand, Done, get_payment, invoice_json, payment_json
from billing.models import Invoice
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Void a payment recorded by hand (cash, cheque, transfer, card terminal, other) "
        "that has no refunds and sent nothing to credit; a gateway charge is refunded "
        "instead."
    )
    example = 'manage.py void_payment 42 --reason "Cheque bounced" --actor manager'

    def add_arguments(self, parser):
        parser.add_argument("payment", help="The payment's id.")
        parser.add_argument("--reason", required=True, help="Why it is voided (kept).")

    def run(self, actor, options):
        payment = services.payment_void(
            payment=get_payment(options["payment"]),
            reason=options["reason"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        invoice = Invoice.objects.get(pk=payment.invoice_id)
        return Done(
            f"Voided payment #{payment.pk} of {format_money(payment.amount)} on {invoice}; "
            f"{format_money(invoice.amount_due)} due, {invoice.get_status_display().lower()}.",
            {"payment": payment_json(payment), "invoice": invoice_json(invoice)},
        )
