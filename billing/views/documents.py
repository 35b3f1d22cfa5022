"""The documents people download or have e-mailed: receipts (of a payment or a
refund), credit notes and invoices as PDFs (billing/documents.py renders them).

A download answers with the PDF itself. A payment's or refund's receipt is made
on the first download if the worker has not made it yet: ``receipt_issue`` makes
one receipt however often it is asked, so a GET that makes it is safe to repeat.
"E-mail" is an action (a confirming modal, then a POST) that writes the outbox
row a worker sends from; the send lands on the invoice's timeline.
"""

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods, require_safe

from billing import documents, services
from billing.models import CreditNote, Invoice, Payment, Refund
from billing.views._htmx import action_done, form_data, modal_action, staff_required

EMAIL_TEMPLATE = "billing/modals/document_email.html"


def pdf_response(document):
    rendered = documents.render(document)
    response = HttpResponse(rendered.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return response


def _receipt(*, payment=None, refund=None):
    """The receipt of a payment or refund (made now if it has none yet); 404 for
    one that never succeeded."""
    receipt = services.receipt_issue(payment=payment, refund=refund)
    if receipt is None:
        raise Http404("Only a succeeded payment or refund has a receipt.")
    return receipt


@require_safe
@staff_required
def payment_receipt_pdf(request, pk):
    return pdf_response(_receipt(payment=get_object_or_404(Payment, pk=pk)))


@require_safe
@staff_required
def refund_receipt_pdf(request, pk):
    return pdf_response(_receipt(refund=get_object_or_404(Refund, pk=pk)))


@require_safe
@staff_required
def credit_note_pdf(request, pk):
    return pdf_response(get_object_or_404(CreditNote.objects.select_related("invoice"), pk=pk))


@require_safe
@staff_required
def invoice_pdf(request, pk):
    return pdf_response(get_object_or_404(Invoice.objects.select_related("customer"), pk=pk))


def _email(request, *, invoice, what, document):
    """The "E-mail …" modal and its post: ``document()`` gives the document to
    send (a receipt is made only when the post asks for it)."""
    form = forms.Form(form_data(request))
    context = {"invoice": invoice, "customer": invoice.customer, "what": what, "form": form}

    def perform(data):
        message = services.document_email(document=document(), actor=request.user)
        return action_done(
            request,
            message=f"{what} will be e-mailed to {message.recipient}.",
            redirect_to=invoice.get_absolute_url(),
            events=(),
        )

    return modal_action(request, EMAIL_TEMPLATE, context, perform)


@require_http_methods(["GET", "POST"])
@staff_required
def payment_receipt_email(request, pk):
    payment = get_object_or_404(Payment.objects.select_related("invoice__customer"), pk=pk)
    return _email(
        request,
        invoice=payment.invoice,
        what=f"The receipt of payment #{payment.pk}",
        document=lambda: _receipt(payment=payment),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def credit_note_email(request, pk):
    note = get_object_or_404(CreditNote.objects.select_related("invoice__customer"), pk=pk)
    return _email(
        request, invoice=note.invoice, what=f"Credit note {note.number}", document=lambda: note
    )


@require_http_methods(["GET", "POST"])
@staff_required
def invoice_email(request, pk):
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    return _email(request, invoice=invoice, what=f"Invoice {invoice}", document=lambda: invoice)
