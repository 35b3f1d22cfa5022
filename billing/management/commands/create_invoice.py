"""Create a draft invoice with its lines; issue_invoice issues it."""

from billing import services
from billing.errors import BillingError, ErrorCode
from billing.management.base import BillingCommand, Done, get_customer, invoice_json
from billing.models import Invoice
from billing.money import format_money


class Command(BillingCommand):
    help = (
        "Create a draft invoice for a customer, in their currency unless --currency, "
        "with one --line per line: description, quantity, unit price and, optionally, "
        "the tax rate in percent. A draft has no number until issue_invoice issues it."
    )
    example = (
        'manage.py create_invoice crm-881 --line "Seats" 4 120.00 21 --line "Setup" 1 50.00 '
        "--due-date 2026-12-31 --actor alice"
    )

    def add_arguments(self, parser):
        parser.add_argument("customer", help="The customer's id or external reference.")
        parser.add_argument(
            "--line",
            nargs="+",
            action="append",
            required=True,
            metavar="VALUE",
            help="DESCRIPTION QUANTITY UNIT_PRICE [TAX_RATE]; repeat for more lines.",
        )
        parser.add_argument("--currency", help="Default: the customer's currency.")
        parser.add_argument("--due-date", help="YYYY-MM-DD (default: set when it is issued).")

    def run(self, actor, options):
        customer = get_customer(options["customer"])
        lines = []
        for position, values in enumerate(options["line"], start=1):
            if len(values) not in (3, 4):
                raise BillingError(
                    ErrorCode.INVALID_VALUE,
                    f"Line {position} needs a description, a quantity, a unit price and "
                    "optionally a tax rate.",
                    field="lines",
                )
            names = ("description", "quantity", "unit_price", "tax_rate")[: len(values)]
            lines.append(dict(zip(names, values, strict=True)))
        invoice = services.invoice_create(
            customer=customer,
            currency=options["currency"] or customer.currency,
            lines=lines,
            due_date=options["due_date"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        invoice = Invoice.objects.get(pk=invoice.pk)
        return Done(
            f"Created draft #{invoice.pk} for {customer.name}: {format_money(invoice.total)} "
            f"in {len(lines)} line(s). Issue it with: manage.py issue_invoice {invoice.pk}",
            {"invoice": invoice_json(invoice)},
        )
