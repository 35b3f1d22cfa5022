"""CSV exports of the payments, refunds and credit notes lists (docs/frontend.md,
"Customer actions and exports").

An export holds every row the list's filters match, not just the page shown,
in the list's order. It is streamed: rows are read with ``iterator()`` in
chunks and written as they come, so a year of payments never sits in memory,
and the query count is the same for ten rows or a million.

Amounts are plain decimals at their currency's minor unit ("48000" JPY,
"375.125" KWD, "12.50" USD) with the currency in a column of its own: never a
float, never grouped digits, so a spreadsheet or an accounting import reads
them exactly. Codes (status, method, reason) are the models' stable values,
not their labels.
Every cell that starts like a formula is defused (``safe_cell``).

A payment's row carries what the clerk typed about how it was paid: the
method's details in their own columns (``cheque_number``, ``bank_reference``,
``card_brand`` and ``card_last4``, for a saved card too) and its description as
the pages write it (``method_details``: "Cheque #104233"); ``reference`` is the
reference the clerk typed, which for a bank transfer is the bank's.

The file starts with a UTF-8 byte order mark: without it Excel reads a CSV in
the machine's legacy code page and shows "BÃ¤ckerei MÃ¼ller"; spreadsheets,
Python's ``utf-8-sig`` and accounting imports skip it.

An export never ends early without saying so. Its filters are checked before
anything is sent: one that does not parse is a 400 naming it (the list page
drops it, but a file that silently holds more rows than asked is worse than
none). The query runs and the first row is read before the answer starts, so
a failing query is an error page, not an empty file. A failure later, mid-file,
writes ``EXPORT_FAILED`` as the last line and aborts the response, so the
download is left incomplete (the chunked answer has no end) rather than
looking whole.
"""

import csv
import logging

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from billing.filters import CreditNoteFilterSet, PaymentFilterSet, RefundFilterSet
from billing.models.customers import brand_label
from billing.money import normalize
from billing.views._htmx import staff_required

# Rows fetched per round trip (PostgreSQL streams them with a server-side cursor).
CHUNK_SIZE = 2000

# Excel takes a CSV for UTF-8 only when it starts with the byte order mark.
BOM = "\ufeff"

# A spreadsheet runs a cell starting with one of these as a formula (CSV
# injection, OWASP): prefixed with a single quote, it is only text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

PAYMENT_COLUMNS = (
    "payment_id",
    "payment_date",
    "recorded_at",
    "invoice_id",
    "invoice",
    "customer_id",
    "customer",
    "method",
    "method_details",
    "cheque_number",
    "bank_reference",
    "card_brand",
    "card_last4",
    "status",
    "currency",
    "amount",
    "refunded",
    "sent_to_credit",
    "reference",
    "recorded_by",
)

REFUND_COLUMNS = (
    "refund_id",
    "recorded_at",
    "payment_id",
    "invoice_id",
    "invoice",
    "customer_id",
    "customer",
    "destination",
    "status",
    "reason",
    "currency",
    "amount",
    "credit_note",
    "reference",
    "notes",
    "recorded_by",
)

CREDIT_NOTE_COLUMNS = (
    "credit_note_id",
    "number",
    "date",
    "invoice_id",
    "invoice",
    "customer_id",
    "customer",
    "reason",
    "currency",
    "total",
    "reduce_due",
    "refund",
    "to_credit",
    "refunded_payment_id",
    "issued_by",
)


def safe_cell(value):
    """A cell as text; one a spreadsheet would take for a formula gets a
    leading single quote. (Amounts here are never negative, so no number is
    touched.)"""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def plain_amount(money):
    """``Money`` as a plain decimal at its currency's minor unit: "48000", "375.125"."""
    return f"{normalize(money).amount:f}"


class _Echo:
    """csv.writer writes to this and gets the line back, to yield it."""

    def write(self, value):
        return value


logger = logging.getLogger(__name__)

# The last line of an export that failed midway (then the answer is aborted).
EXPORT_FAILED = "# EXPORT FAILED: this file is incomplete. Download it again."


