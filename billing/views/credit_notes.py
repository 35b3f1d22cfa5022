from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from billing import permissions, selectors, services
from billing.filters import CreditNoteFilterSet
from billing.forms.credit_notes import CreditNoteIssueForm
from billing.models import Invoice, RefundStatus
from billing.money import format_money
from billing.views._htmx import (
    CUSTOMER_CHANGED,
    INVOICE_CHANGED,
    action_done,
    form_invalid,
    modal_action,
    permission_or_403,
    render_form,
    render_list,
    render_page,
    staff_required,
)


@staff_required
def credit_note_list(request):
    """Every credit note, newest first, by reason, customer, currency, issue
    date and number, invoice number or customer name; "Export CSV" downloads
    every row these filters match (views/exports.py)."""
    filterset = CreditNoteFilterSet(request.GET)
    context = {
        "section": "credit_notes",
        "filter_customer": selectors.filter_customer(pk=filterset.form.filters().get("customer")),
    }
    return render_list(
        request,
        "billing/credit_note_list.html",
        context,
        filterset=filterset,
        partial="credit-note-table",
    )


ISSUE_TEMPLATE = "billing/modals/credit_note_issue.html"
# The part of the form htmx's preview-on-change replaces (the fields stay).
PREVIEW_REGION = "credit-note-preview"


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.ISSUE_CREDIT_NOTE)
def credit_note_issue(request, pk):
    """Credit an issued invoice: reduce what is due, refund a payment, move paid
    money to the customer's credit. "Preview" shows the invoice after it (and
    writes nothing); "Confirm" issues it."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    credit = selectors.customer_credit(customer=invoice.customer, currency=invoice.currency)
    payments = selectors.invoice_refundable_payments(invoice=invoice)
    preview = "preview" in request.POST
    form = CreditNoteIssueForm(
        request.POST or None, invoice=invoice, payments=payments, preview=preview
    )
    context = {"invoice": invoice, "form": form, "credit": credit, "after": None}
    if preview:
        return _preview(request, form, context)

    def perform(data):
        parts = form.parts()
        refund_payment = data.get("refund_payment") if parts["refund"].amount > 0 else None
        issued = services.credit_note_issue(
            invoice=invoice,
            reason=data["reason"],
            memo=data["memo"],
            refund_payment=refund_payment,
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
            **parts,
        )
        message, level = _issued_message(issued)
        return action_done(
            request,
            message=message,
            level=level,
            redirect_to=invoice.get_absolute_url(),
            events=(INVOICE_CHANGED, CUSTOMER_CHANGED)
            if issued.moves_customer_credit
            else (INVOICE_CHANGED,),
        )

    return modal_action(request, ISSUE_TEMPLATE, context, perform)


def _issued_message(issued):
    """What became of the note; its gateway refund may have failed after it was
    committed (the note stands, its refund part was put back as paid)."""
    note, refund = issued.credit_note, issued.refund
    message = f"Issued credit note {note.number} for {format_money(note.total)}."
    if refund is None or refund.status == RefundStatus.SUCCEEDED:
        return message, "success"
    if refund.status == RefundStatus.FAILED:
        return f"{message} The refund failed at the gateway: {refund.failure_reason}", "warning"
    return f"{message} The refund is pending; reconciliation will settle it.", "warning"


def _preview(request, form, context):
    """The invoice after the credit note, written nowhere. The "Preview" button
    re-renders the form (422 with the errors on their fields); htmx's
    preview-on-change gets only the preview region, errors listed in it."""
    invoice, credit = context["invoice"], context["credit"]
    after = None
    if form.is_valid():
        parts = form.parts()
        if any(amount.amount > 0 for amount in parts.values()):
            refund = parts["refund"].amount > 0
            refund_payment = form.cleaned_data["refund_payment"] if refund else None
            after = selectors.credit_note_after(
                invoice=invoice, credit=credit, refund_payment=refund_payment, **parts
            )
            for field, message in after.exceeds.items():
                form.add_error(field if field in form.fields else None, message)
    context = {**context, "after": None if form.errors else after}
    if getattr(request, "htmx", None) and request.htmx.target == PREVIEW_REGION:
        context["auto_preview"] = True
        return render_page(request, ISSUE_TEMPLATE, context, partials=(PREVIEW_REGION,))
    if form.errors:
        return form_invalid(request, ISSUE_TEMPLATE, context)
    return render_form(request, ISSUE_TEMPLATE, context)
