"""The PDFs people are sent: receipts, credit notes and invoices, rendered from
Django templates (templates/billing/pdf/) with WeasyPrint.

Reads only. A document shows amounts through the same ``money`` filter as the
pages, the seller from settings.BILLING_SELLER, and of a payment's method only
what identifies it (brand and last 4, cheque number, bank reference).
"""

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import CreditNote, Invoice, PaymentStatus, Receipt, RefundStatus


@dataclass(frozen=True)
class Rendered:
    title: str
    filename: str
    pdf: bytes


def _pdf(template, context):
    # Imported here: WeasyPrint loads Pango when imported, which pages never need.
    from weasyprint import HTML

    html = render_to_string(
        template, {"seller": settings.BILLING_SELLER, "today": timezone.localdate(), **context}
    )
    return HTML(string=html).write_pdf()


def receipt_context(receipt):
    payment = receipt.payment or receipt.refund.payment
    invoice = payment.invoice
    refunds = [r for r in payment.refunds.order_by("created_at", "pk")]
    return {
        "receipt": receipt,
        "payment": payment,
        "refund": receipt.refund,
        "invoice": invoice,
        "customer": invoice.customer,
        "payment_succeeded": payment.status == PaymentStatus.SUCCEEDED,
        # Only refunds that went through: pending and failed ones gave nothing back yet.
        "refunds": [r for r in refunds if r.status == RefundStatus.SUCCEEDED],
        # What this payment settled of the invoice: what it paid, less what went
        # to credit (an overpayment's excess, a credit note's to-credit part).
        "settled": payment.amount - payment.amount_to_credit,
    }


def render(document):
    """A Receipt, CreditNote or Invoice as a PDF, with its title and file name."""
    if isinstance(document, Receipt):
        context = receipt_context(document)
        title = "Refund receipt" if document.refund_id else "Receipt"
        return Rendered(
            f"{title} {document.number}",
            f"{document.number}.pdf",
            _pdf("billing/pdf/receipt.html", {**context, "title": title}),
        )
    if isinstance(document, CreditNote):
        return Rendered(
            f"Credit note {document.number}",
            f"{document.number}.pdf",
            _pdf(
                "billing/pdf/credit_note.html",
                {
                    "credit_note": document,
                    "invoice": document.invoice,
                    "customer": document.invoice.customer,
                    "refunds": list(document.refunds.all()),
                },
            ),
        )
    if isinstance(document, Invoice):
        number = document.number or f"draft-{document.pk}"
        return Rendered(
            f"Invoice {document.number}" if document.number else "Draft invoice",
            f"{number}.pdf",
            _pdf(
                "billing/pdf/invoice.html",
                {
                    "invoice": document,
                    "customer": document.customer,
                    "lines": list(document.lines.all()),
                    "payments": list(
                        document.payments.filter(status=PaymentStatus.SUCCEEDED).order_by(
                            "paid_at", "pk"
                        )
                    ),
                },
            ),
        )
    raise TypeError(f"No PDF for {type(document).__name__}")
