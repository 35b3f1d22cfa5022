"""An invoice's payment schedule (docs/frontend.md, "Payment schedules"):
split it into instalments or edit them, with a live preview, and remove a
schedule no payment was allocated to. The schedule's table is a region of the
invoice page (views/invoices.py); paying one instalment is the record-payment
modal with that instalment named (views/payments.py)."""

from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from billing import permissions, selectors, services
from billing.errors import BillingError
from billing.forms.schedules import ScheduleForm, ScheduleRemoveForm, add_schedule_error
from billing.models import Invoice
from billing.money import format_money
from billing.views._htmx import (
    action_done,
    form_data,
    form_invalid,
    modal_action,
    permission_or_403,
    render_form,
    render_modal,
    render_page,
    staff_required,
)

SCHEDULE_TEMPLATE = "billing/modals/invoice_schedule.html"
REMOVE_TEMPLATE = "billing/modals/invoice_schedule_remove.html"
# The form's regions htmx refreshes while it is filled in: the parts' rows
# (the split or the count changed) and the preview under them (a part changed).
PARTS_REGION = "schedule-parts"
PREVIEW_REGION = "schedule-preview"


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def invoice_schedule(request, pk):
    """Split an issued invoice into instalments, or edit its schedule
    (services.schedule_set). "Preview" (and, with htmx, any change) shows the
    parts ``schedule_preview`` would make and writes nothing."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    instalments = selectors.invoice_instalments(invoice=invoice)
    form = ScheduleForm(form_data(request), invoice=invoice, instalments=instalments)
    context = {"invoice": invoice, "form": form, "instalments": instalments, "planned": None}
    if request.method == "GET":
        return render_modal(request, SCHEDULE_TEMPLATE, context)
    if "preview" in request.POST:
        return _preview(request, form, context)
    if form.is_valid():
        try:
            saved = services.schedule_set(
                invoice=invoice,
                actor=request.user,
                idempotency_key=str(form.cleaned_data["idempotency_key"]),
                **form.schedule(),
            )
        except BillingError as error:
            add_schedule_error(form, error)
            context["error_code"] = error.code
        else:
            parts = ", ".join(f"{format_money(i.amount)} due {i.due_date:%Y-%m-%d}" for i in saved)
            return action_done(
                request,
                message=f"{invoice} is due in {len(saved)} instalments: {parts}.",
                redirect_to=invoice.get_absolute_url(),
            )
    return form_invalid(request, SCHEDULE_TEMPLATE, context)


def _preview(request, form, context):
    """The parts the schedule would have, written nowhere. htmx aimed at one of
    the form's regions gets that region (the rows after the split or count
    changed; the preview after a part changed), errors listed in it; the
    "Preview" button gets the form again (422 with its errors)."""
    planned = None
    if form.is_valid():
        try:
            planned = services.schedule_preview(invoice=context["invoice"], **form.schedule())
        except BillingError as error:
            add_schedule_error(form, error)
            context["error_code"] = error.code
    context = {**context, "planned": planned}
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target in (PARTS_REGION, PREVIEW_REGION):
        context["auto_preview"] = True
        # Only the preview is swapped: it lists every error, the rows stay.
        context["preview_only"] = htmx.target == PREVIEW_REGION
        return render_page(request, SCHEDULE_TEMPLATE, context, partials=(htmx.target,))
    if form.errors:
        return form_invalid(request, SCHEDULE_TEMPLATE, context)
    return render_form(request, SCHEDULE_TEMPLATE, context)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def invoice_schedule_remove(request, pk):
    """Remove a schedule no payment was allocated to: the invoice is due whole
    again, on its own due date."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    form = ScheduleRemoveForm(form_data(request))
    context = {"invoice": invoice, "form": form}

    def perform(data):
        services.schedule_remove(invoice=invoice, actor=request.user)
        return action_done(
            request,
            message=f"Removed the payment schedule of {invoice}; it is due whole again.",
            redirect_to=invoice.get_absolute_url(),
        )

    return modal_action(request, REMOVE_TEMPLATE, context, perform, error_code=True)
