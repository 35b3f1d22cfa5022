"""Receipts, e-mailed documents and the outbox that carries them past a crash.

The outbox rows are written by the operations themselves (``_common.receipt_wanted``,
``document_email``); after the commit a drain task (billing/tasks.py) hands every
row still pending to ``outbox_handle`` (``outbox_drain``, one task for a burst of
rows), and ``outbox_sweep`` enqueues again what a lost or failed task left undone.
"""

import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing import documents, locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.models import (
    CreditNote,
    DocumentKind,
    Invoice,
    InvoiceEventKind,
    OutboxMessage,
    OutboxTopic,
    PaymentStatus,
    Receipt,
    RefundStatus,
)
from billing.services._common import event, outbox_enqueue_on_commit

logger = logging.getLogger(__name__)

RECEIPT_PREFIX = "RCPT"


@transaction.atomic(durable=True)
def receipt_issue(*, payment=None, refund=None):
    """The receipt of a succeeded payment or refund (an instance or an id), made
    with the next receipt number if it has none yet.

    Asked any number of times, by the worker or a download, it makes one receipt:
    the payment's (or refund's) row lock serialises the askers, and the receipt's
    unique payment (refund) holds it in the database too. The number is taken
    from the ``receipt`` sequence in this transaction, so a rollback gives it
    back: numbers are gap-free. A payment or refund that has not succeeded gets
    none (None). Marks the record's receipt outbox rows done.
    Locks: payment or refund, then the receipt counter.
    """
    if (payment is None) == (refund is None):
        raise ValueError("receipt_issue takes a payment or a refund")
    if payment is not None:
        record = locks.lock_payment(payment)
        receipt = Receipt.objects.filter(payment=record).first()
        succeeded = record.status == PaymentStatus.SUCCEEDED
        links = {"payment": record}
    else:
        record = locks.lock_refund(refund)
        receipt = Receipt.objects.filter(refund=record).first()
        succeeded = record.status == RefundStatus.SUCCEEDED
        links = {"refund": record}
    if receipt is None and succeeded:
        year = timezone.localdate().year
        number = locks.next_number("receipt", year)
        receipt = Receipt.objects.create(number=f"{RECEIPT_PREFIX}-{year}-{number:06d}", **links)
        if settings.BILLING_EMAIL_RECEIPTS:
            _email_receipt_automatically(receipt, record)
    OutboxMessage.objects.filter(topic=OutboxTopic.RECEIPT, done_at=None, **links).update(
        done_at=timezone.now()
    )
    return receipt


def _email_receipt_automatically(receipt, record):
    customer = receipt.invoice.customer
    if not customer.email:
        return
    message = OutboxMessage.objects.create(
        topic=OutboxTopic.EMAIL,
        document=DocumentKind.RECEIPT,
        receipt=receipt,
        invoice=receipt.invoice,
        recipient=customer.email,
        # The timeline names the person whose payment or refund this was.
        created_by_id=record.created_by_id,
    )
    outbox_enqueue_on_commit(message)


@transaction.atomic(durable=True)
def document_email(*, document, actor):
    """Ask for ``document`` (a Receipt, CreditNote or issued Invoice) to be e-mailed
    to its customer's address, with its PDF attached.

    Writes the outbox row a task sends from (``outbox_handle``); the send is
    recorded on the invoice's timeline when it happens. A customer without an
    e-mail address, or a draft invoice, is ``invalid_state`` and writes nothing.
    Needs ``view_billing``: sending a customer their own document changes no
    money record.
    """
    permissions.require(actor, permissions.VIEW)
    if isinstance(document, Receipt):
        kind, links, invoice = DocumentKind.RECEIPT, {"receipt": document}, document.invoice
    elif isinstance(document, CreditNote):
        kind, links, invoice = DocumentKind.CREDIT_NOTE, {"credit_note": document}, document.invoice
    elif isinstance(document, Invoice):
        kind, links, invoice = DocumentKind.INVOICE, {}, document
        if not invoice.number:
            raise BillingError(ErrorCode.INVALID_STATE, "A draft invoice cannot be e-mailed.")
    else:
        raise BillingError(ErrorCode.INVALID_VALUE, "Only receipts, credit notes and invoices.")
    customer = invoice.customer
    if not customer.email:
        raise BillingError(
            ErrorCode.INVALID_STATE, f"{customer} has no e-mail address to send it to."
        )
    message = OutboxMessage.objects.create(
        topic=OutboxTopic.EMAIL,
        document=kind,
        invoice=invoice,
        recipient=customer.email,
        created_by=actor,
        **links,
    )
    outbox_enqueue_on_commit(message)
    return message


