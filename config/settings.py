"""One settings module, configured from the environment.

Development needs no variables at all: SQLite in the project folder, DEBUG on.
Production sets DJANGO_DEBUG=false, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and
DATABASE_URL (PostgreSQL); `manage.py check --deploy` is then clean. See README.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "djmoney",
    "django_htmx",
    "axes",
    "django_tasks_db",
    "billing",
    "bank",
    # ninja's own templates and static files: the API's docs page, with no CDN.
    "ninja",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, cacheable; nothing below sees them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Everything else is never cached (billing/middleware.py).
    "billing.middleware.NeverCacheMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "billing.middleware.SessionIdleTimeoutMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The API answers a wrong method as problem+json, never a bare page.
    "api.middleware.MethodNotAllowedProblemMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                # perms again, remembering its answers (billing/context_processors.py)
                "billing.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"


def database_config():
    """DATABASE_URL, or SQLite in the project folder.

    SQLite is made safe for concurrent writers: every transaction starts with
    BEGIN IMMEDIATE (so a read-then-write never fails halfway with "database is
    locked") and the journal is WAL so readers do not block the writer.
    """
    url = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", 0)))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Django's ORM binds parameters on the client, which psycopg never prepares;
        # this prepares the one statement bound on the server, payment_record's
        # (billing/services/_one_statement.py), on its first use per connection.
        # Behind a transaction-mode PgBouncer older than 1.21, or without
        # max_prepared_statements, set DATABASE_PREPARED_STATEMENTS=false.
        prepared = env_bool("DATABASE_PREPARED_STATEMENTS", True)
        config.setdefault("OPTIONS", {})["prepare_threshold"] = 0 if prepared else None
        # PostgreSQL's JIT compiles a query whose estimated cost passes
        # jit_above_cost: worth it for reports over millions of rows, not for a
        # page's few small queries. Measured on the invoice page at 1,000,000
        # invoices: 30 ms of a 33 ms payments query was JIT compiling. Off unless
        # DATABASE_JIT=true (a pooler that refuses startup options: set it there).
        if not env_bool("DATABASE_JIT", False):
            config["OPTIONS"]["options"] = "-c jit=off"
    return config


DATABASES = {"default": database_config()}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Content-Security-Policy on every response (Django's ContentSecurityPolicyMiddleware;
# docs/decisions.md, "A strict Content-Security-Policy, the admin included"). Scripts
# and styles come only from our own origin (static files): no inline <script>, no
# style="" attribute, no eval. An inline block would need the request's nonce
# ({{ csp_nonce }}); none does. The Django admin needs nothing looser.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Sessions end after BILLING_SESSION_IDLE_MINUTES without a request (docs/decisions.md,
# "Signed out after 30 idle minutes"): billing.middleware.SessionIdleTimeoutMiddleware
# saves a signed-in session at most once a minute, moving its expiry (and the
# cookie's) that far ahead again.
BILLING_SESSION_IDLE_MINUTES = int(os.environ.get("BILLING_SESSION_IDLE_MINUTES", 30))
SESSION_COOKIE_AGE = BILLING_SESSION_IDLE_MINUTES * 60

# Sign-in throttling (django-axes; docs/decisions.md, "Throttled sign-ins"). After
# BILLING_LOGIN_FAILURE_LIMIT failed sign-ins for one username, or from one address,
# within BILLING_LOGIN_LOCKOUT_MINUTES of each other, signing in as that username or
# from that address is refused, even with the right password, until that long has
# passed without another attempt. Both sign-in pages (the back office's and the
# admin's) go through it; AxesStandaloneBackend refuses a locked-out sign-in before
# ModelBackend (billing/backends.py: Django's, permissions read in one query) checks the
# password. A successful sign-in does not clear failures
# (axes' AXES_RESET_ON_SUCCESS would clear the address's too, for every username).
# Attempts are rows in the database (axes' tables), so every process sees them; the
# admin lists them, and `manage.py axes_reset_username NAME` or `axes_reset_ip
# ADDRESS` lifts a lockout early.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "billing.backends.ModelBackend",
]
BILLING_LOGIN_FAILURE_LIMIT = int(os.environ.get("BILLING_LOGIN_FAILURE_LIMIT", 5))
BILLING_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("BILLING_LOGIN_LOCKOUT_MINUTES", 15))
AXES_FAILURE_LIMIT = BILLING_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=BILLING_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own
AXES_CLIENT_IP_CALLABLE = "billing.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "billing.lockout.lockout_response"
AXES_VERBOSE = False  # no startup banner on every manage.py command

# The back office's own sign-in page (billing/urls.py); the admin keeps its own.
LOGIN_URL = "billing:login"
LOGIN_REDIRECT_URL = "billing:dashboard"
LOGOUT_REDIRECT_URL = "billing:login"

# Currencies offered in forms. Any ISO 4217 code is accepted by the services;
# amounts are checked against the currency's own minor unit (billing.money).
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KWD", "CLF")
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]

# Billing policy.
BILLING_PAYMENT_TERMS_DAYS = int(os.environ.get("BILLING_PAYMENT_TERMS_DAYS", 30))
# Dates a person types are kept in a sane range (docs/decisions.md, "Dates"): a
# payment is dated at most this many days back (and never ahead); a due date lies
# within this many days of today, either way.
BILLING_PAYMENT_DATE_MAX_AGE_DAYS = int(os.environ.get("BILLING_PAYMENT_DATE_MAX_AGE_DAYS", 3653))
BILLING_DUE_DATE_RANGE_DAYS = int(os.environ.get("BILLING_DUE_DATE_RANGE_DAYS", 1827))

# Dates are typed and read one way, ISO 8601 (YYYY-MM-DD, what <input type=date>
# sends), whatever the locale: en's own input formats would read 01/02/26 as
# 2 January 2026 (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]

# Payment gateways (billing.gateways, docs/gateways.md).
# BILLING_DEFAULT_GATEWAY: "sandbox" (built in, no network) or "stripe"; the gateway
#   used when none is named. Only "sandbox" shows the sandbox test cards (admin, demo).
# STRIPE_SECRET_KEY: Stripe's secret API key (sk_test_... or sk_live_...); without it
#   the stripe gateway refuses every call.
# BILLING_GATEWAY_TIMEOUT: seconds a network operation to a gateway may take before
#   the call counts as a timeout (the payment stays pending until it is looked up).
BILLING_DEFAULT_GATEWAY = os.environ.get("BILLING_DEFAULT_GATEWAY", "sandbox")
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
BILLING_GATEWAY_TIMEOUT = float(os.environ.get("BILLING_GATEWAY_TIMEOUT", 20))
# Stripe's webhooks (POST /webhooks/stripe, billing/gateways/stripe_webhooks.py):
# STRIPE_WEBHOOK_SECRET is the endpoint's signing secret (whsec_...), from the
#   endpoint's page in Stripe's dashboard or `stripe listen`; without it every event
#   is answered 503 (Stripe keeps retrying for three days) and nothing is read.
# STRIPE_WEBHOOK_ACTOR: the username the timeline records for what the webhooks
#   settle; an inactive user without a password is created under it on first use.
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_WEBHOOK_ACTOR = os.environ.get("STRIPE_WEBHOOK_ACTOR", "stripe")

# DJANGO_BEHIND_PROXY=true: the app is reached only through a reverse proxy (load
# balancer, nginx) that terminates TLS, sets X-Forwarded-Proto on every request
# (overwriting what the client sent) and appends the address it saw to
# X-Forwarded-For. Only then are those headers believed: X-Forwarded-Proto for
# request.is_secure() (without it the HTTPS redirect below would loop behind such a
# proxy), X-Forwarded-For's last entry for the address sign-ins are throttled by
# (billing.lockout.client_ip). Without a proxy a client could send them itself, so
# they are ignored.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # The stripe library logs every request at INFO; its errors reach us as exceptions.
    "loggers": {"stripe": {"level": "WARNING"}},
}

# Failed charges: `manage.py retry_failed_payments` charges an open invoice again when
# its last attempt failed at least BILLING_RETRY_SPACING_HOURS ago, and stops after
# BILLING_RETRY_MAX_ATTEMPTS retries. `manage.py reconcile_payments` settles charges
# and refunds left pending for more than BILLING_RECONCILE_AFTER_SECONDS (longer than
# a gateway call can take, so it never races a call still in flight).
BILLING_RETRY_MAX_ATTEMPTS = int(os.environ.get("BILLING_RETRY_MAX_ATTEMPTS", 3))
BILLING_RETRY_SPACING_HOURS = float(os.environ.get("BILLING_RETRY_SPACING_HOURS", 24))
BILLING_RECONCILE_AFTER_SECONDS = int(os.environ.get("BILLING_RECONCILE_AFTER_SECONDS", 120))

# Background work (docs/design.md, "Receipts, documents and the outbox"): Django's
# tasks framework. The default backend keeps tasks in the database
# (django-tasks-db), run by `manage.py db_worker`; any other django.tasks backend
# can be named with BILLING_TASKS_BACKEND (a dotted path) without a code change.
# Tests run tasks at once (tests/conftest.py).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("BILLING_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# The outbox: `manage.py outbox_sweep` enqueues again the rows still not done
# BILLING_OUTBOX_RETRY_SECONDS after they were written (their task was lost, or
# failed), at most BILLING_OUTBOX_MAX_ATTEMPTS times each.
BILLING_OUTBOX_RETRY_SECONDS = int(os.environ.get("BILLING_OUTBOX_RETRY_SECONDS", 300))
BILLING_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("BILLING_OUTBOX_MAX_ATTEMPTS", 10))
# How long after a commit the drain task that handles its outbox rows starts, at
# most: commits in the first half of that wait ride on the same drain (one task
# for a burst, not one per payment; docs/decisions.md).
BILLING_OUTBOX_DRAIN_DELAY_SECONDS = float(os.environ.get("BILLING_OUTBOX_DRAIN_DELAY_SECONDS", 1))

# The seller printed on receipts, credit notes and invoices.
BILLING_SELLER = {
    "name": os.environ.get("BILLING_SELLER_NAME", "Example Billing Ltd"),
    # Lines are separated by newlines, or by a literal \n in the variable.
    "address": os.environ.get("BILLING_SELLER_ADDRESS", "1 Example Street\nExample City").replace(
        "\\n", "\n"
    ),
    "tax_id": os.environ.get("BILLING_SELLER_TAX_ID", ""),
}
# BILLING_EMAIL_RECEIPTS=true: every new receipt is e-mailed to the customer (when
# they have an address) without anyone asking.
BILLING_EMAIL_RECEIPTS = env_bool("BILLING_EMAIL_RECEIPTS", False)

# Outgoing webhooks (docs/webhooks.md). Endpoint URLs that resolve to private or
# loopback addresses are refused unless WEBHOOKS_ALLOW_PRIVATE_URLS: on in
# development (DEBUG), off in production settings.
WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("WEBHOOKS_ALLOW_PRIVATE_URLS", DEBUG)
WEBHOOKS_CONNECT_TIMEOUT_SECONDS = 3
WEBHOOKS_READ_TIMEOUT_SECONDS = 10
WEBHOOKS_RESPONSE_BODY_LIMIT = 1000
# Retries: 30 s doubled each time, at most 12 h apart, jittered, for 3 days; an
# endpoint that failed every attempt for 3 days is disabled and the staff mailed.
WEBHOOKS_RETRY_BASE_SECONDS = 30
WEBHOOKS_RETRY_MAX_DELAY_SECONDS = 12 * 3600
WEBHOOKS_RETRY_FOR_SECONDS = 3 * 24 * 3600
WEBHOOKS_DISABLE_AFTER_SECONDS = 3 * 24 * 3600
# After a rotation the old secret signs beside the new one this long.
WEBHOOKS_PREVIOUS_SECRET_SECONDS = 24 * 3600
# How long the relay waits for an id a running transaction holds (webhooks/relay.py).
WEBHOOKS_GAP_WAIT_SECONDS = 30

# E-mail (Django's MAILERS): printed to the console in development; tests use
# Django's in-memory backend. In production set
# DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST,
# EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD and EMAIL_USE_TLS (README).
EMAIL_BACKEND_PATH = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
MAILERS = {
    "default": {
        "BACKEND": EMAIL_BACKEND_PATH,
        "OPTIONS": (
            {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": int(os.environ.get("EMAIL_PORT", 25)),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", False),
                "timeout": 30,
            }
            if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@example.com")
