"""Importing and matching a bank statement against many open invoices, on PostgreSQL.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bank_import.py [--lines 10000]

Builds (once; ``--rebuild`` to start over) a `<db>_bank_bench` database with
100,000 open invoices of 10,000 customers, then imports statements (the bank
CSV export of docs/bank.md) through ``bank.services.statement_import``, with
DEBUG off as in production, and prints for each size the wall time and the
queries per line. Each statement is made fresh from invoices still open:

- 40% name one open invoice and pay exactly what it asks for (recorded
  automatically: one payment each, through billing's payment service);
- 20% name an invoice but pay less (a suggestion);
- 20% name no invoice, from a customer's name, paying one of its dues;
- 15% name nothing anyone knows (unmatched);
-  5% debits (ignored).

Sizes 1,000 and ``--lines`` (10,000) are run in that order, so the queries per
line of the two show whether the cost per line is constant. Beside the wall
time it prints this process's CPU time (Python: reading, matching, building
rows; not the database server's), which a loaded machine moves less.
"""

import argparse
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _bench_db  # noqa: E402  (beside this script)

INVOICES = 100_000
CUSTOMERS = 10_000


def bench_url():
    return _bench_db.bench_url("_bank_bench")


def prepare(rebuild):
    _bench_db.ensure_database(bench_url(), rebuild=rebuild)
    _bench_db.setup_django(bench_url())
    from django.conf import settings

    settings.DEBUG = False
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from moneyed import Money

    from billing.models import Customer, Invoice

    call_command("migrate", verbosity=0)
    User = get_user_model()
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    if Invoice.objects.count() < INVOICES:
        rng = random.Random(1)
        customers = Customer.objects.bulk_create(
            [
                Customer(name=f"Bench Customer {i:05d}", currency="EUR", created_by=user)
                for i in range(CUSTOMERS)
            ],
            batch_size=2000,
        )
        zero = Money("0", "EUR")
        invoices = []
        for i in range(INVOICES):
            # Setup only: open invoices written directly, amounts of 10.00 to 5,000.00.
            amount = Money(Decimal(rng.randint(1000, 500000)).scaleb(-2), "EUR")
            invoices.append(
                Invoice(
                    number=f"INV-2025-{i + 1:06d}",
                    customer=customers[i % CUSTOMERS],
                    currency="EUR",
                    status="open",
                    total=amount,
                    amount_credited=zero,
                    amount_paid=zero,
                    amount_due=amount,
                    amount_pending=zero,
                    created_by=user,
                )
            )
        Invoice.objects.bulk_create(invoices, batch_size=5000)
    return user


def statement(lines, rng):
    """A bank CSV export of ``lines`` lines over invoices still open."""
    from billing.models import Invoice

    open_invoices = list(
        Invoice.objects.can_take_payment()
        .values_list("number", "amount_due", "customer__name")
        .order_by("?")[: lines * 2]
    )
    run = uuid.uuid4().hex[:8]
    rows = ["account,bank_reference,booking_date,amount,currency,counterparty_name,remittance"]
    for i in range(lines):
        number, due, name = open_invoices[i]
        roll = rng.random()
        if roll < 0.40:
            amount, text, who = due, f"Invoice {number}", name
        elif roll < 0.60:
            amount, text, who = (due / 2).quantize(Decimal("0.01")), number.lower(), name
        elif roll < 0.80:
            amount, text, who = due, "monthly payment", name
        elif roll < 0.95:
            amount, text, who = Decimal("12.34"), "gift", f"Stranger {i}"
        else:
            amount, text, who = -Decimal("9.99"), "bank fee", ""
        rows.append(f"NL91BENCH0000000001,{run}-{i},2026-02-02,{amount},EUR,{who},{text}")
    return ("\n".join(rows) + "\n").encode()


def measure(user, lines, rng):
    from django.db import connection

    from bank import services

    data = statement(lines, rng)
    queries = 0
    recording = 0.0
    record = services.lines_auto_record

    def timed_record(**kwargs):
        # How much of the wall time recording the certain lines takes.
        nonlocal recording
        start = time.perf_counter()
        try:
            return record(**kwargs)
        finally:
            recording += time.perf_counter() - start

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    services.lines_auto_record = timed_record
    try:
        with connection.execute_wrapper(count):
            start, cpu = time.perf_counter(), time.process_time()
            result = services.statement_import(data=data, file_name="bench.csv", actor=user)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        services.lines_auto_record = record
    return result, seconds, cpu, queries, recording


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--rebuild", action="store_true", help="Build the bench database anew.")
    args = parser.parse_args()
    user = prepare(args.rebuild)
    rng = random.Random(2)
    print(f"{INVOICES:,} open invoices to start with; bank CSV statements of each size:")
    print(
        "| lines | wall time | of which recording | this process's CPU | lines/s | queries "
        "| queries per line | recorded | suggested |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for lines in (1_000, args.lines):
        result, seconds, cpu, queries, recording = measure(user, lines, rng)
        print(
            f"| {lines:,} | {seconds:.1f} s | {recording:.1f} s | {cpu:.1f} s "
            f"| {lines / seconds:,.0f} | {queries:,} | {queries / lines:.2f} "
            f"| {result.recorded:,} | {result.suggested:,} |"
        )
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
