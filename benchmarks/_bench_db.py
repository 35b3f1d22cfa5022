"""The bench database both benchmarks use: its URL, its creation, Django on it."""

import os
import sys


def bench_url(suffix):
    """DATABASE_URL with ``suffix`` added to the database name (PostgreSQL only)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing")
    if not base.startswith("postgres"):
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    head, _, name = base.rpartition("/")
    name = name.split("?")[0]
    return base if name.endswith(suffix) else f"{head}/{name}{suffix}"


def ensure_database(url, *, rebuild=False):
    """Create the database of ``url`` unless it exists (drop it first with ``rebuild``)."""
    import psycopg

    head, _, name = url.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
