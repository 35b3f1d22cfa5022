"""Charge again the open invoices whose last charge attempt failed."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.errors import BillingError
from billing.management.base import add_actor_argument, get_actor
from billing.models import PaymentStatus
from billing.money import format_money
from billing.selectors import charges_due_for_retry
from billing.services import payment_retry


class Command(BaseCommand):
    help = (
        "Retry the saved-method charge of open invoices whose last attempt failed, at most "
        "BILLING_RETRY_MAX_ATTEMPTS times, BILLING_RETRY_SPACING_HOURS apart."
    )

    def add_arguments(self, parser):
        add_actor_argument(parser)
        parser.add_argument("--max-attempts", type=int, default=settings.BILLING_RETRY_MAX_ATTEMPTS)
        parser.add_argument(
            "--spacing-hours", type=float, default=settings.BILLING_RETRY_SPACING_HOURS
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be retried; charge nothing."
        )

    def handle(self, *args, actor, max_attempts, spacing_hours, dry_run, **options):
        actor = get_actor(actor)
        due = charges_due_for_retry(
            max_attempts=max_attempts, spacing=datetime.timedelta(hours=spacing_hours)
        )
        counts = {"succeeded": 0, "failed": 0, "pending": 0, "refused": 0}
        for failed in due:
            name = f"{failed.invoice} ({failed.invoice.customer}), attempt {failed.failures + 1}"
            if dry_run:
                self.stdout.write(f"would retry {name}: {format_money(failed.amount)}")
                continue
            try:
                payment = payment_retry(payment=failed, actor=actor)
            except BillingError as exc:
                counts["refused"] += 1
                self.stdout.write(f"{name}: refused, {exc}")
                continue
            counts[payment.status] += 1
            outcome = payment.get_status_display().lower()
            if payment.status == PaymentStatus.FAILED:
                outcome += f" ({payment.failure_reason})"
            self.stdout.write(f"{name}: {format_money(payment.amount)} {outcome}")
        summary = ", ".join(f"{n} {k}" for k, n in counts.items())
        self.stdout.write(("dry run: " if dry_run else "") + summary)
        if counts["refused"]:
            raise CommandError(f"{counts['refused']} retry(ies) were refused.")
