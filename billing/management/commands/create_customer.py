"""Create a customer: what invoices are made out to."""

from billing import services
from billing.management.base import BillingCommand, Done


class Command(BillingCommand):
    help = (
        "Create a customer with a name and the currency of their new invoices, and "
        "optionally an e-mail address (where documents go) and an external reference "
        "(another system's id for them, unique)."
    )
    example = (
        'manage.py create_customer "Acme Trading BV" --currency EUR '
        "--email ap@acme.example --external-ref crm-881 --actor alice"
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The customer's name.")
        parser.add_argument("--currency", required=True, help="ISO 4217 code: EUR, USD, JPY...")
        parser.add_argument("--email", default="", help="Where their documents are sent.")
        parser.add_argument(
            "--external-ref", default="", help="Another system's id for them (unique)."
        )

    def run(self, actor, options):
        customer = services.customer_create(
            name=options["name"],
            currency=options["currency"],
            email=options["email"],
            external_ref=options["external_ref"],
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        return Done(
            f"Created customer #{customer.pk} {customer.name} ({customer.currency}).",
            {
                "customer": {
                    "object": "customer",
                    "id": customer.pk,
                    "name": customer.name,
                    "currency": customer.currency,
                    "email": customer.email,
                    "external_ref": customer.external_ref,
                }
            },
        )
