"""Issue a draft invoice: its gap-free number, and credit applied."""

from billing import services
from billing.management.base import BillingCommand, Done, get_invoice, invoice_json
from billing.models import Invoice
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Issue a draft invoice: it gets the next number of its year and opens; the "
        "customer's credit in its currency pays what it can unless --no-credit."
    )
    example = "manage.py issue_invoice 311 --actor alice --idempotency-key issue-311"

    def add_arguments(self, parser):
        parser.add_argument("invoice", help="The draft's id (drafts have no number yet).")
        parser.add_argument(
            "--no-credit", action="store_true", help="Do not pay it from the customer's credit."
        )

    def run(self, actor, options):
        invoice = services.invoice_issue(
            invoice=get_invoice(options["invoice"]),
            apply_credit=not options["no_credit"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        invoice = Invoice.objects.get(pk=invoice.pk)
        return Done(
            f"Issued {invoice} for {format_money(invoice.total)}; "
            f"{format_money(invoice.amount_due)} due by {invoice.due_date:%Y-%m-%d}.",
            {"invoice": invoice_json(invoice)},
        )
