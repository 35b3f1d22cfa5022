from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from billing import permissions, selectors, services
from billing.errors import BillingError
from billing.filters import InvoiceFilterSet
from billing.forms.invoices import (
    CreditApplyForm,
    InvoiceForm,
    InvoiceIssueAndChargeForm,
    InvoiceIssueForm,
    InvoiceVoidForm,
    invoice_line_formset,
    invoice_line_initial,
)
from billing.models import Customer, Invoice, PaymentStatus
from billing.money import format_money, zero
from billing.templatetags.billing import card
from billing.views import payments
from billing.views._htmx import (
    CUSTOMER_CHANGED,
    INVOICE_CHANGED,
    action_done,
    add_billing_error,
    form_data,
    form_invalid,
    modal_action,
    permission_or_403,
    render_form,
    render_list,
    render_modal,
    render_page,
    staff_required,
)

# The invoice page's regions: inline partials of invoice_detail.html, each named
# like its root element's id and refetched on "invoice-changed".
INVOICE_REGIONS = (
    "invoice-header",
    "totals",
    "lines",
    "schedule",
    "payments",
    "credit-notes",
    "timeline",
)


@staff_required
def invoice_list(request):
    """Invoices, newest first, filtered; htmx swaps in the table alone."""
    filterset = InvoiceFilterSet(request.GET)
    filters = filterset.form.filters()
    context = {
        "section": "invoices",
        "filter_customer": selectors.filter_customer(pk=filters.get("customer")),
        "filtered": bool(filters),
    }
    return render_list(
        request,
        "billing/invoice_list.html",
        context,
        filterset=filterset,
        partial="invoice-table",
    )


