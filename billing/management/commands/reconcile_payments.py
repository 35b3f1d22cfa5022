"""Settle charges and gateway refunds left pending, by looking them up at the gateway."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.errors import BillingError
from billing.management.base import add_actor_argument, get_actor
from billing.services.reconcile import reconcile_pending


class Command(BaseCommand):
    help = (
        "Look up pending charges and gateway refunds at their gateway and record the "
        "outcome: money taken -> succeeded, nothing at the gateway -> failed. Safe to run "
        "beside staff work and beside another run (e.g. from cron every few minutes)."
    )

    def add_arguments(self, parser):
        add_actor_argument(parser)
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.BILLING_RECONCILE_AFTER_SECONDS,
            metavar="SECONDS",
            help="Only records pending for longer than this (default: %(default)s).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Ask the gateway and report; write nothing."
        )

    def handle(self, *args, actor, older_than, dry_run, **options):
        try:
            report = reconcile_pending(
                actor=get_actor(actor),
                older_than=datetime.timedelta(seconds=older_than),
                dry_run=dry_run,
            )
        except BillingError as exc:
            raise CommandError(str(exc)) from None
        for line in report.lines:
            self.stdout.write(line)
        verb = "would settle" if dry_run else "settled"
        self.stdout.write(f"{verb} {report.settled}; left pending {report.left_pending}.")
