"""The back office over real HTTP: gunicorn, wrk, and a bare Django view as the floor.

    make bench        (or, alone:)
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/http_pages.py

Builds (once, like benchmarks/invoice_list.py, whose SQL it reuses) a
`<db>_httpbench` database with 1,000,000 invoices, plus one invoice made through
the services (three lines, issued, three payments) for the invoice page. Starts
gunicorn on loopback (4 sync workers, DEBUG off, persistent database connections,
benchmarks/http_settings.py), and drives it with wrk (benchmarks/http_wrk.lua) at
1 and 8 clients, in interleaved rounds:

- bare: a view mounted only by the benchmark's URLconf, no session, no form, no
  template, running the raw SQL of a payment (SELECT ... FOR UPDATE, INSERT,
  UPDATE, in a transaction), 204;
- record: the record-payment POST as the browser sends it (session cookie, CSRF
  cookie, token and header, HX-Request, a new idempotency key each time), 204;
- invoice page: GET of the invoice with three lines and three payments;
- list: the invoice list's first page at 1,000,000 invoices;
- list, number: the list filtered by a number prefix (100 matching invoices).

Both payment kinds pay 0.01 on a random one of 400 open invoices. It prints the
medians over the rounds of the rate, p50, p95 and p99 (wrk's latency on
loopback: at 1 client, the server's time for the request), and of each round's
rate ratio to the bare view, measured in the same round. Then cProfile of
in-process requests (Django's test Client, same settings), top functions by
cumulative time, and what the planner estimates for the number-prefix query after
repeated ANALYZEs. It stops the server it started.
"""

# ruff: noqa: E402  (the imports wait for sys.path, below)
import sys
from pathlib import Path

# This file shares its name with the standard library's http package, and Python
# put its folder first on sys.path: keep that folder, but after the library's,
# before anything imports http.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.append(str(HERE))

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from statistics import median

import _bench_db  # beside this script
import invoice_list  # its SQL builds the million invoices

USERNAME = "httpbench"
SECRET_KEY = "http-benchmark-only-not-a-secret"
POOL = 400  # open invoices the payments go to
WORKERS = 4
VENV_BIN = Path(sys.executable).parent


def bench_url():
    return _bench_db.bench_url("_httpbench")


def server_env(user_id=0):
    """Production's settings (DEBUG off), on loopback without TLS."""
    return {
        **os.environ,
        "DATABASE_URL": bench_url(),
        "DJANGO_SETTINGS_MODULE": "benchmarks.http_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DB_CONN_MAX_AGE": "600",
        "DJANGO_LOG_LEVEL": "WARNING",
        "HTTP_BENCH_USER_ID": str(user_id),
        "PYTHONPATH": str(ROOT),
    }


def setup_django():
    os.environ.update(server_env())
    import warnings

    import django

    # whitenoise notes that nothing was collected; the benchmark serves no static file.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)

    django.setup()


def prepare(rebuild=False):
    """The bench database (once), its user, the invoice page's invoice, the pool."""
    _bench_db.ensure_database(bench_url(), rebuild=rebuild)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from billing import permissions
    from billing.models import Customer, Invoice

    call_command("migrate", verbosity=0)
    User = get_user_model()
    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = User.objects.create_user(USERNAME, password=USERNAME, is_staff=True)
        user.groups.add(Group.objects.get(name=permissions.MANAGER))
    if not Invoice.objects.exists():
        started = time.perf_counter()
        count = invoice_list.INVOICES
        print(f"Building {count:,} invoices (once)...", flush=True)
        params = {"user": user.pk, "customers": invoice_list.CUSTOMERS, "invoices": count}
        with connection.cursor() as cursor:
            cursor.execute(invoice_list.CUSTOMERS_SQL, params)
            cursor.execute(invoice_list.INVOICES_SQL, params)
            cursor.execute("ANALYZE")
        print(f"Built in {time.perf_counter() - started:.0f} s.", flush=True)
    page = page_invoice(user, Customer, Invoice)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM billing_invoice WHERE status IN ('open', 'partially_paid')"
            " AND currency = 'USD' AND amount_due >= 50 AND amount_pending = 0"
            " AND customer_id <> %s ORDER BY id LIMIT %s",
            [page.customer_id, POOL],
        )
        pool = [pk for (pk,) in cursor.fetchall()]
    sample = Invoice.objects.filter(number__isnull=False).order_by("pk")[count_third()]
    user.api_secret = api_secret(user)
    return user, page, pool, sample.number[:-2]


