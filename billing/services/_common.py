"""Helpers the service modules share. None of these is durable or checks
permissions: they run inside a public service's transaction, after its checks.
"""

import datetime
import hashlib
import json
import weakref

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from billing import locks
from billing.errors import BillingError, ErrorCode
from billing.gateways import GatewayError, get_gateway
from billing.models import (
    BalanceEntry,
    IdempotencyKey,
    InvoiceEvent,
    InvoiceStatus,
    OutboxMessage,
    OutboxTopic,
    invoice_status,
)
from billing.money import format_money
from billing.services import _one_statement

# -- idempotency -------------------------------------------------------------


def _canonical(value):
    if isinstance(value, Money):
        return f"{value.amount.normalize():f} {value.currency.code}"
    if hasattr(value, "pk"):
        return f"{value._meta.label}:{value.pk}"
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def fingerprint(request):
    data = json.dumps(_canonical(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


class ResponseKey:
    """A client's idempotency key that keeps the response its first request got
    (the API's, with Stripe's semantics: a retry gets the same status and body).

    ``key`` is stored as the key: the caller scopes it (the API prefixes its API
    key's id, so keys are per API key). ``request`` joins the service's arguments
    in the fingerprint (the API's method, path and body), so the same key with
    another body conflicts even where the service would read both the same.
    ``respond(result)`` gives the ``(status, body)`` to keep; it runs in the
    operation's transaction, so the response is written with the records or not
    at all. It may give None (a charge's answer comes after its first
    transaction): a replay then has only the record. After the service returns,
    ``response`` is the kept ``(status, body)`` when the call was a replay.
    """

    def __init__(self, key, *, request, respond):
        self.key = key
        self.request = request
        self.respond = respond
        self.response = None

    def __str__(self):
        return self.key

    def __bool__(self):
        return bool(self.key)


class Idempotency:
    """One operation's use of a client's idempotency key.

    ``claim()`` inserts (operation, actor, key) unless it is taken, in one statement
    (``_one_statement.insert_unless_taken``). If another request took the key
    first, PostgreSQL makes this insert wait for that transaction; once it
    committed, the same request gets the first result back (``replay``) and a
    different one is refused. A key whose first request committed no result yet
    (still running) is refused too.
    """

    def __init__(self, operation, key, request, actor):
        self.operation = operation
        self.key = key
        if isinstance(key, ResponseKey):
            request = dict(request=request, client=key.request)
        self.fingerprint = fingerprint(request) if key else None
        self.actor = actor
        self.row = None
        self.replay = None

    def unclaimed(self):
        """The key's row to claim, unsaved (None without a key); a key too long
        to keep is ``invalid_value``. ``payment_record`` claims it in its one
        statement; ``claim`` otherwise."""
        if not self.key:
            return None
        key = str(self.key)
        if len(key) > 255:
            raise BillingError(ErrorCode.INVALID_VALUE, "The idempotency key is too long.")
        return IdempotencyKey(
            operation=self.operation,
            key=key,
            fingerprint=self.fingerprint,
            result_model="",
            created_by=self.actor,
        )

    def claim(self, row=None):
        """Claim the key (``row``: the ``unclaimed()`` row, if made already).
        None when claimed or without a key; else the first request's result, or
        ``idempotency_conflict``."""
        row = row or self.unclaimed()
        if row is None:
            return None
        # Keys are the actor's: another person's same key is another key.
        if not row._state.adding or _one_statement.insert_unless_taken(
            row, conflict=_one_statement.KEY_CONFLICT
        ):
            self.row = row
            return None
        existing = IdempotencyKey.objects.get(
            operation=self.operation, created_by=self.actor, key=row.key
        )
        if existing.fingerprint != self.fingerprint:
            raise BillingError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                "This idempotency key was already used for a different request.",
            )
        if existing.result_id is None:
            raise BillingError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                "A request with this idempotency key is still being processed.",
            )
        if isinstance(self.key, ResponseKey) and existing.response_status is not None:
            self.key.response = (existing.response_status, existing.response_body)
        model = apps.get_model(existing.result_model)
        self.replay = model.objects.get(pk=existing.result_id)
        return self.replay

    def finish(self, result):
        if self.row is None:
            return result
        fields = []
        # payment_record's one statement names its payment itself.
        if self.row.result_id is None:
            self.row.result_model = result._meta.label
            self.row.result_id = result.pk
            fields += ["result_model", "result_id"]
        if isinstance(self.key, ResponseKey):
            response = self.key.respond(result)
            if response is not None:
                self.row.response_status, self.row.response_body = response
                fields += ["response_status", "response_body"]
        if fields:
            self.row.save(update_fields=fields)
        return result