@staff_required
def invoice_detail(request, pk):
    """The invoice page: header, totals, lines, payments, credit notes, timeline.

    The regions get lazy querysets, so a region's htmx refresh runs only its
    own queries."""
    try:
        invoice = selectors.invoice_for_page(pk=pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    instalments = SimpleLazyObject(lambda: selectors.invoice_instalments(invoice=invoice))
    context = {
        "section": "invoices",
        "invoice": invoice,
        "lines": selectors.invoice_lines(invoice=invoice),
        "payments": selectors.invoice_payments(invoice=invoice),
        "credit_notes": selectors.invoice_credit_notes(invoice=invoice),
        "events": selectors.invoice_events(invoice=invoice),
        # Lazy: only the schedule region asks (two queries, none without one).
        "instalments": instalments,
        # What schedule_remove allows: no payment was ever allocated to it
        # (allocations are never deleted). Lazy, read from the prefetched rows.
        "schedule_removable": SimpleLazyObject(
            lambda: invoice.has_schedule and not any(i.allocations.all() for i in instalments)
        ),
        # Lazy: asked only by the header's "Issue and charge", so other regions
        # run no query for it.
        "default_method": SimpleLazyObject(
            lambda: selectors.default_payment_method(customer=invoice.customer)
        ),
        # Lazy: the header shows "Take payment" when the invoice's rules and the
        # user's permissions offer any source; other regions run no query for
        # it, and the header none when money paid outside is offered.
        "takes_payment": SimpleLazyObject(
            lambda: payments.invoice_has_payment_source(invoice, request.user)
        ),
    }
    return render_page(request, "billing/invoice_detail.html", context, partials=INVOICE_REGIONS)


# -- drafts ------------------------------------------------------------------------

FORM_TEMPLATE = "billing/modals/invoice_form.html"
CUSTOMER_CHOICES = "customer-choices"  # the new-invoice form's customer matches


def _draft_form(request, template_context, header, formset):
    """The draft form again: "Add line" (one more row, 200) or refused (422).

    "Add line" renders the rows as typed, unvalidated, so a half-typed row shows
    no errors yet; the rows marked "Remove" go."""
    if "add_line" in request.POST:
        rows = formset.kept_rows()
        currency = header.invoice.currency if header.invoice else None
        template_context["formset"] = invoice_line_formset(currency=currency, initial=rows, extra=1)
        return render_form(request, FORM_TEMPLATE, template_context)
    return form_invalid(request, FORM_TEMPLATE, template_context)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def invoice_create(request):
    """A new draft: customer, currency, due date and lines; then its page."""
    customer = None
    if request.method == "GET" and request.GET.get("customer", "").isdigit():
        customer = Customer.objects.filter(pk=request.GET["customer"]).first()
    header = InvoiceForm(request.POST or None, customer=customer)
    currency = header.draft_currency() if request.method == "POST" else None
    formset = invoice_line_formset(request.POST or None, currency=currency)
    back = customer.get_absolute_url() if customer else reverse("billing:invoice_list")
    context = {"form": header, "formset": formset, "invoice": None, "back_url": back}
    if request.method == "GET":
        return render_modal(request, FORM_TEMPLATE, context)
    if request.htmx.target == CUSTOMER_CHOICES:
        # The customer search changed: offer its matches; create nothing.
        return render_page(request, FORM_TEMPLATE, context, partials=(CUSTOMER_CHOICES,))
    if "add_line" not in request.POST and currency and formset.is_valid():
        data = header.cleaned_data
        try:
            invoice = services.invoice_create(
                customer=data["customer"],
                currency=currency,
                lines=formset.lines(),
                due_date=data["due_date"],
                actor=request.user,
            )
        except BillingError as error:
            add_billing_error(header, error)
        else:
            messages.success(request, f"Created {invoice} for {data['customer']}.")
            # A new page, not a refreshed region: the browser goes to the draft.
            if getattr(request, "htmx", None):
                return HttpResponseClientRedirect(invoice.get_absolute_url())
            return redirect(invoice.get_absolute_url())
    return _draft_form(request, context, header, formset)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def invoice_edit(request, pk):
    """A draft's lines and due date (invoice_update_lines)."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    header = InvoiceForm(request.POST or None, invoice=invoice)
    if request.method == "GET":
        formset = invoice_line_formset(
            currency=invoice.currency,
            initial=invoice_line_initial(selectors.invoice_lines(invoice=invoice)),
        )
    else:
        formset = invoice_line_formset(request.POST, currency=invoice.currency)
    context = {
        "form": header,
        "formset": formset,
        "invoice": invoice,
        "back_url": invoice.get_absolute_url(),
    }
    if request.method == "GET":
        return render_modal(request, FORM_TEMPLATE, context)
    if "add_line" not in request.POST and header.is_valid() and formset.is_valid():
        try:
            invoice = services.invoice_update_lines(
                invoice=invoice,
                lines=formset.lines(),
                due_date=header.cleaned_data["due_date"],
                actor=request.user,
            )
        except BillingError as error:
            add_billing_error(header, error)
        else:
            return action_done(
                request,
                message=f"Saved the lines of {invoice}: {format_money(invoice.total)}.",
                redirect_to=invoice.get_absolute_url(),
            )
    return _draft_form(request, context, header, formset)


# -- issue, void, apply credit -------------------------------------------------------

ISSUE_TEMPLATE = "billing/modals/invoice_issue.html"
ISSUE_AND_CHARGE_TEMPLATE = "billing/modals/invoice_issue_and_charge.html"
VOID_TEMPLATE = "billing/modals/invoice_void.html"
CREDIT_APPLY_TEMPLATE = "billing/modals/credit_apply.html"


def _issued_message(invoice):
    message = f"Issued {invoice} for {format_money(invoice.total)}."
    if invoice.amount_paid.amount > 0:
        message += f" {format_money(invoice.amount_paid)} was paid from customer credit."
    return message


def _credit_events(invoice):
    """Both pages' events when the customer's credit paid part of the invoice."""
    if invoice.amount_paid.amount > 0:
        return (INVOICE_CHANGED, CUSTOMER_CHANGED)
    return (INVOICE_CHANGED,)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def invoice_issue(request, pk):
    """Issue a draft: its number, and the customer's credit applied unless unticked."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    credit = selectors.customer_credit(customer=invoice.customer, currency=invoice.currency)
    # An unticked box posts nothing: an empty POST is a valid answer here.
    form = InvoiceIssueForm(form_data(request), invoice=invoice, credit=credit)
    context = {"invoice": invoice, "form": form, "credit": credit}

    def perform(data):
        issued = services.invoice_issue(
            invoice=invoice, apply_credit=data["apply_credit"], actor=request.user
        )
        return action_done(
            request,
            message=_issued_message(issued),
            redirect_to=issued.get_absolute_url(),
            events=_credit_events(issued),
        )

    return modal_action(request, ISSUE_TEMPLATE, context, perform)


def _charge_outcome(outcome):
    """The message and its level after issue-and-charge: the invoice is issued
    whatever the gateway said, so a decline is a warning, not a refusal."""
    invoice, charge = outcome.invoice, outcome.charge
    if charge is None:
        return f"Issued {invoice}; customer credit paid it in full, nothing was charged.", "success"
    amount, method = (
        format_money(charge.amount),
        card(charge.payment_method.brand, charge.payment_method.last4),
    )
    if charge.status == PaymentStatus.SUCCEEDED:
        return f"Issued {invoice} and charged {amount} to {method}.", "success"
    if charge.status == PaymentStatus.FAILED:
        return f"Issued {invoice}; the charge was declined: {charge.failure_reason}", "warning"
    return (
        f"Issued {invoice}; the charge of {amount} is pending: the gateway did not answer, "
        "and reconciliation will settle it.",
        "warning",
    )


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
@permission_or_403(permissions.CHARGE)
def invoice_issue_and_charge(request, pk):
    """Issue a draft (credit applied first) and charge the default saved method
    for the rest."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    form = InvoiceIssueAndChargeForm(request.POST or None)
    credit = selectors.customer_credit(customer=invoice.customer, currency=invoice.currency)
    context = {
        "invoice": invoice,
        "form": form,
        "credit": credit,
        "charge": max(invoice.total - credit, zero(invoice.currency)),
        "method": selectors.default_payment_method(customer=invoice.customer),
    }

    def perform(data):
        outcome = services.invoice_issue_and_charge(
            invoice=invoice, idempotency_key=str(data["idempotency_key"]), actor=request.user
        )
        message, level = _charge_outcome(outcome)
        paid_by_credit = outcome.credit_payment is not None
        return action_done(
            request,
            message=message,
            level=level,
            redirect_to=outcome.invoice.get_absolute_url(),
            events=(INVOICE_CHANGED, CUSTOMER_CHANGED) if paid_by_credit else (INVOICE_CHANGED,),
        )

    return modal_action(request, ISSUE_AND_CHARGE_TEMPLATE, context, perform)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.VOID_INVOICE)
def invoice_void(request, pk):
    """Cancel an open invoice nothing was paid or credited on; its number stays."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    form = InvoiceVoidForm(request.POST or None)
    context = {"invoice": invoice, "form": form}

    def perform(data):
        voided = services.invoice_void(invoice=invoice, reason=data["reason"], actor=request.user)
        return action_done(
            request,
            message=f"Voided {voided}; its number stays, nothing is due on it.",
            redirect_to=voided.get_absolute_url(),
        )

    return modal_action(request, VOID_TEMPLATE, context, perform)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.RECORD)
def credit_apply(request, pk):
    """Pay an invoice from the customer's credit in its currency."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    credit = selectors.customer_credit(customer=invoice.customer, currency=invoice.currency)
    form = CreditApplyForm(request.POST or None, invoice=invoice, credit=credit)
    context = {"invoice": invoice, "form": form, "credit": credit}

    def perform(data):
        payment = services.credit_apply(
            invoice=invoice,
            amount=data["amount"],
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
        )
        return action_done(
            request,
            message=f"Applied {format_money(payment.amount)} of credit to {invoice}.",
            redirect_to=invoice.get_absolute_url(),
            events=(INVOICE_CHANGED, CUSTOMER_CHANGED),
        )

    return modal_action(request, CREDIT_APPLY_TEMPLATE, context, perform)
