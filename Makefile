# Two commands for a newcomer: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.13 2>/dev/null || echo $(HOME)/.pyenv/versions/3.13.0/bin/python)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/billing
HOST ?= 127.0.0.1:8000
RECONCILE_EVERY ?= 60

.PHONY: install pdf-libs chromium wrk run test lint test-sqlite test-postgres migrate demo bench clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The lock file makes every install the same; --inexact keeps uv itself in the venv.
$(VENV)/.synced: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --inexact --python $(BIN)/python
	@touch $@

install: $(VENV)/.synced pdf-libs

# WeasyPrint (the receipt, credit-note and invoice PDFs) needs Debian's Pango and a
# font; installed with apt-get when missing (as root, or via sudo).
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
pdf-libs:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PDF_PACKAGES); \
	}

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo --host $(HOST)

# The server, and beside it the task worker, the outbox sweep and a loop that settles
# what the gateway left pending (every RECONCILE_EVERY seconds, acting as the demo
# user); all stop with the server.
run: demo
	scripts/serve_with_worker.sh $(BIN)/python $(HOST) $(RECONCILE_EVERY)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# The browser tests drive Debian's Chromium through Playwright, which cannot download
# its own browser here. Installed with apt-get when missing (as root, or via sudo).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; \
	}

# benchmarks/http_pages.py drives gunicorn with Debian's wrk, installed the same way.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk; \
	}

test-sqlite: install chromium
	env -u DATABASE_URL BROWSER_ARTIFACTS=test-artifacts/screenshots/sqlite $(BIN)/pytest

# With CI=true a missing PostgreSQL fails the run; elsewhere it is skipped, loudly.
test-postgres: install chromium
	@if DATABASE_URL=$(POSTGRES_URL) $(BIN)/python scripts/wait_for_postgres.py; then \
		DATABASE_URL=$(POSTGRES_URL) BROWSER_ARTIFACTS=test-artifacts/screenshots/postgres $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(POSTGRES_URL) and CI=true: failing." >&2; exit 1; \
	else \
		echo "!! PostgreSQL is not reachable at $(POSTGRES_URL): its run was SKIPPED." >&2; \
	fi

# The two databases' runs go side by side (two cores), each printed whole when it ends.
test: lint
	$(MAKE) --no-print-directory --output-sync=target -j2 test-sqlite test-postgres

# All need PostgreSQL; each builds its own *bench database once (benchmarks/README.md;
# import_payments makes its own anew each run).
bench: install wrk
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python benchmarks/payment_record.py
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python benchmarks/invoice_list.py
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python benchmarks/import_payments.py
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python benchmarks/bank_import.py
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python benchmarks/http_pages.py
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python benchmarks/webhooks_relay.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
