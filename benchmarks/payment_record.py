"""payment_record against the raw SQL of the same transaction, on PostgreSQL.

    make bench
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/payment_record.py

Builds (once) a `<db>_bench` database with 10,000 open invoices, then, for 1 and 8
concurrent client processes started together, runs for a fixed time each:

- service: billing.services.payment_record on a random invoice, DEBUG off as in
  production (on, Django keeps every query's SQL);
- raw SQL: BEGIN; SELECT ... FOR UPDATE the invoice; INSERT the payment; UPDATE
  the invoice's amounts; COMMIT, through psycopg with nothing else;
- ORM path: the service with its one-statement path declined, so it takes the
  ORM path SQLite and every other case take (billing/services/_one_statement.py
  says why there are two);
- with key: the service given a new idempotency key each call, as every
  back-office form sends one.

Each round measures the four in turn; it prints the medians over the rounds of
the rates (transactions per second) and of each round's ratio to raw SQL. All
run in the same run on the same data, so the ratios are the figures to read.
"""

import argparse
import multiprocessing
import random
import sys
import time
import uuid
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _bench_db  # noqa: E402  (beside this script)

INVOICES = 10_000
WARM_UP = 20  # transactions per client before the clock starts


def bench_url():
    return _bench_db.bench_url("_bench")


def setup_django():
    _bench_db.setup_django(bench_url())
    from django.conf import settings

    settings.DEBUG = False


def prepare():
    """Create and fill the bench database once (idempotent)."""
    _bench_db.ensure_database(bench_url())
    setup_django()
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
        customer = Customer.objects.create(name="Bench", currency="USD", created_by=user)
        big = Money("99999999.00", "USD")
        zero = Money("0", "USD")
        # Setup only: large open invoices that thousands of 1.00 payments never exhaust.
        Invoice.objects.bulk_create(
            [
                Invoice(
                    number=f"BENCH-{i:06d}",
                    customer=customer,
                    currency="USD",
                    status="open",
                    total=big,
                    amount_credited=zero,
                    amount_paid=zero,
                    amount_due=big,
                    amount_pending=zero,
                    created_by=user,
                )
                for i in range(INVOICES)
            ],
            batch_size=2000,
        )
    return list(Invoice.objects.values_list("pk", flat=True)), user.pk


def timed(one_transaction, seconds, start):
    """Warm up, wait for the other clients, then count transactions for ``seconds``."""
    for _ in range(WARM_UP):
        one_transaction()
    start.wait()
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        one_transaction()
        done += 1
    return done


def run_service(args, *, one_statement=True, keyed=False):
    ids, user_id, seconds, seed, start = args
    setup_django()
    if not one_statement:
        from billing.services import _one_statement

        _one_statement.record_payment = lambda *args, **kwargs: None
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone
    from moneyed import Money

    from billing.models import Invoice
    from billing.services import payment_record

    rng = random.Random(seed)
    actor = get_user_model().objects.get(pk=user_id)
    amount, today = Money("1.00", "USD"), timezone.localdate()
    invoices = {pk: Invoice(pk=pk, currency="USD") for pk in ids}

    def one_transaction():
        payment_record(
            invoice=invoices[rng.choice(ids)],
            amount=amount,
            method="cash",
            paid_at=today,
            actor=actor,
            idempotency_key=str(uuid.uuid4()) if keyed else None,
        )

    done = timed(one_transaction, seconds, start)
    connection.close()
    return done


RAW_SQL = [
    "SELECT id, amount_paid, amount_due FROM billing_invoice WHERE id = %s FOR UPDATE",
    """INSERT INTO billing_payment (invoice_id, currency, amount, amount_currency, status,
        method, cheque_number, card_brand, card_last4, bank_reference, paid_at, reference,
        notes, gateway_key, gateway_charge_id, failure_reason, amount_refunded,
        amount_refunded_currency, amount_to_credit, amount_to_credit_currency, void_reason,
        created_at, created_by_id)
       VALUES (%s, 'USD', 1.00, 'USD', 'succeeded', 'cash', '', '', '', '', CURRENT_DATE, '',
        '', %s, '', '', 0, 'USD', 0, 'USD', '', now(), %s)""",
    """UPDATE billing_invoice SET amount_paid = amount_paid + 1.00,
        amount_due = amount_due - 1.00, status = 'partially_paid' WHERE id = %s""",
]


def run_raw(args):
    ids, user_id, seconds, seed, start = args
    import psycopg

    rng = random.Random(seed)
    with psycopg.connect(bench_url()) as conn:

        def one_transaction():
            pk = rng.choice(ids)
            with conn.transaction():
                conn.execute(RAW_SQL[0], [pk]).fetchone()
                conn.execute(RAW_SQL[1], [pk, uuid.uuid4(), user_id])
                conn.execute(RAW_SQL[2], [pk])

        return timed(one_transaction, seconds, start)


def run_orm_path(args):
    return run_service(args, one_statement=False)


def run_keyed(args):
    return run_service(args, keyed=True)


WORKERS = {"service": run_service, "raw": run_raw, "orm": run_orm_path, "keyed": run_keyed}


def measure(worker, ids, user_id, clients, seconds):
    """Transactions per second of ``clients`` processes started together."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(clients) as pool:
        start = manager.Barrier(clients)
        args = [(ids, user_id, seconds, n, start) for n in range(clients)]
        counts = pool.map(worker, args)
    return sum(counts) / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    options = parser.parse_args()
    ids, user_id = prepare()
    print(
        f"{len(ids):,} invoices; PostgreSQL; medians of {options.rounds} rounds of "
        f"{options.seconds:g} s per measurement, the four measured in turn each round"
    )
    print(
        f"{'clients':>7}  {'service tx/s':>12}  {'raw SQL tx/s':>12}  {'ratio':>6}"
        f"  {'ORM path tx/s':>13}  {'ratio':>6}  {'with key tx/s':>13}  {'ratio':>6}"
    )
    for clients in options.clients:
        rates = {name: [] for name in WORKERS}
        for _ in range(options.rounds):
            for name, worker in WORKERS.items():
                rates[name].append(measure(worker, ids, user_id, clients, options.seconds))
        raw = rates["raw"]
        # Each round's ratio, so a slow spell of the machine falls on both sides.
        service_ratio = median(s / r for s, r in zip(rates["service"], raw, strict=True))
        orm_ratio = median(o / r for o, r in zip(rates["orm"], raw, strict=True))
        keyed_ratio = median(k / r for k, r in zip(rates["keyed"], raw, strict=True))
        print(
            f"{clients:>7}  {median(rates['service']):>12.0f}  {median(raw):>12.0f}"
            f"  {service_ratio:>6.0%}  {median(rates['orm']):>13.0f}  {orm_ratio:>6.0%}"
            f"  {median(rates['keyed']):>13.0f}  {keyed_ratio:>6.0%}"
        )


if __name__ == "__main__":
    main()
