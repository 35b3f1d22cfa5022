"""/api/v1 downloads: the PDFs of a payment's or refund's receipt, a credit note
and an invoice, as the back office's download links give them
(billing/views/documents.py): the same rendering, the same permission (the
key's user may see billing), and a receipt made on the first download if the
worker has not made it yet (``receipt_issue`` makes one however often it is
asked, so these GETs are safe to repeat). Errors are problems like the rest of
the API's: a payment or refund that did not succeed has no receipt (404)."""

from ninja import Router

from api.lookups import invoice_or_404, one_or_404
from api.problems import NotFound
from api.schemas import READ_ERRORS, Id, can_view
from billing import services
from billing.models import CreditNote, Invoice, Payment, Refund
from billing.views.documents import pdf_response

router = Router(tags=["documents"])


def _pdf(description):
    """The 200 answer in the OpenAPI document: a PDF file, not JSON."""
    return {
        "responses": {
            200: {
                "description": description,
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


def _receipt(**record):
    receipt = services.receipt_issue(**record)
    if receipt is None:
        raise NotFound("Only a succeeded payment or refund has a receipt.")
    return receipt


@router.get(
    "/payments/{payment}/receipt",
    response=READ_ERRORS,
    summary="The payment's receipt as a PDF",
    openapi_extra=_pdf("The receipt, RCPT-YYYY-NNNNNN.pdf."),
)
def payment_receipt(request, payment: Id):
    can_view(request)
    return pdf_response(_receipt(payment=one_or_404(Payment.objects.all(), payment, "payment")))


@router.get(
    "/refunds/{refund}/receipt",
    response=READ_ERRORS,
    summary="The refund's receipt as a PDF",
    openapi_extra=_pdf("The refund's receipt, RCPT-YYYY-NNNNNN.pdf."),
)
def refund_receipt(request, refund: Id):
    can_view(request)
    return pdf_response(_receipt(refund=one_or_404(Refund.objects.all(), refund, "refund")))


@router.get(
    "/credit_notes/{credit_note}/pdf",
    response=READ_ERRORS,
    summary="The credit note as a PDF",
    openapi_extra=_pdf("The credit note, CN-YYYY-NNNNNN.pdf."),
)
def credit_note_pdf(request, credit_note: Id):
    can_view(request)
    notes = CreditNote.objects.select_related("invoice__customer")
    return pdf_response(one_or_404(notes, credit_note, "credit note"))


@router.get(
    "/invoices/{invoice}/pdf",
    response=READ_ERRORS,
    summary="The invoice as a PDF (a draft's says so)",
    openapi_extra=_pdf("The invoice, INV-YYYY-NNNNNN.pdf (draft-<id>.pdf for a draft)."),
)
def invoice_pdf(request, invoice: str):
    can_view(request)
    return pdf_response(invoice_or_404(invoice, Invoice.objects.select_related("customer")))