def api_secret(user):
    """A new API key of the bench user for this run (only its hash is stored)."""
    from api.keys import api_key_create
    from api.models import ApiKey

    ApiKey.objects.filter(user=user, name="http bench").delete()
    return api_key_create(user=user, name="http bench", actor=user)[1]


def count_third():
    return invoice_list.INVOICES // 3


def page_invoice(user, Customer, Invoice):
    """An invoice as people make it: three lines, issued, three payments."""
    from decimal import Decimal

    from django.utils import timezone
    from moneyed import Money

    from billing import services

    customer = Customer.objects.filter(external_ref="http-bench-page").first()
    if customer is None:
        customer = services.customer_create(
            name="Page Bench Ltd", currency="USD", actor=user, external_ref="http-bench-page"
        )
    invoice = Invoice.objects.filter(customer=customer).first()
    if invoice is None:
        lines = [
            {"description": f"Service {n}", "quantity": Decimal(n), "unit_price": "120.00"}
            for n in (1, 2, 3)
        ]
        draft = services.invoice_create(customer=customer, currency="USD", lines=lines, actor=user)
        invoice = services.invoice_issue(invoice=draft, actor=user)
        for amount in ("100.00", "50.00", "25.00"):
            services.payment_record(
                invoice=invoice,
                amount=Money(amount, "USD"),
                method="cash",
                paid_at=timezone.localdate(),
                actor=user,
            )
    return invoice


# -- the server


class Server:
    """gunicorn on loopback, stopped (with its workers) on leaving."""

    def __init__(self, user_id, log):
        # The listening socket is made here and handed to gunicorn: with a port
        # merely found free, another run on the machine could take it first, and
        # its server (another checkout's code) would answer this run's requests.
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(1024)
        self.port = self.socket.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            f"--bind=fd://{self.socket.fileno()}",
            f"--workers={WORKERS}",
            "--worker-class=sync",
            f"--chdir={ROOT}",
        ]
        self.process = subprocess.Popen(
            command,
            env=server_env(user_id),
            stdout=log,
            stderr=log,
            start_new_session=True,
            pass_fds=(self.socket.fileno(),),
        )

    def __enter__(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited; see its log above.")
            try:
                urllib.request.urlopen(f"{self.base}/login/", timeout=10).read()
                return self
            except OSError:  # not listening yet, or still starting
                time.sleep(0.2)
        self.__exit__()  # a with block whose __enter__ raises never calls __exit__
        raise SystemExit("gunicorn did not answer within 60 s.")

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)  # gunicorn stops its workers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.socket.close()


# -- what is measured


