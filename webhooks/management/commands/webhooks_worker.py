import time

from django.core.management.base import BaseCommand

from webhooks.relay import relay
from webhooks.sending import deliver_due


class Command(BaseCommand):
    help = (
        "Turn what billing operations wrote into webhook events and send the "
        "deliveries that are due; with --every, again and again (make run starts it)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=float, default=None, help="Seconds between rounds; once without it."
        )

    def handle(self, *args, every=None, **options):
        while True:
            events = relay()
            sent = deliver_due()
            if events or sent or every is None:
                self.stdout.write(f"{events} new events, {sent} deliveries tried")
            if every is None:
                return
            time.sleep(every)
