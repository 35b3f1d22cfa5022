"""import_payments against payment_record called in a loop, on PostgreSQL.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/import_payments.py [--rows N]

Builds a fresh `<db>_import_bench` database with 2 x N open invoices, then:

- loop: billing.services.payment_record with an idempotency key, once per
  invoice of the first half, as a script calling the service would;
- import: `manage.py import_payments` of a CSV file with one row per invoice of
  the second half (read, skip the rows already recorded, check every row, write
  each through the same service with its row key);
- again: the same file imported a second time (every row skipped).

It prints rows per second, the import's rate as a share of the loop's (what
reading, checking and reporting cost on top of the writes), and the queries per
row of each phase for N/4 and N rows: they must not grow with the rows.
"""

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _bench_db  # noqa: E402  (beside this script)


class Counter:
    """Counts the queries Django sends (connection.execute_wrapper)."""

    def __init__(self):
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def prepare(count):
    url = _bench_db.bench_url("_import_bench")
    _bench_db.ensure_database(url, rebuild=True)
    _bench_db.setup_django(url)
    from django.conf import settings

    settings.DEBUG = False
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    actor = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    return actor


def invoices(actor, count):
    from decimal import Decimal

    from moneyed import Money

    from billing import services
    from billing.models import Customer

    customer = Customer.objects.create(name="Bench", currency="USD")
    made = []
    for _ in range(count):
        draft = services.invoice_create(
            customer=customer,
            currency="USD",
            lines=[{"description": "x", "quantity": Decimal(1), "unit_price": Money("10", "USD")}],
            actor=actor,
        )
        made.append(services.invoice_issue(invoice=draft, actor=actor, apply_credit=False))
    return made


def measured(work):
    from django.db import connection

    counter = Counter()
    with connection.execute_wrapper(counter):
        start = time.perf_counter()
        work()
        seconds = time.perf_counter() - start
    return seconds, counter.queries


def run(actor, count):
    from django.core.management import call_command
    from django.utils import timezone
    from moneyed import Money

    from billing import services

    today = timezone.localdate()
    loop_invoices, file_invoices = invoices(actor, count), invoices(actor, count)

    def loop():
        for invoice in loop_invoices:
            services.payment_record(
                invoice=invoice,
                amount=Money("10.00", "USD"),
                method="cash",
                paid_at=today,
                idempotency_key=f"loop:{invoice.pk}",
                actor=actor,
            )

    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as csv:
        csv.write("invoice,amount,currency,paid_at,method\n")
        for invoice in file_invoices:
            csv.write(f"{invoice.number},10.00,USD,{today},cash\n")

    def load():
        call_command("import_payments", csv.name, actor="bench", stdout=io.StringIO())

    return measured(loop), measured(load), measured(load)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    rows = parser.parse_args().rows
    actor = prepare(rows)
    results = {}
    for count in (rows // 4, rows):
        results[count] = run(actor, count)
    print(
        f"{'rows':>6} {'loop rows/s':>12} {'import rows/s':>14} {'import/loop':>12} "
        f"{'again rows/s':>13} {'q/row loop':>11} {'q/row import':>13} {'q/row again':>12}"
    )
    for count, ((loop_s, loop_q), (load_s, load_q), (again_s, again_q)) in results.items():
        print(
            f"{count:>6} {count / loop_s:>12,.0f} {count / load_s:>14,.0f} "
            f"{loop_s / load_s:>12.0%} {count / again_s:>13,.0f} {loop_q / count:>11.2f} "
            f"{load_q / count:>13.2f} {again_q / count:>12.3f}"
        )


if __name__ == "__main__":
    main()
