"""config.settings.database_config: what DATABASE_URL and its companions give."""

import pytest

from config.settings import database_config


def test_postgresql_keeps_the_url_s_options_and_prepares_the_payment_statement(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/billing?sslmode=require")
    monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    options = database_config()["OPTIONS"]
    assert options == {"sslmode": "require", "prepare_threshold": 0}


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
