"""The payments list's filters by what a clerk types, at 300,000 payments.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/billing \
        .venv/bin/python benchmarks/payment_search.py

Builds (once, in SQL with generate_series, a few seconds) a `<db>_paysearch`
database: one invoice, 300,000 payments of every method with their details
(cheque numbers, bank references, terminal cards' last 4) and a fifth of them
charged to one saved card. Then, for each filter of the payments list
(billing.filters.PaymentFilterSet), it runs EXPLAIN ANALYZE of the first page's
query (the `SELECT ... LIMIT 26` the page sends) and prints the plan's scan of
billing_payment and its execution time, beside the unfiltered first page.
`--rebuild` drops and builds the data again.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _bench_db  # noqa: E402  (beside this script)

PAYMENTS = 300_000

PAYMENTS_SQL = """
INSERT INTO billing_payment (currency, amount_currency, amount, status, method, cheque_number,
  card_brand, card_last4, bank_reference, paid_at, reference, notes, gateway_key,
  gateway_charge_id, failure_reason, amount_refunded_currency, amount_refunded,
  amount_to_credit_currency, amount_to_credit, void_reason, created_at, created_by_id,
  invoice_id, payment_method_id)
SELECT 'USD', 'USD', (1 + n %% 5000) + (n %% 100) / 100.0, 'succeeded',
  (ARRAY['cash','cheque','bank_transfer','card','saved_method'])[1 + n %% 5],
  CASE WHEN n %% 5 = 1 THEN (100000 + n)::text ELSE '' END,
  CASE WHEN n %% 5 = 3 THEN 'visa' ELSE '' END,
  CASE WHEN n %% 5 = 3 THEN lpad((n %% 10000)::text, 4, '0') ELSE '' END,
  CASE WHEN n %% 5 = 2 THEN 'ACME-TRF-' || n ELSE '' END,
  current_date - (n %% 1000), '', '', gen_random_uuid(), '', '',
  'USD', 0, 'USD', 0, '', now() - (n || ' minutes')::interval, %(user)s, %(invoice)s,
  CASE WHEN n %% 5 = 4 THEN %(card)s ELSE NULL END
FROM generate_series(1, %(payments)s) AS n
"""

CASES = [
    ("no filter", {}),
    ("bank reference", {"bank_reference": "acme-trf-150002"}),
    ("cheque number", {"cheque_number": "150001"}),
    ("card last 4 (terminals)", {"card_last4": "0003"}),
    ("card last 4 (a saved card)", {"card_last4": "4242"}),
    ("amount", {"amount": "4321.21"}),
    ("amount range", {"amount_min": "100", "amount_max": "100.50"}),
]


def build():
    from django.contrib.auth import get_user_model
    from django.db import connection

    from billing import services
    from tests.helpers import issued_invoice

    user = get_user_model().objects.create_superuser("paysearch", "bench@example.com", None)
    customer = services.customer_create(name="Acme", currency="USD", actor=user)
    card = services.payment_method_add(
        customer=customer,
        gateway="sandbox",
        token="sandbox_ok",
        brand="visa",
        last4="4242",
        exp_month=1,
        exp_year=2040,
        actor=user,
    )
    invoice = issued_invoice(customer, user, "99999999.00")
    params = {"user": user.pk, "invoice": invoice.pk, "card": card.pk, "payments": PAYMENTS}
    with connection.cursor() as cursor:
        cursor.execute(PAYMENTS_SQL, params)
        cursor.execute("ANALYZE")


def explain(query):
    from django.db import connection

    from billing.filters import PaymentFilterSet

    filterset = PaymentFilterSet(query)
    assert filterset.form.is_valid(), filterset.form.errors
    sql, params = filterset.qs[:26].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN ANALYZE " + sql, params)
        timed = [row[0] for row in cursor.fetchall()]
    scan = next(line.strip() for line in plan if "billing_payment" in line and "Scan" in line)
    time = next(line for line in timed if line.startswith("Execution Time"))
    return scan.split("  (")[0].lstrip("-> "), time.removeprefix("Execution Time: ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    url = _bench_db.bench_url("_paysearch")
    _bench_db.ensure_database(url, rebuild=args.rebuild)
    _bench_db.setup_django(url)
    from django.core.management import call_command

    from billing.models import Payment

    call_command("migrate", verbosity=0)
    if Payment.objects.count() < PAYMENTS:
        build()
    for label, query in CASES:
        explain(query)  # Warm the cache.
        scan, time = explain(query)
        print(f"{label:28} {time:>10}   {scan}")


if __name__ == "__main__":
    main()
