"""The relay: turns what billing operations wrote into webhook events.

Every operation already writes, in its own transaction, a row that says what
happened: its invoice timeline event (``InvoiceEvent``), its balance ledger
entry (``BalanceEntry``), a receipt (``Receipt``, made by the worker from the
payment's outbox row). The relay reads each of these tables past a cursor, in
id order, and writes the events (and one delivery per endpoint that wants each)
in one transaction with the cursor's move. So an event exists exactly when its
operation committed: a rolled-back operation left nothing to read, and a relay
stopped at any point goes on from its cursor. Operations, the one-statement
payment path included, write nothing more for webhooks, and with no endpoint
enabled the relay only moves its cursors.

Ids are taken when a row is inserted, not when it commits: on PostgreSQL a
visible id can have a smaller one still being written by a running
transaction. The relay stops at such a gap and waits up to
WEBHOOKS_GAP_WAIT_SECONDS for it (the transaction commits) before taking it
for rolled back and reading on (``RelayCursor``).

``data.object`` is the record as it is when the relay reads it, normally within
a second of the operation (docs/webhooks.md).
"""

import datetime
import functools
import json
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from api.invoices import with_lines
from billing.models import (
    ISSUED_STATUSES,
    BalanceEntry,
    CreditNote,
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceStatus,
    Payment,
    Receipt,
    Refund,
)
from webhooks import payloads
from webhooks.models import (
    AnnouncedInvoiceStatus,
    EventType,
    RelayCursor,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

K = InvoiceEventKind
# The timeline's kinds that are webhook events of their own, and which record
# the event's object is.
TIMELINE = {
    K.ISSUED: (EventType.INVOICE_ISSUED, "invoice"),
    K.VOIDED: (EventType.INVOICE_VOIDED, "invoice"),
    K.PAYMENT_RECORDED: (EventType.PAYMENT_SUCCEEDED, "payment"),
    K.PAYMENT_SUCCEEDED: (EventType.PAYMENT_SUCCEEDED, "payment"),
    K.CREDIT_APPLIED: (EventType.PAYMENT_SUCCEEDED, "payment"),
    K.PAYMENT_FAILED: (EventType.PAYMENT_FAILED, "payment"),
    K.PAYMENT_VOIDED: (EventType.PAYMENT_VOIDED, "payment"),
    K.REFUND_ISSUED: (EventType.REFUND_SUCCEEDED, "refund"),
    K.REFUND_SUCCEEDED: (EventType.REFUND_SUCCEEDED, "refund"),
    K.REFUND_FAILED: (EventType.REFUND_FAILED, "refund"),
    K.CREDIT_NOTE_ISSUED: (EventType.CREDIT_NOTE_CREATED, "credit_note"),
}
# Kinds that cannot change what an invoice has paid or owes.
NO_STATUS_CHANGE = (K.CREATED, K.ISSUED, K.VOIDED, K.DOCUMENT_EMAILED)


class _Records:
    """The records a batch of timeline rows shows, each kind read in one query
    (the API's functions then build their representation with none)."""

    def __init__(self, rows):
        ids = {"invoice": set(), "payment": set(), "refund": set(), "credit_note": set()}
        for row in rows:
            for name, found in ids.items():
                if getattr(row, f"{name}_id") is not None:
                    found.add(getattr(row, f"{name}_id"))
        self.invoice = with_lines().in_bulk(ids["invoice"])
        self.payment = Payment.objects.in_bulk(ids["payment"])
        self.refund = Refund.objects.in_bulk(ids["refund"])
        self.credit_note = CreditNote.objects.in_bulk(ids["credit_note"])
        self.announced = {
            a.invoice_id: a
            for a in AnnouncedInvoiceStatus.objects.filter(invoice_id__in=ids["invoice"])
        }
        self.changed = {}

    def out(self, record, pk):
        return payloads.OUT[record](getattr(self, record)[pk])

    def announce(self, invoice_id, status):
        announced = self.announced.get(invoice_id)
        if announced is not None and announced.status == status:
            return False
        self.announced[invoice_id] = self.changed[invoice_id] = AnnouncedInvoiceStatus(
            invoice_id=invoice_id, status=status
        )
        return True

    def save(self):
        AnnouncedInvoiceStatus.objects.bulk_create(
            self.changed.values(),
            update_conflicts=True,
            unique_fields=["invoice"],
            update_fields=["status"],
        )


def _from_timeline(rows):
    records = _Records(rows)
    found = []
    for row in rows:
        if row.kind in TIMELINE:
            event_type, record = TIMELINE[row.kind]
            pk = getattr(row, f"{record}_id")
            if pk is not None:
                found.append((row, event_type, functools.partial(records.out, record, pk)))
        if row.kind == K.ISSUED:
            # What receivers are told next is measured from "open".
            records.announce(row.invoice_id, InvoiceStatus.OPEN)
        elif row.kind not in NO_STATUS_CHANGE:
            found += _status_change(row, records)
    records.save()
    return found


def _status_change(row, records):
    """invoice.payment_status_updated (and invoice.paid) when the invoice's status
    differs from the one last announced. Level, not edge: two payments read
    together announce the status they left, once."""
    status = records.invoice[row.invoice_id].status
    if status not in ISSUED_STATUSES or not records.announce(row.invoice_id, status):
        return []
    data = functools.partial(records.out, "invoice", row.invoice_id)
    found = [(row, EventType.INVOICE_PAYMENT_STATUS_UPDATED, data)]
    if status == InvoiceStatus.PAID:
        found.append((row, EventType.INVOICE_PAID, data))
    return found


def _from_ledger(rows):
    return [
        (row, EventType.CUSTOMER_BALANCE_CHANGED, functools.partial(payloads.balance_entry, row))
        for row in rows
    ]


def _from_receipts(rows):
    return [
        (row, EventType.RECEIPT_CREATED, functools.partial(payloads.receipt_out, row))
        for row in rows
    ]


SOURCES = {
    "invoice_event": (InvoiceEvent.objects.all, _from_timeline),
    "balance_entry": (lambda: BalanceEntry.objects.select_related("balance"), _from_ledger),
    "receipt": (
        lambda: Receipt.objects.select_related("payment__invoice", "refund__payment__invoice"),
        _from_receipts,
    ),
}


def relay(*, now=None, batch=500):
    """Read every source past its cursor; returns how many events it wrote."""
    now = now or timezone.now()
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
    if not endpoints:
        # Nobody to tell: each cursor skips to its table's newest row, one
        # UPDATE each. An endpoint enabled later hears of what happens from then on.
        for source, (rows, _) in SOURCES.items():
            newest = rows().order_by("-pk").values("pk")[:1]
            RelayCursor.objects.filter(source=source).update(
                last_id=Greatest(F("last_id"), Coalesce(Subquery(newest), Value(0))),
                gap_since=None,
                gap_until=None,
            )
        return 0
    return sum(_relay_source(source, endpoints, now, batch) for source in SOURCES)


@transaction.atomic(durable=True)
def _relay_source(source, endpoints, now, batch):
    # (the endpoints: those enabled, never none)
    rows, derive = SOURCES[source]
    cursor = _cursor(source)
    visible = list(rows().filter(pk__gt=cursor.last_id).order_by("pk")[:batch])
    if cursor.last_id == 0 and visible:
        # Made when the table was empty: its first row is where it starts (ids
        # need not start at 1; a rolled-back insert took some).
        cursor.last_id = visible[0].pk - 1
    taken = []
    for row in visible:
        if row.pk != cursor.last_id + 1 and not _gap_settled(cursor, row, visible[-1].pk, now):
            break
        taken.append(row)
        cursor.last_id = row.pk
    written = _write(source, derive(taken), endpoints, now) if taken else 0
    if cursor.gap_until is not None and cursor.last_id >= cursor.gap_until:
        cursor.gap_since, cursor.gap_until = None, None
    cursor.save()
    return written


def start():
    """Give each source a cursor, at its newest row, unless it has one: an
    endpoint hears of what happens after it was made (``endpoint_create``)."""
    for source in SOURCES:
        _cursor(source)


def _cursor(source):
    cursor = RelayCursor.objects.select_for_update().filter(source=source).first()
    if cursor is None:
        rows, _ = SOURCES[source]
        top = rows().aggregate(top=Max("pk"))["top"] or 0
        cursor, _ = RelayCursor.objects.get_or_create(source=source, defaults={"last_id": top})
    return cursor


def _gap_settled(cursor, row, highest_visible, now):
    """True when the ids missing before ``row`` may be given up on: they were
    taken at least WEBHOOKS_GAP_WAIT_SECONDS ago (before ``gap_until`` was
    visible) and are still not there, so their transaction rolled back."""
    wait = datetime.timedelta(seconds=settings.WEBHOOKS_GAP_WAIT_SECONDS)
    if cursor.gap_since is not None and row.pk <= cursor.gap_until:
        return now - cursor.gap_since >= wait
    cursor.gap_since, cursor.gap_until = now, highest_visible
    return False


def _write(source, found, endpoints, now):
    """Write the events of ``found`` ((row, type, data) in order) that an enabled
    endpoint wants, each with one delivery per such endpoint, in a few
    statements; an event already written (its ``source`` taken) is left."""
    wanted = []
    for row, event_type, data in found:
        wanting = [endpoint for endpoint in endpoints if endpoint.wants(event_type)]
        if wanting:
            wanted.append((f"{source}:{row.pk}:{event_type}", event_type, data, wanting))
    if not wanted:
        return 0
    taken = set(
        WebhookEvent.objects.filter(source__in=[key for key, *_ in wanted]).values_list(
            "source", flat=True
        )
    )
    events, targets = [], []
    for key, event_type, data, wanting in wanted:
        if key in taken:
            continue
        public_id = f"msg_{secrets.token_hex(12)}"
        body = {
            "id": public_id,
            "type": str(event_type),
            "timestamp": now.isoformat(),
            "data": {"object": data()},
        }
        events.append(
            WebhookEvent(
                public_id=public_id,
                type=event_type,
                source=key,
                body=json.dumps(body, separators=(",", ":")),
                created_at=now,
            )
        )
        targets.append(wanting)
    WebhookEvent.objects.bulk_create(events)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
        for event, wanting in zip(events, targets, strict=True)
        for endpoint in wanting
    )
    return len(events)