# -- validation --------------------------------------------------------------


def require_text(value, field, label, *, max_length=None):
    """Text that is there (stripped), and at most ``max_length`` characters: what
    its column holds, so a database never cuts or refuses it."""
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if not text:
        raise BillingError(ErrorCode.INVALID_VALUE, f"{label} is required.", field=field)
    if max_length is not None and len(text) > max_length:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"{label} is {len(text):,} characters long; at most {max_length:,} are kept.",
            field=field,
        )
    return text


def limit_text(model, **values):
    """Refuse text longer than ``model``'s field of the same name holds
    (``invalid_value`` naming it); a database would cut or refuse it."""
    for name, value in values.items():
        limit = model._meta.get_field(name).max_length
        if isinstance(value, str) and limit is not None and len(value.strip()) > limit:
            label = model._meta.get_field(name).verbose_name.capitalize()
            raise BillingError(
                ErrorCode.INVALID_VALUE,
                f"{label} is {len(value.strip()):,} characters long; at most {limit:,} are kept.",
                field=name,
            )


def require_choice(value, choices, field, label):
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"{value!r} is not a valid {label}; use one of: {allowed}.",
            field=field,
        )
    return value


def _date(value, field, label):
    """A date from a date, a datetime (its local day) or ISO text (YYYY-MM-DD)."""
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise BillingError(
                ErrorCode.INVALID_DATE,
                f"{value!r} is not a date; write it as YYYY-MM-DD.",
                field=field,
            ) from None
    if not isinstance(value, datetime.date):
        raise BillingError(ErrorCode.INVALID_DATE, f"{label} is required.", field=field)
    return value


def payment_date(value):
    """The day the customer paid: a date, not in the future and not older than
    ``BILLING_PAYMENT_DATE_MAX_AGE_DAYS`` (a typo such as 0001-01-01 or 1999 for
    2026 would otherwise be kept for good)."""
    value = _date(value, "paid_at", "The payment date")
    today = timezone.localdate()
    if value > today:
        raise BillingError(
            ErrorCode.INVALID_DATE,
            f"The payment date {value:%d %b %Y} is in the future.",
            field="paid_at",
        )
    oldest = today - datetime.timedelta(days=settings.BILLING_PAYMENT_DATE_MAX_AGE_DAYS)
    if value < oldest:
        raise BillingError(
            ErrorCode.INVALID_DATE,
            f"The payment date {value:%d %b %Y} is before {oldest:%d %b %Y}; check the year.",
            field="paid_at",
        )
    return value


def due_date(value):
    """An invoice's due date, or None (then it is set at issue): a date within
    ``BILLING_DUE_DATE_RANGE_DAYS`` of today, either way."""
    if value is None or value == "":
        return None
    value = _date(value, "due_date", "The due date")
    today = timezone.localdate()
    reach = datetime.timedelta(days=settings.BILLING_DUE_DATE_RANGE_DAYS)
    if not today - reach <= value <= today + reach:
        raise BillingError(
            ErrorCode.INVALID_DATE,
            f"The due date {value:%d %b %Y} is more than {reach.days} days from today; "
            "check the year.",
            field="due_date",
        )
    return value


def ensure_payable(invoice):
    """Refuse a locked invoice that is not ``Invoice.is_payable``."""
    if not invoice.is_payable:
        raise BillingError(
            ErrorCode.INVOICE_NOT_PAYABLE,
            f"Invoice {invoice} is {invoice.get_status_display().lower()} and cannot be paid.",
        )


def gateway_for(payment_method):
    """The gateway of a saved method, or ``gateway_unavailable``."""
    try:
        return get_gateway(payment_method.gateway)
    except GatewayError as exc:
        raise BillingError(ErrorCode.GATEWAY_UNAVAILABLE, exc.message) from None


# -- invoice totals ----------------------------------------------------------


def move_invoice_amounts(invoice, *, paid=None, credited=None, due=None, pending=None):
    """Apply signed changes to a locked invoice's running totals and its status.

    The changes to paid, credited and due must keep total = credited + paid + due
    (they sum to zero); ``pending`` moves the reserved part of the due. The
    database constraints refuse anything else.
    """
    for field, delta in (
        ("amount_paid", paid),
        ("amount_credited", credited),
        ("amount_due", due),
        ("amount_pending", pending),
    ):
        if delta is not None:
            setattr(invoice, field, getattr(invoice, field) + delta)
    if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        invoice.status = invoice_status(due=invoice.amount_due, paid=invoice.amount_paid)
    # django-money saves a currency column only when it is named too.
    invoice.save(
        update_fields=[
            "status",
            "amount_paid",
            "amount_paid_currency",
            "amount_credited",
            "amount_credited_currency",
            "amount_due",
            "amount_due_currency",
            "amount_pending",
            "amount_pending_currency",
        ]
    )


