"""Can the webhooks relay keep up with payments? Its rate beside payment_record's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/billing \
        .venv/bin/python benchmarks/webhooks_relay.py

Builds a `<db>_relay` database anew each run. Then, three rounds of:

- **payments**: `services.payment_record` of PAYMENTS payments into open invoices,
  one client, DEBUG off (the baseline, measured in the same run);
- **relay, no endpoint**: `relay()` with no endpoint enabled after those payments
  (what webhooks cost when nobody listens: one UPDATE per source table);
- **relay**: the same payments relayed with one endpoint that wants every event
  type (each payment's timeline row gives payment.succeeded, most also
  invoice.payment_status_updated or invoice.paid, with one delivery each).
  Nothing is sent: sending is the receivers' speed, not ours.

Prints the medians: payments/s, timeline rows relayed/s and events written/s, and
relayed rows per recorded payment per second (above 1: one relay keeps up with
one client recording payments).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _bench_db  # noqa: E402  (beside this script)

PAYMENTS = 600
ROUNDS = 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    url = _bench_db.bench_url("_relay")
    _bench_db.ensure_database(url, rebuild=True)
    _bench_db.setup_django(url)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from moneyed import Money

    from billing import services
    from billing.models import Customer
    from webhooks import relay
    from webhooks import services as webhooks
    from webhooks.models import EventType, RelayCursor, WebhookEndpoint, WebhookEvent

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    actor = get_user_model().objects.create_superuser("bench", "bench@example.com", None)
    customer = Customer.objects.create(name="Bench", currency="USD")
    webhooks.endpoint_create(
        url="https://93.184.215.14/hooks", event_types=EventType.values, actor=actor
    )
    from django.utils import timezone

    today = timezone.localdate()

    def invoices(count):
        made = []
        for _ in range(count):
            draft = services.invoice_create(
                customer=customer,
                currency="USD",
                lines=[{"description": "Work", "quantity": 1, "unit_price": Money("90", "USD")}],
                actor=actor,
            )
            made.append(services.invoice_issue(invoice=draft, actor=actor))
        return made

    rows = {"payments": [], "idle": [], "relay": [], "events": []}
    for _ in range(ROUNDS):
        WebhookEndpoint.objects.update(enabled=False)
        targets = invoices(PAYMENTS // 3)
        relay.relay()  # the issues, skipped: nobody listens
        started = time.perf_counter()
        for n in range(PAYMENTS):
            services.payment_record(
                invoice=targets[n % len(targets)],
                amount=Money("30", "USD"),
                method="cash",
                paid_at=today,
                actor=actor,
            )
        rows["payments"].append(PAYMENTS / (time.perf_counter() - started))

        # The same payments relayed: wind the cursor back over them.
        cursor = RelayCursor.objects.get(source="invoice_event")
        before = cursor.last_id
        started = time.perf_counter()
        relay.relay()
        rows["idle"].append(time.perf_counter() - started)

        RelayCursor.objects.filter(source="invoice_event").update(last_id=before)
        WebhookEndpoint.objects.update(enabled=True)
        events_before = WebhookEvent.objects.count()
        started = time.perf_counter()
        while relay.relay():
            pass
        elapsed = time.perf_counter() - started
        rows["relay"].append(PAYMENTS / elapsed)
        rows["events"].append((WebhookEvent.objects.count() - events_before) / elapsed)

    payments, relayed = statistics.median(rows["payments"]), statistics.median(rows["relay"])
    print(f"payment_record, 1 client:            {payments:8.0f} payments/s")
    print(f"relay, no endpoint (one round):      {statistics.median(rows['idle']) * 1000:8.1f} ms")
    print(f"relay, one endpoint, every type:     {relayed:8.0f} timeline rows/s")
    print(f"                                     {statistics.median(rows['events']):8.0f} events/s")
    print(f"relayed rows per recorded payment:   {relayed / payments:8.2f}")


if __name__ == "__main__":
    main()
