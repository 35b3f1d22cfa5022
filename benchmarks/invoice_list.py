"""The invoice list page at a million invoices, against the bare SQL it needs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/billing \
        .venv/bin/python benchmarks/invoice_list.py

Builds (once, in SQL with generate_series, about a minute) a `<db>_listbench`
database with 1,000,000 invoices of 3,000 customers in five currencies, issued
over three years, in every status (about 8% of those older than 30 days still
unpaid, so overdue). Then times the invoice list view through Django's test
Client, signed in as a Billing manager (session, user and permission queries
included), for each case below, and, in the same run, the bare SQL of the page's
own `SELECT ... LIMIT 26` through psycopg. It prints the median and p95 of each
and the ratio of the medians. `--rebuild` drops and builds the data again.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _bench_db  # noqa: E402  (beside this script)

INVOICES = 1_000_000
CUSTOMERS = 3_000
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KWD")
USERNAME = "listbench"


def bench_url():
    return _bench_db.bench_url("_listbench")


def setup_django():
    _bench_db.setup_django(bench_url())
    from django.conf import settings

    # Production-like: no query log, no htmx debug script. (Static files keep
    # the debug storage, so no collectstatic is needed.)
    settings.DEBUG = False


# Customers: names from a few words, so a name search matches a handful or many.
CUSTOMERS_SQL = """
INSERT INTO billing_customer (name, email, currency, external_ref, created_at, created_by_id)
SELECT (ARRAY['Acme','Globex','Initech','Umbrella','Stark','Wayne','Tyrell','Cyberdyne',
              'Soylent','Hooli','Vandelay','Wonka','Gringotts','Oscorp','Aperture'])[1 + c %% 15]
       || ' ' || (ARRAY['Trading','Logistics','Foods','Systems','Partners','Holdings',
                        'Labs','Retail'])[1 + (c / 15) %% 8]
       || ' ' || lpad(c::text, 5, '0'),
       'billing' || c || '@example.com',
       (ARRAY['USD','EUR','GBP','JPY','KWD'])[1 + c %% 5],
       'bench-' || c,
       now(), %(user)s
FROM generate_series(0, %(customers)s - 1) AS c
"""

# Invoices: id order is issue order; status from the age and a hash of the row.
# Amounts keep the invoice identity (total = credited + paid + due) and each
# currency's minor unit (JPY none, KWD three).
INVOICES_SQL = """
WITH rows AS (
  SELECT g,
         (g::bigint * 7919) %% %(customers)s AS c,
         (g * 2654435761) %% 100 AS r,
         ((%(invoices)s - g) * 1095 / %(invoices)s)::int AS age
  FROM generate_series(1, %(invoices)s) AS g
), typed AS (
  SELECT rows.*, customer.id AS customer_id, customer.currency,
         CASE customer.currency
           WHEN 'JPY' THEN (1000 + g %% 50000)::numeric
           WHEN 'KWD' THEN ((1000 + g %% 50000) / 1000.0)::numeric(19, 3)
           ELSE ((1000 + g %% 50000) / 100.0)::numeric(19, 2)
         END AS total,
         CASE
           WHEN r < 2 THEN 'draft'
           WHEN r < 4 THEN 'void'
           WHEN age <= 30 AND r < 60 THEN 'open'
           WHEN age <= 30 AND r < 75 THEN 'partially_paid'
           WHEN age > 30 AND r < 8 THEN 'open'
           WHEN age > 30 AND r < 12 THEN 'partially_paid'
           ELSE 'paid'
         END AS status
  FROM rows
  JOIN billing_customer customer ON customer.external_ref = 'bench-' || rows.c
), amounts AS (
  SELECT typed.*,
         CASE status
           WHEN 'paid' THEN total
           WHEN 'partially_paid' THEN trunc(total / 2, CASE currency WHEN 'JPY' THEN 0 ELSE 2 END)
           ELSE 0
         END AS paid,
         CASE WHEN status = 'draft' THEN NULL ELSE current_date - age END AS issued
  FROM typed
)
INSERT INTO billing_invoice (
  number, customer_id, currency, status, issue_date, due_date,
  total, total_currency, amount_credited, amount_credited_currency,
  amount_paid, amount_paid_currency, amount_due, amount_due_currency,
  amount_pending, amount_pending_currency, created_at, created_by_id)
SELECT CASE WHEN status = 'draft' THEN NULL
            ELSE 'INV-' || extract(year FROM issued) || '-' || lpad(g::text, 7, '0') END,
       customer_id, currency, status, issued, issued + 30,
       total, currency, 0, currency,
       paid, currency, total - paid, currency,
       0, currency, now() - make_interval(days => age), %(user)s