def save_payment_totals(payment):
    payment.save(
        update_fields=[
            "status",
            "amount_refunded",
            "amount_refunded_currency",
            "amount_to_credit",
            "amount_to_credit_currency",
        ]
    )


def event(invoice, kind, actor, *, amount=None, message="", **links):
    """Write a timeline event on ``invoice``."""
    record = new_event(invoice, kind, actor, amount=amount, message=message, **links)
    record.save(force_insert=True)
    return record


def new_event(invoice, kind, actor, *, amount=None, message="", **links):
    """An unsaved timeline event (``event`` saves it)."""
    return InvoiceEvent(
        invoice=invoice,
        kind=kind,
        currency=invoice.currency,
        amount=amount,
        message=message[:500],
        created_by=actor,
        **links,
    )


# -- customer balance ----------------------------------------------------------


def balance_move(customer, amount, kind, actor, *, balance=None, **links):
    """Add a signed ``amount`` to the customer's balance with a ledger entry.

    Locks the balance (last in the lock order) unless the caller already did.
    A move that would take the balance below zero is ``insufficient_balance``.
    """
    currency = amount.currency.code
    if balance is None:
        balance = locks.lock_balance(customer, currency)
    after = balance.amount + amount
    if after.amount < 0:
        raise BillingError(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"{customer} has only {format_money(balance.amount)} of credit.",
            field="amount",
        )
    balance.amount = after
    balance.save(update_fields=["amount", "amount_currency", "updated_at"])
    return BalanceEntry.objects.create(
        balance=balance,
        currency=currency,
        kind=kind,
        amount=amount,
        balance_after=after,
        created_by=actor,
        **links,
    )


# -- the outbox ------------------------------------------------------------------


def outbox_enqueue_on_commit(message):
    """Ask a worker to handle ``message`` once the transaction commits.

    The row itself is the promise: if the wake-up is lost (the process dies
    after the commit, the task backend is down) ``outbox_sweep`` enqueues it
    again. A backend that can defer a task (django-tasks-db, the default) gets no
    task per message: ``outbox_wake`` makes sure one ``outbox_drain`` starts
    after the commit, and that drain handles every row pending by then. A backend
    that cannot (Django's ImmediateBackend, as in the tests) gets the message's
    own task after the commit, so it is handled at once.
    """
    from billing import tasks  # tasks import the services: bound late

    if tasks.outbox_drain.get_backend().supports_defer:
        transaction.on_commit(outbox_wake, robust=True)
    else:
        message_id = message.pk
        transaction.on_commit(lambda: tasks.outbox_handle.enqueue(message_id), robust=True)


# The run_after of the last drain each task backend was given by this process,
# which no worker starts before then (keyed by the backend object: settings that
# change TASKS make new ones).
_drain_starts = weakref.WeakKeyDictionary()


def outbox_wake():
    """Make sure an ``outbox_drain`` starts after now; call it after a commit.

    A drain this process enqueued that cannot have started yet (its run_after
    more than half of BILLING_OUTBOX_DRAIN_DELAY_SECONDS away, the half a margin
    for workers' clocks) will see what just committed: nothing to enqueue, and no
    query. Otherwise enqueue one to start after that delay. So a burst of
    payments costs at most two task rows a second per process, not one each; a
    receipt waits up to the delay plus the worker's polling interval.
    """
    from billing import tasks  # tasks import the services: bound late

    task = tasks.outbox_drain
    backend = task.get_backend()
    delay = datetime.timedelta(seconds=settings.BILLING_OUTBOX_DRAIN_DELAY_SECONDS)
    now = timezone.now()
    starts = _drain_starts.get(backend)
    if starts is not None and now < starts - delay / 2:
        return
    run_after = now + delay
    task.using(run_after=run_after).enqueue()
    _drain_starts[backend] = run_after


def receipt_wanted(*, payment=None, refund=None):
    """Write the outbox row asking for the receipt of a payment or a refund that
    succeeded in this transaction (``documents.receipt_issue`` numbers it)."""
    message = OutboxMessage(topic=OutboxTopic.RECEIPT, payment=payment, refund=refund)
    message.save(force_insert=True)
    outbox_enqueue_on_commit(message)
    return message
