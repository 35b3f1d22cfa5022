"""Finding the records a URL names: ids are strings of digits; an invoice is
also found by its number (``INV-2026-000123``)."""

from api.problems import NotFound
from billing.errors import BillingError, ErrorCode
from billing.models import Invoice

# How long a reference to an invoice may be: not stored, so no column bounds it;
# room for an id, a number, or the UUID a client of another product sends (which
# answers invoice_not_found rather than a validation error).
REFERENCE_LENGTH = 64


def invoice_query(ref):
    ref = (ref or "").strip()
    if ref.isdigit() and len(ref) <= 18:
        return {"pk": int(ref)}
    return {"number": ref}


def invoice_or_404(ref, queryset=None):
    """An invoice by its API id or its number, or ``invoice_not_found``."""
    queryset = Invoice.objects.all() if queryset is None else queryset
    invoice = queryset.filter(**invoice_query(ref)).first()
    if invoice is None:
        raise BillingError(
            ErrorCode.INVOICE_NOT_FOUND, f"There is no invoice {ref[:40]!r}.", field="invoice"
        )
    return invoice


def invoice_id(ref):
    """The invoice's id, without reading the row when the reference is one (the
    record path's statement reads it itself)."""
    query = invoice_query(ref)
    return query["pk"] if "pk" in query else invoice_or_404(ref).pk


def one_or_404(queryset, ref, noun):
    found = queryset.filter(pk=int(ref)).first()
    if found is None:
        raise NotFound(f"There is no {noun} {ref}.")
    return found
