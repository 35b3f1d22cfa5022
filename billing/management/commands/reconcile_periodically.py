"""Run reconcile_payments' settling over and over, beside a development server."""

import datetime
import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from billing.errors import BillingError
from billing.management.base import add_actor_argument, get_actor
from billing.services.reconcile import reconcile_pending


class Command(BaseCommand):
    help = (
        "Every --every seconds, settle charges and gateway refunds left pending, as "
        "reconcile_payments does once. `make run` starts it beside the server and stops "
        "it with the server; in production run reconcile_payments from cron instead."
    )

    def add_arguments(self, parser):
        add_actor_argument(parser)
        parser.add_argument(
            "--every",
            type=int,
            default=60,
            metavar="SECONDS",
            help="Seconds between two runs (default: %(default)s).",
        )
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.BILLING_RECONCILE_AFTER_SECONDS,
            metavar="SECONDS",
            help="Only records pending for longer than this (default: %(default)s).",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=0,
            metavar="N",
            help="Stop after N runs (default: run until stopped).",
        )

    def handle(self, *args, actor, every, older_than, rounds, **options):
        if every < 1:
            raise CommandError("--every must be at least 1 second.")
        user = get_actor(actor)
        parent = os.getppid()
        done = 0
        try:
            while True:
                self._once(user, older_than)
                done += 1
                if rounds and done >= rounds:
                    return
                for _ in range(every):
                    time.sleep(1)
                    # `make run` stops it when the server ends; should that shell
                    # be killed outright, the loop is orphaned and ends itself.
                    if os.getppid() != parent:
                        return
                # A long-lived process: a connection the database dropped while
                # it slept is replaced.
                close_old_connections()
        except KeyboardInterrupt:
            return

    def _once(self, actor, older_than):
        try:
            report = reconcile_pending(
                actor=actor, older_than=datetime.timedelta(seconds=older_than)
            )
        except BillingError as exc:
            # Permission refused, say: nothing will ever settle, so stop loudly.
            raise CommandError(str(exc)) from None
        for line in report.lines:
            self.stdout.write(f"reconcile: {line}")