def _invalid_filters(filterset):
    """A 400 naming the filters that do not parse, or None."""
    form = filterset.form
    if form.is_valid():
        return None
    problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
    return HttpResponseBadRequest(
        f"Nothing was exported: these filters do not parse. {problems}",
        content_type="text/plain; charset=utf-8",
    )


def _csv_response(filename, header, rows):
    writer = csv.writer(_Echo())
    rows = iter(rows)
    # Runs the query now, before the answer starts.
    first = next(rows, None)

    def lines():
        yield BOM + writer.writerow(header)
        if first is None:
            return
        yield writer.writerow([safe_cell(cell) for cell in first])
        try:
            for row in rows:
                yield writer.writerow([safe_cell(cell) for cell in row])
        except Exception:
            logger.exception("The export %s failed midway.", filename)
            yield writer.writerow([EXPORT_FAILED])
            raise

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _filename(name):
    return f"{name}-{timezone.localdate():%Y-%m-%d}.csv"


def _local(moment):
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _card(payment):
    """(brand, last 4) of the card paid with: a card terminal's as typed, a saved
    method's (its brand as people write it), or blanks."""
    if payment.payment_method_id:
        saved = payment.payment_method
        return brand_label(saved.brand), saved.last4
    return payment.card_brand, payment.card_last4


@require_safe
@staff_required
def payment_export(request):
    """Every payment the payments list's filters match, as CSV."""
    filterset = PaymentFilterSet(request.GET)
    if invalid := _invalid_filters(filterset):
        return invalid
    payments = filterset.qs
    rows = (
        (
            payment.pk,
            payment.paid_at.isoformat(),
            _local(payment.created_at),
            payment.invoice_id,
            payment.invoice.number,
            payment.invoice.customer_id,
            payment.invoice.customer.name,
            payment.method,
            payment.method_description,
            payment.cheque_number,
            payment.bank_reference,
            *_card(payment),
            payment.status,
            payment.currency,
            plain_amount(payment.amount),
            plain_amount(payment.amount_refunded),
            plain_amount(payment.amount_to_credit),
            payment.reference or payment.bank_reference,
            payment.created_by.get_username(),
        )
        for payment in payments.iterator(chunk_size=CHUNK_SIZE)
    )
    return _csv_response(_filename("payments"), PAYMENT_COLUMNS, rows)


@require_safe
@staff_required
def credit_note_export(request):
    """Every credit note the credit notes list's filters match, as CSV."""
    filterset = CreditNoteFilterSet(request.GET)
    if invalid := _invalid_filters(filterset):
        return invalid
    notes = filterset.qs
    rows = (
        (
            note.pk,
            note.number,
            note.issue_date.isoformat(),
            note.invoice_id,
            note.invoice.number,
            note.invoice.customer_id,
            note.invoice.customer.name,
            note.reason,
            note.currency,
            plain_amount(note.total),
            plain_amount(note.reduce_due),
            plain_amount(note.refund_amount),
            plain_amount(note.to_credit),
            note.refund_payment_id,
            note.created_by.get_username(),
        )
        for note in notes.iterator(chunk_size=CHUNK_SIZE)
    )
    return _csv_response(_filename("credit-notes"), CREDIT_NOTE_COLUMNS, rows)


@require_safe
@staff_required
def refund_export(request):
    """Every refund the refunds list's filters match, as CSV."""
    filterset = RefundFilterSet(request.GET)
    if invalid := _invalid_filters(filterset):
        return invalid
    refunds = filterset.qs
    rows = (
        (
            refund.pk,
            _local(refund.created_at),
            refund.payment_id,
            refund.payment.invoice_id,
            refund.payment.invoice.number,
            refund.payment.invoice.customer_id,
            refund.payment.invoice.customer.name,
            refund.destination,
            refund.status,
            refund.reason,
            refund.currency,
            plain_amount(refund.amount),
            refund.credit_note.number if refund.credit_note_id else "",
            refund.reference,
            refund.notes,
            refund.created_by.get_username(),
        )
        for refund in refunds.iterator(chunk_size=CHUNK_SIZE)
    )
    return _csv_response(_filename("refunds"), REFUND_COLUMNS, rows)