FROM amounts
ORDER BY g
"""


def prepare(rebuild=False):
    """Create and fill the bench database once (idempotent)."""
    _bench_db.ensure_database(bench_url(), rebuild=rebuild)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from billing import permissions
    from billing.models import Invoice

    call_command("migrate", verbosity=0)
    User = get_user_model()
    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = User.objects.create_user(USERNAME, password=USERNAME, is_staff=True)
        user.groups.add(Group.objects.get(name=permissions.MANAGER))
    if not Invoice.objects.exists():
        started = time.perf_counter()
        print(f"Building {INVOICES:,} invoices of {CUSTOMERS:,} customers (once)...", flush=True)
        params = {"user": user.pk, "customers": CUSTOMERS, "invoices": INVOICES}
        with connection.cursor() as cursor:
            cursor.execute(CUSTOMERS_SQL, params)
            cursor.execute(INVOICES_SQL, params)
            cursor.execute("ANALYZE")
        print(f"Built in {time.perf_counter() - started:.0f} s.", flush=True)
    return user


def cases():
    """(name, query string) for each timed page."""
    from billing.models import Customer, Invoice

    busy = Customer.objects.order_by("pk")[CUSTOMERS // 2]
    sample = Invoice.objects.filter(number__isnull=False).order_by("pk")[INVOICES // 3]
    deep = Invoice.objects.order_by("pk").values_list("pk", flat=True)[INVOICES // 20]
    dated = Invoice.objects.filter(issue_date__isnull=False).order_by("pk")[INVOICES // 20]
    deep_dated = f"{dated.issue_date:%Y-%m-%d}~{dated.pk}"
    prefix = sample.number[:-2]  # e.g. INV-2024-03401xx: a hundred numbers
    return [
        ("first page", ""),
        ("status=paid", "status=paid"),
        ("status=draft", "status=draft"),
        ("overdue", "status=overdue"),
        ("customer", f"customer={busy.pk}"),
        ("customer+overdue", f"customer={busy.pk}&status=overdue"),
        ("currency=KWD", "currency=KWD"),
        ("number prefix", f"q={prefix}"),
        ("customer name", "q=Wonka+Labs"),
        ("issued in a month", "issued_from=2024-01-01&issued_to=2024-01-31"),
        ("issued up to a day", "issued_to=2024-06-30"),
        ("deep page", f"after={deep}"),
        ("deep page, paid", f"status=paid&after={deep}"),
        ("deep page, by date", f"issued_to=2026-01-01&after={deep_dated}"),
    ]


def timings(run, repeat):
    for _ in range(3):
        run()  # warm up: caches, plans, connections
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(len(samples) * 0.95) - 1)]


def page_sql(client, url):
    """The SQL and parameters of the page's own invoice query (the LIMIT 26)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    selects = [q["sql"] for q in captured if 'FROM "billing_invoice"' in q["sql"]]
    selects = [sql for sql in selects if "LIMIT 26" in sql]
    assert len(selects) == 1, selects
    return selects[0], len(captured)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print each page's query plan")
    options = parser.parse_args()
    user = prepare(rebuild=options.rebuild)

    import psycopg
    from django.test import Client
    from django.urls import reverse

    from billing.models import Invoice

    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    base = reverse("billing:invoice_list")
    raw = psycopg.connect(bench_url(), autocommit=True)
    count = Invoice.objects.count()
    print(f"{count:,} invoices; {options.repeat} runs per case; PostgreSQL; times in ms")
    header = f"{'case':<20} {'queries':>7} {'view p50':>9} {'view p95':>9} {'SQL p50':>8}"
    print(f"{header} {'SQL p95':>8} {'view/SQL':>9}")
    worst = 0.0
    for name, query in cases():
        url = f"{base}?{query}" if query else base
        # The captured SQL has its parameters inlined, as the view ran it.
        sql, queries = page_sql(client, url)
        view_p50, view_p95 = timings(lambda url=url: client.get(url), options.repeat)
        sql_p50, sql_p95 = timings(lambda sql=sql: raw.execute(sql).fetchall(), options.repeat)
        worst = max(worst, view_p95)
        print(
            f"{name:<20} {queries:>7} {view_p50:>9.1f} {view_p95:>9.1f} {sql_p50:>8.2f}"
            f" {sql_p95:>8.2f} {view_p50 / sql_p50:>8.0f}x"
        )
        if options.explain:
            for (line,) in raw.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall():
                print(f"    {line}")
    print(f"worst view p95: {worst:.1f} ms (target: well under 100 ms)")


if __name__ == "__main__":
    main()
