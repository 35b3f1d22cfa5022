#!/usr/bin/env bash
# `make run`: the development server in the foreground, and beside it the task
# worker (django-tasks-db's db_worker: receipts, e-mails), the outbox sweep
# (enqueues again what a lost task left undone), the webhooks worker (turns what
# operations wrote into webhook events and sends those due) and reconcile_periodically
# (settles what the gateway left pending, every RECONCILE_EVERY seconds, acting as
# the demo user). Each runs in a process group of its own, stopped with the
# server, Ctrl-C included.
# Usage: scripts/serve_with_worker.sh PYTHON HOST RECONCILE_EVERY
set -euo pipefail
python=$1
host=$2
reconcile_every=${3:-60}
groups=()

beside() {
	setsid "$@" &
	groups+=("$!")
}

stop() {
	for group in "${groups[@]}"; do
		kill -TERM -- "-$group" 2>/dev/null || true
	done
}
trap stop EXIT
trap 'exit 130' INT TERM

beside "$python" manage.py db_worker
beside "$python" manage.py outbox_sweep --every 60
beside "$python" manage.py webhooks_worker --every 1
beside "$python" manage.py reconcile_periodically --actor admin --every "$reconcile_every"
"$python" manage.py runserver "$host"
