"""payment_record against the raw SQL of the same transaction, on PostgreSQL.

    make bench
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/payment_record.py

Builds (once) a `<db>_bench` database with 10,000 open invoices, then, for 1 and 8
concurrent client processes, runs for a fixed time each:

- service: billing.services.payment_record on a random invoice;
- raw SQL: BEGIN; SELECT ... FOR UPDATE the invoice; INSERT the payment; UPDATE
  the invoice's amounts; COMMIT, through psycopg with nothing else;
- Django SQL+event: the raw statements plus the timeline event insert the service
  also writes, through Django's connection and transaction.atomic (no ORM), to
  tell the cost of Django's database layers from the ORM's.

It prints the rates (transactions per second) and service/raw ratios. Both sides
run in the same run on the same data, so the ratio is the figure to read.
"""

import argparse
import multiprocessing
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _bench_db  # noqa: E402  (beside this script)

INVOICES = 10_000


def bench_url():
    return _bench_db.bench_url("_bench")


def setup_django():
    _bench_db.setup_django(bench_url())


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


def run_service(args):
    ids, user_id, seconds, seed = args
    setup_django()
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
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        payment_record(
            invoice=invoices[rng.choice(ids)],
            amount=amount,
            method="cash",
            paid_at=today,
            actor=actor,
        )
        done += 1
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
    ids, user_id, seconds, seed = args
    import psycopg

    rng = random.Random(seed)
    done, end = 0, time.perf_counter() + seconds
    with psycopg.connect(bench_url()) as conn:
        while time.perf_counter() < end:
            pk = rng.choice(ids)
            with conn.transaction():
                conn.execute(RAW_SQL[0], [pk]).fetchone()
                conn.execute(RAW_SQL[1], [pk, uuid.uuid4(), user_id])
                conn.execute(RAW_SQL[2], [pk])
            done += 1
    return done


EVENT_SQL = """INSERT INTO billing_invoiceevent (invoice_id, kind, currency, amount_currency,
    amount,
    message, created_at, created_by_id)
   VALUES (%s, 'payment_recorded', 'USD', 'USD', 1.00, 'Cash', now(), %s)"""


def run_django_sql(args):
    """The same statements plus the timeline event, through Django's connection and
    transaction.atomic: what Django's own layers cost, apart from the ORM."""
    ids, user_id, seconds, seed = args
    setup_django()
    from django.db import connection, transaction

    rng = random.Random(seed)
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        pk = rng.choice(ids)
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            cursor.execute(RAW_SQL[0], [pk])
            cursor.fetchone()
            cursor.execute(RAW_SQL[1], [pk, uuid.uuid4(), user_id])
            cursor.execute(RAW_SQL[2], [pk])
            cursor.execute(EVENT_SQL, [pk, user_id])
        done += 1
    connection.close()
    return done


def measure(worker, ids, user_id, clients, seconds):
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        counts = pool.map(worker, [(ids, user_id, seconds, n) for n in range(clients)])
    return sum(counts) / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    options = parser.parse_args()
    ids, user_id = prepare()
    print(f"{len(ids):,} invoices; {options.seconds:g} s per measurement; PostgreSQL")
    print(
        f"{'clients':>7}  {'service tx/s':>12}  {'raw SQL tx/s':>12}  {'ratio':>6}"
        f"  {'Django SQL+event tx/s':>21}  {'ratio':>6}"
    )
    for clients in options.clients:
        raw = measure(run_raw, ids, user_id, clients, options.seconds)
        django_sql = measure(run_django_sql, ids, user_id, clients, options.seconds)
        service = measure(run_service, ids, user_id, clients, options.seconds)
        print(
            f"{clients:>7}  {service:>12.0f}  {raw:>12.0f}  {service / raw:>6.0%}"
            f"  {django_sql:>21.0f}  {django_sql / raw:>6.0%}"
        )


if __name__ == "__main__":
    main()
