"""Give back part or all of a succeeded payment."""

from billing import services
from billing.management.base import (
    BillingCommand,
    Done,
    declined,
    get_payment,
    invoice_json,
    money,
    payment_json,
    refund_json,
)
from billing.models import Invoice, Payment, RefundDestination, RefundReason, RefundStatus
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Refund part or all of a succeeded payment: back through the gateway "
        "(original_method), paid back outside the system (external) or to the customer's "
        "credit (customer_credit). The invoice's due grows back by the amount; to keep it "
        "paid, issue a credit note with a refund instead (issue_credit_note --refund). "
        "A refund the gateway refuses exits 1 (payment_declined)."
    )
    example = (
        "manage.py refund_payment 42 25.00 --destination external \\\n"
        '    --reason requested_by_customer --reference "Transfer 2026-12-01" --actor manager'
    )

    def add_arguments(self, parser):
        parser.add_argument("payment", help="The payment's id.")
        parser.add_argument("amount", help="The amount in the payment's currency, e.g. 25.00.")
        parser.add_argument(
            "--destination",
            choices=RefundDestination.values,
            help="Where the money goes (default: the way it came).",
        )
        parser.add_argument("--reason", required=True, choices=RefundReason.values)
        parser.add_argument("--reference", default="", help="How it was paid back.")
        parser.add_argument("--notes", default="")

    def run(self, actor, options):
        payment = get_payment(options["payment"])
        refund = services.payment_refund(
            payment=payment,
            amount=money(options["amount"], payment.currency),
            destination=options["destination"] or payment.natural_refund_destination,
            reason=options["reason"],
            reference=options["reference"],
            notes=options["notes"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        payment = Payment.objects.get(pk=payment.pk)
        invoice = Invoice.objects.get(pk=payment.invoice_id)
        data = {
            "refund": refund_json(refund),
            "payment": payment_json(payment),
            "invoice": invoice_json(invoice),
        }
        amount = format_money(refund.amount)
        if refund.status == RefundStatus.FAILED:
            return Done(
                f"The gateway refused the refund of {amount} (refund #{refund.pk}).",
                data,
                failure=declined(f"The refund failed: {refund.failure_reason}"),
            )
        if refund.status == RefundStatus.PENDING:
            return Done(
                f"The gateway did not answer about the refund of {amount} (refund #{refund.pk}); "
                "it stays pending and reconcile_payments settles it.",
                data,
            )
        return Done(
            f"Refunded {amount} of payment #{payment.pk} "
            f"({refund.get_destination_display().lower()}); "
            f"{format_money(invoice.amount_due)} due on {invoice}.",
            data,
        )