def signed_in(base, user, record_path):
    """Cookie and form of a signed-in browser: the session (as the sign-in makes
    it), and the CSRF cookie and token the record form's page hands out."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    request = urllib.request.Request(
        f"{base}{record_path}", headers={"Cookie": f"sessionid={session}"}
    )
    with urllib.request.urlopen(request) as response:
        html = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie")
    csrf_cookie = next(
        re.match(r"csrftoken=([^;]+)", c).group(1) for c in cookies if c.startswith("csrftoken=")
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return f"sessionid={session}; csrftoken={csrf_cookie}", token


def targets(base, user, page, number_prefix):
    """(name, path with {id}, body with {key}, headers, expected status)."""
    from django.utils import timezone

    record_path = "/invoices/{id}/payments/new/"
    cookie, token = signed_in(base, user, f"/invoices/{page.pk}/payments/new/")
    form = {
        "csrfmiddlewaretoken": token,
        "idempotency_key": "{key}",
        "amount": "0.01",
        "paid_at": timezone.localdate().isoformat(),
        "method": "cash",
        "cheque_number": "",
        "card_brand": "",
        "card_last4": "",
        "reference": "",
        "notes": "",
        "rest": "keep",
    }
    body = "&".join(f"{name}={value}" for name, value in form.items())
    browser = f"Cookie: {cookie}"
    htmx_post = "\n".join(
        [
            browser,
            "Content-Type: application/x-www-form-urlencoded",
            f"X-CSRFToken: {token}",
            f"Origin: {base}",
            "HX-Request: true",
            "HX-Target: modal-form",
            f"HX-Current-URL: {base}/invoices/",
        ]
    )
    api_record = json.dumps(
        {
            "amount": {"amount": "0.01", "currency": "USD"},
            "method": "cash",
            "paid_at": timezone.localdate().isoformat(),
        }
    )
    program = f"Authorization: Bearer {user.api_secret}"
    api_post = f"{program}\nContent-Type: application/json\nIdempotency-Key: {{key}}"
    return [
        ("bare", "/bench/bare-payment/{id}/", "{key}", "Content-Type: text/plain", 204),
        ("record", record_path, body, htmx_post, 204),
        ("api record", "/api/v1/invoices/{id}/payments", api_record, api_post, 201),
        ("invoice page", f"/invoices/{page.pk}/", "", browser, 200),
        ("list", "/invoices/", "", browser, 200),
        ("list, number", f"/invoices/?q={number_prefix}", "", browser, 200),
        *[(name, path, "", program, 200) for name, path in API_LISTS],
    ]


# The API's lists at a million invoices: the first page, a filtered page, payments.
API_LISTS = [
    ("api invoices", "/api/v1/invoices"),
    ("api inv, paid", "/api/v1/invoices?status=paid"),
    ("api payments", "/api/v1/payments"),
]


def check(base, path, body, headers, expected, pool):
    """One request by hand: the target answers as it should before it is timed."""
    key = str(uuid.uuid4())
    data = body.replace("{key}", key).encode() if body else None
    request = urllib.request.Request(f"{base}{path.replace('{id}', str(pool[0]))}", data=data)
    for line in headers.splitlines():
        name, _, value = line.partition(": ")
        request.add_header(name, value.replace("{key}", key))
    try:
        with urllib.request.urlopen(request) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != expected:
        raise SystemExit(f"{path}: {status}, expected {expected}")


def wrk(base, target, pool, clients, seconds):
    _name, path, body, headers, _expected = target
    command = [
        "wrk",
        f"--threads={clients}",
        f"--connections={clients}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={HERE / 'http_wrk.lua'}",
        base,
        "--",
        path,
        ",".join(map(str, pool)),
        body,
        f"{uuid.uuid4().int & 0xFFFFFFFF:08x}",
        headers,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["rate"] = result["requests"] / result["seconds"]
    if result["errors"] or result["status_errors"]:
        raise SystemExit(
            f"{path}: {result['errors']} socket errors, {result['status_errors']} bad statuses"
        )
    return result


def measure(base, all_targets, pool, clients_list, seconds, rounds):
    results = {}  # (name, clients) -> list of per-round results
    for round_ in range(rounds):
        for clients in clients_list:
            for target in all_targets:
                result = wrk(base, target, pool, clients, seconds)
                results.setdefault((target[0], clients), []).append(result)
            print(f"  round {round_ + 1}, {clients} client(s): done", flush=True)
    return results


def report(results, all_targets, clients_list):
    print()
    print(
        f"{'target':<14} {'clients':>7} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'p99 ms':>7} {'/ bare':>7}"
    )
    for clients in clients_list:
        bare = results[("bare", clients)]
        for name, *_ in all_targets:
            runs = results[(name, clients)]
            ratios = [run["rate"] / base["rate"] for run, base in zip(runs, bare, strict=True)]
            figures = [median(run[key] for run in runs) for key in ("rate", "p50", "p95", "p99")]
            print(
                f"{name:<14} {clients:>7} {figures[0]:>8.0f} {figures[1]:>7.1f} {figures[2]:>7.1f}"
                f" {figures[3]:>7.1f} {median(ratios):>6.0%}"
            )


# -- where the time goes


def profile(user, page, pool, number_prefix, requests, lines):
    """cProfile of ``requests`` in-process requests per page (the test Client,
    the server's settings): the top functions by cumulative time."""
    from django.test import Client
    from django.utils import timezone

    client = Client(SERVER_NAME="127.0.0.1", enforce_csrf_checks=True)
    client.force_login(user)
    client.get(f"/invoices/{page.pk}/payments/new/")
    token = client.cookies["csrftoken"].value
    today = timezone.localdate().isoformat()

    def record(n):
        data = {
            "csrfmiddlewaretoken": token,
            "idempotency_key": str(uuid.uuid4()),
            "amount": "0.01",
            "paid_at": today,
            "method": "cash",
            "rest": "keep",
        }
        response = client.post(
            f"/invoices/{pool[n % len(pool)]}/payments/new/",
            data,
            headers={"HX-Request": "true", "HX-Target": "modal-form"},
        )
        assert response.status_code == 204, response.status_code

    def get(path):
        def run(n):
            response = client.get(path)
            assert response.status_code == 200, response.status_code

        return run

    program = Client(
        SERVER_NAME="127.0.0.1", headers={"Authorization": f"Bearer {user.api_secret}"}
    )
    api_body = {"amount": {"amount": "0.01", "currency": "USD"}, "method": "cash", "paid_at": today}

    def api_record(n):
        response = program.post(
            f"/api/v1/invoices/{pool[n % len(pool)]}/payments",
            api_body,
            content_type="application/json",
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.status_code

    def api_get(path):
        def run(n):
            response = program.get(path)
            assert response.status_code == 200, response.status_code

        return run

    pages = [
        ("record", record),
        ("api record", api_record),
        ("invoice page", get(f"/invoices/{page.pk}/")),
        ("list", get("/invoices/")),
        ("list, number", get(f"/invoices/?q={number_prefix}")),
        *[(name, api_get(path)) for name, path in API_LISTS],
    ]
    for name, run in pages:
        for n in range(10):
            run(n)  # warm up: templates, plans, connections
        samples, cpu = [], time.process_time()
        for n in range(requests):
            started = time.perf_counter()
            run(n)
            samples.append((time.perf_counter() - started) * 1000)
        cpu = (time.process_time() - cpu) * 1000 / requests
        queries = count_queries(run)
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(requests):
            run(n)
        profiler.disable()
        print(
            f"\n== {name}, in-process, unprofiled, {requests} requests:"
            f" p50 {median(samples):.2f} ms,"
            f" fastest {min(samples):.2f} ms, this process's CPU {cpu:.2f} ms a request"
        )
        stats = pstats.Stats(profiler)
        # Counts, unlike times, do not move with what else the machine is doing.
        print(
            f"   {queries} SQL queries and {stats.total_calls / requests:,.0f}"
            " Python function calls a request"
        )
        print_profile(stats, requests, lines)


def count_queries(run):
    """The SQL statements one run sends (BEGIN and COMMIT are not among them)."""
    from django.db import connection

    queries = []

    def counted(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        run(0)
    return len(queries)


def print_profile(stats, requests, lines):
    """The top functions by cumulative time, in ms per request, leaving out the
    frames every request passes through whole (the test client, the handler,
    the middleware chain: over 90% of the total), then the top by own time."""
    rows = [
        (cumulative, own, calls, where)
        for where, (_, calls, own, cumulative, _) in stats.stats.items()
    ]
    total = max(row[0] for row in rows)
    site = str(Path(cProfile.__file__).parent)

    def label(where):
        path, line, function = where
        for prefix in (f"{VENV_BIN.parent}/lib/python3.13/site-packages/", f"{ROOT}/", f"{site}/"):
            path = path.removeprefix(prefix)
        return f"{path}:{line}({function})" if line else function

    print(
        f"{'cum ms':>7} {'own ms':>7} {'calls':>7}  function"
        f" (per request; total {total * 1000 / requests:.2f} ms)"
    )
    inner = sorted((row for row in rows if row[0] < 0.9 * total), reverse=True)
    for cumulative, own, calls, where in inner[:lines]:
        print(row_line(cumulative, own, calls, label(where), requests))
    print("  by own time:")
    for cumulative, own, calls, where in sorted(rows, key=lambda row: -row[1])[: lines // 2]:
        print(row_line(cumulative, own, calls, label(where), requests))


def row_line(cumulative, own, calls, label, requests):
    per = 1000 / requests
    return f"{cumulative * per:>7.2f} {own * per:>7.2f} {calls / requests:>7.1f}  {label}"


# -- the planner and the number prefix


# Statistics targets compared: PostgreSQL's default, and ten times finer.
STATISTICS = (-1, 1000)


def planner(analyzes, count=20):
    """How the number search's plan depends on ANALYZE's sample: ``count``
    prefixes spread over the years (100 invoices each), after each of
    ``analyzes`` fresh ANALYZEs (a new random sample each time), with the
    default statistics target on invoice.number and with 1,000: the estimated
    rows, the plans chosen, and the slowest run. Leaves the default in place."""
    from django.db import connection

    from billing.models import Invoice

    numbered = Invoice.objects.filter(number__startswith="INV-").order_by("pk")
    step = invoice_list.INVOICES // count
    prefixes = [numbered[n * step + 500].number[:-2] for n in range(count)]
    sql = "SELECT id FROM billing_invoice WHERE number LIKE %s ORDER BY id DESC LIMIT 26"
    print(
        f"\nThe invoice list's number search (number LIKE '{prefixes[0]}%' and {count - 1}"
        f" other prefixes, 100 invoices each), after {analyzes} ANALYZEs per statistics target:"
    )
    with connection.cursor() as cursor:
        for statistics in STATISTICS:
            cursor.execute(
                f"ALTER TABLE billing_invoice ALTER COLUMN number SET STATISTICS {statistics}"
            )
            estimates, plans, slowest = [], {}, 0.0
            for _ in range(analyzes):
                cursor.execute("ANALYZE billing_invoice")
                for prefix in prefixes:
                    pattern = [f"{prefix}%"]
                    cursor.execute("EXPLAIN (FORMAT JSON) " + sql.replace(" LIMIT 26", ""), pattern)
                    estimates.append(cursor.fetchone()[0][0]["Plan"]["Plan Rows"])
                    cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", pattern)
                    plan = cursor.fetchone()[0][0]
                    slowest = max(slowest, plan["Execution Time"])
                    index = re.search(r'"Index Name": "(\w+)"', json.dumps(plan))
                    name = index.group(1) if index else plan["Plan"]["Node Type"]
                    plans[name] = plans.get(name, 0) + 1
            label = "default (100)" if statistics == -1 else str(statistics)
            chosen = ", ".join(f"{name} {count}x" for name, count in plans.items())
            print(
                f"  statistics target {label}: estimated {min(estimates):,.0f}"
                f"–{max(estimates):,.0f} rows; plans: {chosen}; slowest {slowest:.1f} ms"
            )
        cursor.execute("ALTER TABLE billing_invoice ALTER COLUMN number SET STATISTICS -1")
        cursor.execute("ANALYZE billing_invoice")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--profile-requests", type=int, default=100, help="0: no profile")
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--analyzes", type=int, default=5, help="0: no planner check")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--no-http", action="store_true", help="only the profile and the planner")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (Debian's wrk).")
    user, page, pool, number_prefix = prepare(rebuild=options.rebuild)
    from django.db import connection

    connection.close()
    if not options.no_http:
        http_runs(user, page, pool, number_prefix, options)
    if options.profile_requests:
        profile(user, page, pool, number_prefix, options.profile_requests, options.profile_lines)
    if options.analyzes:
        planner(options.analyzes)


def http_runs(user, page, pool, number_prefix, options):
    with tempfile.TemporaryFile("w+") as log:
        try:
            with Server(user.pk, log) as server:
                all_targets = targets(server.base, user, page, number_prefix)
                for target in all_targets:
                    check(server.base, *target[1:], pool)
                print(
                    f"gunicorn, {WORKERS} sync workers, DEBUG off, on {server.base};"
                    f" wrk, {options.seconds} s a run, {options.rounds} rounds interleaved;"
                    f" {os.cpu_count()} CPUs",
                    flush=True,
                )
                results = measure(
                    server.base, all_targets, pool, options.clients, options.seconds, options.rounds
                )
        finally:
            log.seek(0)
            errors = log.read()
            if "Traceback" in errors:
                print(errors, file=sys.stderr)
    report(results, all_targets, options.clients)


if __name__ == "__main__":
    main()
