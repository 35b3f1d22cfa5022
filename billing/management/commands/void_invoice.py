"""Cancel an open invoice nothing was paid or credited on."""

from billing import services
from billing.management.base import BillingCommand, Done, get_invoice, invoice_json


class Command(BillingCommand):
    help = (
        "Void an open invoice nothing was paid, charged or credited on; its number stays. "
        "Anything else is corrected with a credit note."
    )
    example = 'manage.py void_invoice INV-2026-000123 --reason "Issued twice" --actor manager'

    def add_arguments(self, parser):
        parser.add_argument("invoice", help="The invoice's number (INV-2026-000123) or id.")
        parser.add_argument("--reason", required=True, help="Why it is voided (kept).")

    def run(self, actor, options):
        invoice = services.invoice_void(
            invoice=get_invoice(options["invoice"]),
            reason=options["reason"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        return Done(f"Voided {invoice}.", {"invoice": invoice_json(invoice)})
