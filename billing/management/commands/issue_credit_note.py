"""Issue a credit note: reduce what an invoice asks for, refund, or move to credit."""

from billing import services
from billing.management.base import (
    BillingCommand,
    Done,
    credit_note_json,
    declined,
    get_invoice,
    get_payment,
    invoice_json,
    money,
    refund_json,
)
from billing.models import CreditNoteReason, Invoice, RefundStatus
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Credit an issued invoice, in up to three parts: --reduce-due lowers what is due, "
        "--refund refunds --refund-payment the way it came, --to-credit moves paid money "
        "to the customer's credit. A refund the gateway refuses exits 1 "
        "(payment_declined); the credit note stays, without its refund."
    )
    example = (
        "manage.py issue_credit_note INV-2026-000123 --reason goodwill --reduce-due 20.00 \\\n"
        '    --memo "Late delivery" --actor manager'
    )

    def add_arguments(self, parser):
        parser.add_argument("invoice", help="The invoice's number (INV-2026-000123) or id.")
        parser.add_argument("--reason", required=True, choices=CreditNoteReason.values)
        parser.add_argument("--reduce-due", metavar="AMOUNT")
        parser.add_argument("--refund", metavar="AMOUNT")
        parser.add_argument("--refund-payment", metavar="ID", help="The payment to refund.")
        parser.add_argument("--to-credit", metavar="AMOUNT")
        parser.add_argument("--memo", default="")

    def run(self, actor, options):
        invoice = get_invoice(options["invoice"])
        refund_payment = options["refund_payment"]
        issued = services.credit_note_issue(
            invoice=invoice,
            reason=options["reason"],
            reduce_due=money(options["reduce_due"], invoice.currency, field="reduce_due"),
            refund=money(options["refund"], invoice.currency, field="refund"),
            refund_payment=get_payment(refund_payment) if refund_payment else None,
            to_credit=money(options["to_credit"], invoice.currency, field="to_credit"),
            memo=options["memo"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        note, refund = issued.credit_note, issued.refund
        invoice = Invoice.objects.get(pk=invoice.pk)
        data = {
            "credit_note": credit_note_json(note),
            "refund": refund_json(refund) if refund is not None else None,
            "invoice": invoice_json(invoice),
        }
        text = (
            f"Issued credit note {note.number} for {format_money(note.total)} on {invoice}; "
            f"{format_money(invoice.amount_due)} due."
        )
        if refund is not None and refund.status == RefundStatus.FAILED:
            return Done(text, data, failure=declined(f"The refund failed: {refund.failure_reason}"))
        if refund is not None and refund.status == RefundStatus.PENDING:
            text += " Its refund stays pending at the gateway; reconcile_payments settles it."
        return Done(text, data)
