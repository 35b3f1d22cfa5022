"""Enqueue again the outbox rows whose task was lost."""

import datetime
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from billing.services import outbox_sweep


class Command(BaseCommand):
    help = (
        "Enqueue a task again for every outbox row (a receipt to number, an e-mail to "
        "send) still not done after --older-than seconds: its task was lost with a "
        "worker or failed. Safe beside workers and another sweep (handlers are "
        "idempotent). Once, or every --every seconds until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.BILLING_OUTBOX_RETRY_SECONDS,
            metavar="SECONDS",
            help="Only rows written longer ago than this (default: %(default)s).",
        )
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Sweep again after this many seconds, until stopped (default: once).",
        )

    def handle(self, *args, older_than, every, **options):
        while True:
            count = outbox_sweep(older_than=datetime.timedelta(seconds=older_than))
            self.stdout.write(f"enqueued {count} outbox row(s) again.")
            if not every:
                return
            time.sleep(every)