def outbox_handle(message_id):
    """Do what an outbox row asks, once: make a receipt, or send an e-mail.

    A row already done is left alone, so a task enqueued twice (the sweep's, or
    a retry) does nothing the second time. Returns what it did.
    """
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None or message.done_at is not None:
        return "nothing to do"
    try:
        if message.topic == OutboxTopic.RECEIPT:
            receipt = receipt_issue(payment=message.payment_id, refund=message.refund_id)
            return f"receipt {receipt}" if receipt else "no receipt: not succeeded"
        return _email_send(message_id)
    except Exception as error:
        # Counted and kept for the sweep to try again; the task fails with it too.
        OutboxMessage.objects.filter(pk=message_id).update(
            attempts=F("attempts") + 1, last_error=repr(error)[:500]
        )
        raise


@transaction.atomic(durable=True)
def _email_send(message_id):
    """Send one e-mail and mark it done, holding its outbox row's lock meanwhile so
    two workers never send it together. At least once: a crash after the send and
    before the commit sends it again."""
    message = (
        OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=message_id, done_at=None)
        .select_related("invoice__customer", "receipt", "credit_note")
        .first()
    )
    if message is None:
        return "nothing to do"
    document = {
        DocumentKind.RECEIPT: message.receipt,
        DocumentKind.CREDIT_NOTE: message.credit_note,
        DocumentKind.INVOICE: message.invoice,
    }[message.document]
    rendered = documents.render(document)
    email = EmailMessage(
        subject=f"{rendered.title} from {settings.BILLING_SELLER['name']}",
        body=(
            f"Hello {message.invoice.customer.name},\n\n"
            f"Please find attached {rendered.title.lower()}.\n\n"
            f"{settings.BILLING_SELLER['name']}\n"
        ),
        to=[message.recipient],
    )
    email.attach(rendered.filename, rendered.pdf, "application/pdf")
    email.send()
    message.done_at = timezone.now()
    message.attempts += 1
    message.save(update_fields=["done_at", "attempts"])
    event(
        message.invoice,
        InvoiceEventKind.DOCUMENT_EMAILED,
        message.created_by,
        message=f"{rendered.title} e-mailed to {message.recipient}",
        credit_note=message.credit_note,
        payment=message.receipt.payment if message.receipt else None,
        refund=message.receipt.refund if message.receipt else None,
    )
    return f"sent {rendered.filename}"


def outbox_drain(*, batch=100):
    """Handle every outbox row not done and never tried, oldest first, until none
    is left; the task ``outbox_wake`` enqueues after commits. Returns how many
    rows it handled.

    Any number of drains may run at once, and beside the sweep: the handlers are
    idempotent. A row whose handling fails is counted on the row (``attempts``)
    and left to ``outbox_sweep``, which tries it again later; the drain goes on
    with the others. Reads the ``outbox_pending`` partial index, so its cost
    does not grow with the rows done.
    """
    pending = OutboxMessage.objects.filter(done_at=None, attempts=0).order_by("created_at", "pk")
    handled, after = 0, None
    while True:
        rows = pending
        if after is not None:
            # Past the rows this drain saw: one that stays pending (its e-mail
            # locked by another worker) is not read again.
            rows = rows.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], pk__gt=after[1]))
        page = list(rows.values_list("created_at", "pk")[:batch])
        if not page:
            return handled
        for _created_at, message_id in page:
            try:
                outbox_handle(message_id)
            except Exception:
                logger.exception("Outbox row %s failed; the sweep tries it again.", message_id)
            handled += 1
        after = page[-1]


def outbox_sweep(*, older_than=None):
    """Enqueue again every outbox row not done and older than ``older_than``
    (default BILLING_OUTBOX_RETRY_SECONDS) whose task was lost or failed, up to
    BILLING_OUTBOX_MAX_ATTEMPTS tries. Returns how many it enqueued."""
    from billing import tasks  # tasks import the services: bound late

    if older_than is None:
        older_than = datetime.timedelta(seconds=settings.BILLING_OUTBOX_RETRY_SECONDS)
    pending = OutboxMessage.objects.filter(
        done_at=None,
        created_at__lte=timezone.now() - older_than,
        attempts__lt=settings.BILLING_OUTBOX_MAX_ATTEMPTS,
    ).order_by("created_at")
    count = 0
    for message_id in pending.values_list("pk", flat=True).iterator():
        tasks.outbox_handle.enqueue(message_id)
        count += 1
    return count
