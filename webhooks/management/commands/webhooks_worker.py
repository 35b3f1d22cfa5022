import logging
import time

from django.core.management.base import BaseCommand

from webhooks.relay import relay
from webhooks.sending import deliver_due

logger = logging.getLogger(__name__)


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
            if every is None:
                return self._round(quiet=False)
            try:
                self._round(quiet=True)
            except Exception:
                # A database that went away, a row that cannot be read: logged, and
                # tried again next round; nothing is lost (the cursors did not move).
                logger.exception("webhooks_worker: this round failed")
            time.sleep(every)

    def _round(self, *, quiet):
        events = relay()
        sent = deliver_due()
        if events or sent or not quiet:
            self.stdout.write(f"{events} new events, {sent} deliveries tried")
            self.stdout.flush()
