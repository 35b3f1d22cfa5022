"""Record money that arrived outside the system against an invoice."""

from django.utils import timezone

from billing import services
from billing.management.base import (
    BillingCommand,
    Done,
    get_invoice,
    invoice_json,
    money,
    payment_json,
)
from billing.models import EXTERNAL_METHODS, Invoice
from billing.money import format_money
from billing.services import schedules


class Command(BillingCommand):
    help = (
        "Record a payment that arrived outside the system (cash, cheque, bank transfer, "
        "card terminal, other) against an issued invoice."
    )
    example = (
        "manage.py record_payment INV-2026-000123 150.00 --method cheque \\\n"
        "    --cheque-number 004512 --paid-at 2026-11-30 --actor alice "
        "--idempotency-key cheque-004512"
    )

    def add_arguments(self, parser):
        parser.add_argument("invoice", help="The invoice's number (INV-2026-000123) or id.")
        parser.add_argument("amount", help="The amount in the invoice's currency, e.g. 150.00.")
        parser.add_argument("--method", required=True, choices=[m.value for m in EXTERNAL_METHODS])
        parser.add_argument(
            "--paid-at", metavar="YYYY-MM-DD", help="The day the customer paid (default: today)."
        )
        parser.add_argument("--cheque-number", help="A cheque's number (required for cheques).")
        parser.add_argument("--card-brand", help="A card terminal payment's card brand.")
        parser.add_argument("--card-last4", help="A card terminal payment's last 4 digits.")
        parser.add_argument("--bank-reference", help="A bank transfer's reference.")
        parser.add_argument("--reference", default="", help="Your reference for the payment.")
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--excess-to-credit",
            action="store_true",
            help="Send what is beyond the due to the customer's credit.",
        )
        parser.add_argument(
            "--write-off-remainder",
            action="store_true",
            help="Settle the invoice by writing off what this payment leaves due "
            "(a write-off credit note; needs the credit-note permission).",
        )
        parser.add_argument(
            "--instalment",
            action="append",
            type=int,
            metavar="N",
            help="An instalment of the invoice's schedule (1, 2, 3 ...) this payment pays "
            "first; repeat for several. The rest goes to the others, oldest due first.",
        )

    def run(self, actor, options):
        invoice = get_invoice(options["invoice"])
        details = {
            name: options[name]
            for name in ("cheque_number", "card_brand", "card_last4", "bank_reference")
            if options[name] is not None
        }
        instalments = schedules.instalment_ids_by_sequence(invoice, options["instalment"])
        payment = services.payment_record(
            invoice=invoice,
            amount=money(options["amount"], invoice.currency),
            method=options["method"],
            paid_at=options["paid_at"] or timezone.localdate(),
            reference=options["reference"],
            notes=options["notes"],
            details=details,
            excess_to_credit=options["excess_to_credit"],
            write_off_remainder=options["write_off_remainder"],
            instalments=instalments,
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        invoice = Invoice.objects.get(pk=invoice.pk)
        return Done(
            f"Recorded payment #{payment.pk}: {format_money(payment.amount)} "
            f"({payment.get_method_display().lower()}) on {invoice}; "
            f"{format_money(invoice.amount_due)} due, {invoice.get_status_display().lower()}.",
            {"payment": payment_json(payment), "invoice": invoice_json(invoice)},
        )
