"""config/settings.py: what the environment gives."""

import runpy
from datetime import timedelta
from pathlib import Path

import pytest

import config.settings
from config.settings import database_config

SETTINGS_FILE = Path(config.settings.__file__)


def test_postgresql_keeps_the_url_s_options_and_prepares_the_payment_statement(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/billing?sslmode=require")
    monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    monkeypatch.delenv("DATABASE_JIT", raising=False)
    options = database_config()["OPTIONS"]
    assert options == {"sslmode": "require", "prepare_threshold": 0, "options": "-c jit=off"}


def test_postgresql_s_jit_can_be_turned_back_on(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/billing")
    monkeypatch.setenv("DATABASE_JIT", "true")
    assert "options" not in database_config()["OPTIONS"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_app_s_connections_run_without_jit():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


@pytest.mark.parametrize("value", ["false", "0", "no"])
def test_prepared_statements_can_be_turned_off_for_pgbouncer(monkeypatch, value):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/billing")
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", value)
    assert database_config()["OPTIONS"]["prepare_threshold"] is None


def test_sqlite_is_made_safe_for_concurrent_writers(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    options = database_config()["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]


def settings_from(monkeypatch, **environ):
    """config/settings.py's names, as that environment would give them."""
    for name in (
        "DJANGO_BEHIND_PROXY",
        "DJANGO_DEBUG",
        "DJANGO_SECRET_KEY",
        "BILLING_SESSION_IDLE_MINUTES",
        "BILLING_LOGIN_FAILURE_LIMIT",
        "BILLING_LOGIN_LOCKOUT_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.mark.parametrize("debug", ["true", "false"])
def test_the_forwarded_proto_header_is_believed_only_behind_a_proxy(monkeypatch, debug):
    production = {"DJANGO_DEBUG": debug, "DJANGO_SECRET_KEY": "x"}
    assert "SECURE_PROXY_SSL_HEADER" not in settings_from(monkeypatch, **production)
    behind = settings_from(monkeypatch, DJANGO_BEHIND_PROXY="true", **production)
    assert behind["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_the_session_idle_timeout_comes_from_the_environment(monkeypatch):
    assert settings_from(monkeypatch)["SESSION_COOKIE_AGE"] == 30 * 60
    shorter = settings_from(monkeypatch, BILLING_SESSION_IDLE_MINUTES="15")
    assert shorter["SESSION_COOKIE_AGE"] == 15 * 60


def test_sign_in_throttling_comes_from_the_environment(monkeypatch):
    default = settings_from(monkeypatch)
    assert (default["AXES_FAILURE_LIMIT"], default["AXES_COOLOFF_TIME"]) == (
        5,
        timedelta(minutes=15),
    )
    stricter = settings_from(
        monkeypatch, BILLING_LOGIN_FAILURE_LIMIT="3", BILLING_LOGIN_LOCKOUT_MINUTES="60"
    )
    assert stricter["AXES_FAILURE_LIMIT"] == 3
    assert stricter["AXES_COOLOFF_TIME"] == timedelta(minutes=60)
