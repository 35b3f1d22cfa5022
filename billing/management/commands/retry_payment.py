"""Charge again after a failed charge: a new attempt on the same saved method."""

from billing import services
from billing.management.base import BillingCommand, charge_done, get_payment


class Command(BillingCommand):
    help = (
        "Retry a failed charge: a new charge of the same saved method for the failed "
        "amount, or what the invoice may be paid now if that is less. Exits 1 "
        "(payment_declined) when the gateway declines it again."
    )
    example = "manage.py retry_payment 42 --actor alice --idempotency-key retry-42-1"

    def add_arguments(self, parser):
        parser.add_argument("payment", help="The failed payment's id.")

    def run(self, actor, options):
        payment = services.payment_retry(
            payment=get_payment(options["payment"]),
            idempotency_key=options["idempotency_key"],
            actor=actor,
        )
        return charge_done(payment)
