"""Charge a customer's saved payment method for an invoice, through its gateway."""

from billing import services
from billing.errors import BillingError, ErrorCode
from billing.management.base import BillingCommand, charge_done, get_invoice, money
from billing.models import PaymentMethod


class Command(BillingCommand):
    help = (
        "Charge the customer's default saved payment method (or --payment-method) for an "
        "invoice: all that can be paid now, or --amount. A declined charge is kept as a "
        "failed payment and exits 1 (payment_declined); a charge the gateway did not "
        "answer stays pending for reconcile_payments and exits 0."
    )
    example = (
        "manage.py charge_invoice INV-2026-000123 --actor alice "
        "--idempotency-key charge-INV-2026-000123"
    )

    def add_arguments(self, parser):
        parser.add_argument("invoice", help="The invoice's number (INV-2026-000123) or id.")
        parser.add_argument("--amount", help="Charge only this much (default: all payable now).")
        parser.add_argument(
            "--payment-method",
            type=int,
            metavar="ID",
            help="The id of the customer's saved method (default: their default one).",
        )

    def run(self, actor, options):
        invoice = get_invoice(options["invoice"])
        payment_method = None
        if options["payment_method"] is not None:
            payment_method = PaymentMethod.objects.filter(pk=options["payment_method"]).first()
            if payment_method is None:
                raise BillingError(
                    ErrorCode.NO_SAVED_PAYMENT_METHOD,
                    f"There is no saved payment method {options['payment_method']}.",
                    field="payment_method",
                )
        payment = services.payment_charge(
            invoice=invoice,
            amount=money(options["amount"], invoice.currency),
            payment_method=payment_method,
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        return charge_done(payment)
