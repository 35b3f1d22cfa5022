"""The seeds' payment APIs as their own documents describe them, each mounted
under its own prefix (/compat/lago, /compat/dolfin,
/compat/gohighlevel), so a client configured with
that base URL works unchanged. Each module reads like a translation table:
their field names in, one service call, their field names out, error codes
mapped by one dict. No rule lives here.

An Idempotency-Key header is honoured when sent (their clients do not send one);
the key is scoped to the API key and kept with billing's own keys.
"""

import datetime

from django.conf import settings
from django.utils import timezone

from api.idempotency import Call
from api.lookups import invoice_or_404, invoice_query
from billing import services
from billing.errors import BillingError, ErrorCode
from billing.models import Invoice


def optional_call(request, key, body, *, status, render):
    """A ``Call`` when the client sent an Idempotency-Key, else nothing to pass."""
    if not key:
        return None
    return Call(request, key, body, status=status, render=render)


def day_of(value):
    """A payment date from a date-time (its local day), a date, or None (today)."""
    if value is None:
        return timezone.localdate()
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value


# -- recording without reading the invoice first -------------------------------------
#
# These bodies name no currency, yet the service needs one before its statement
# (the amount is Money; Lago's amount_cents even depends on the minor unit). Reading
# the invoice for it costs what issue 11 forbids (an ORM read per payment halves the
# service's rate), so the currency is assumed: the one this process last saw for that
# invoice (an invoice's currency never changes), else the last one it recorded in.
# The assumption is safe: the service's statement applies a payment only to a row in
# that currency, and its ORM path refuses another currency (currency_mismatch). When
# the assumption was wrong (that refusal, an amount the assumed currency cannot hold,
# or an idempotency key whose first request was recorded in the right one) the
# invoice's currency is read and the call made again: the refused attempt wrote
# nothing, its transaction rolled back.

CURRENCY_CACHE_SIZE = 10_000
_currency_of = {}
_last_currency = [None]
_ASSUMPTION_ERRORS = {
    ErrorCode.CURRENCY_MISMATCH,
    ErrorCode.INVALID_AMOUNT,
    ErrorCode.IDEMPOTENCY_CONFLICT,
}


def forget_currencies():
    """Start again with no currency known (tests)."""
    _currency_of.clear()
    _last_currency[0] = None


def _remember(invoice_pk, currency):
    if len(_currency_of) >= CURRENCY_CACHE_SIZE:
        _currency_of.clear()
    _currency_of[invoice_pk] = currency
    _last_currency[0] = currency


def _invoice(ref):
    """An unsaved ``Invoice(pk=, currency=)`` for ``ref`` and whether its currency
    is known (read) or assumed. An id is not read; a number is, once, for its id
    (the statement finds the row by id), and its currency comes with it."""
    query = invoice_query(ref)
    if "pk" not in query:
        found = Invoice.objects.filter(**query).values_list("pk", "currency").first()
        if found is None:
            invoice_or_404(ref)  # the not-found error, worded once
        return Invoice(pk=found[0], currency=found[1]), True
    pk = query["pk"]
    assumed = _currency_of.get(pk) or _last_currency[0] or settings.CURRENCIES[0]
    return Invoice(pk=pk, currency=assumed), False


def record(ref, amount, **kwargs):
    """``services.payment_record`` against the invoice ``ref`` names (its API id,
    its number, or an Invoice already read), with ``amount(currency)`` the amount
    to record once the currency is known, without reading the invoice first.

    The returned payment's ``invoice`` is the row as the service left it (the
    statement's RETURNING, or the ORM path's locked row): the shapes' invoice
    fields come from there, with no read after either."""
    if isinstance(ref, Invoice):
        invoice, known = ref, True
    else:
        invoice, known = _invoice(ref)
    try:
        payment = services.payment_record(
            invoice=invoice, amount=amount(invoice.currency), **kwargs
        )
    except BillingError as error:
        if known or error.code not in _ASSUMPTION_ERRORS:
            raise
        actual = invoice_or_404(str(invoice.pk)).currency
        if actual == invoice.currency:
            raise
        invoice = Invoice(pk=invoice.pk, currency=actual)
        payment = services.payment_record(
            invoice=invoice, amount=amount(invoice.currency), **kwargs
        )
    _remember(payment.invoice_id, payment.currency)
    return payment
