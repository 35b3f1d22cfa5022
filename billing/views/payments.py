"""Payments: the list, and the payment actions of the invoice page (record,
charge, void, retry; refunds are in views/refunds.py)."""

import json
import uuid

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billing import permissions, selectors, services
from billing.errors import BillingError, ErrorCode
from billing.forms import (
    CursorForm,
    PaymentChargeForm,
    PaymentFilterForm,
    PaymentRecordForm,
    PaymentRetryForm,
    PaymentVoidForm,
)
from billing.models import Customer, Invoice, Payment, PaymentStatus
from billing.money import format_money
from billing.templatetags.billing import payment_method as payment_method_label
from billing.views._htmx import (
    CUSTOMER_CHANGED,
    INVOICE_CHANGED,
    action_done,
    add_billing_error,
    form_invalid,
    list_url,
    permission_required,
    render_modal,
    render_page,
    staff_required,
)


@staff_required
def payment_list(request):
    """Every payment, newest first, by status, method, customer, currency,
    payment date and invoice number or customer name; "Export CSV" downloads
    every row these filters match (views/exports.py)."""
    form = PaymentFilterForm(request.GET)
    filters = form.filters()
    cursors = CursorForm(request.GET).cursors()
    payments = selectors.payment_list(search=filters.pop("q", ""), **filters)
    page = selectors.keyset_page(payments, **cursors)
    query = form.query()
    context = {
        "section": "payments",
        "form": form,
        "query": query,
        "page": page,
        "filter_customer": Customer.objects.filter(pk=filters.get("customer")).first()
        if "customer" in filters
        else None,
    }
    return render_page(
        request,
        "billing/payment_list.html",
        context,
        partials=("payment-table",),
        push_url=list_url(request, query, cursors),
    )


# -- the payment actions of the invoice page (docs/frontend.md, "Invoice payment actions")

RECORD_TEMPLATE = "billing/modals/payment_record.html"
CHARGE_TEMPLATE = "billing/modals/payment_charge.html"
VOID_TEMPLATE = "billing/modals/payment_void.html"
RETRY_TEMPLATE = "billing/modals/payment_retry.html"

# The part of the record form that says what happens above or below the due;
# htmx posts the form to the same URL aimed at it while the amount is typed.
OUTCOME_REGION = "payment-outcome"


def form_data(request):
    return request.POST if request.method == "POST" else None


def invoice_url(invoice):
    return reverse("billing:invoice_detail", args=[invoice.pk])


def get_payment(pk):
    payments = Payment.objects.select_related("invoice__customer", "payment_method")
    return get_object_or_404(payments, pk=pk)


def refused(request, template, context, error):
    """A refused service call: its message on the field it names or above the
    form, its code in the context, 422. The service wrote nothing."""
    add_billing_error(context["form"], error)
    context["error_code"] = error.code
    return form_invalid(request, template, context)


def gateway_refused(request, template, context, message):
    """The gateway said no: a declined charge, a refused refund. Unlike a
    BillingError this wrote something (the failed payment or refund, on the
    invoice's timeline), so the 422 form also carries ``HX-Trigger:
    invoice-changed`` and the page behind the modal shows it. The form gets a new
    idempotency key: the old one is spent on the failed attempt and would only
    replay it."""
    form = context["form"]
    form.data = form.data.copy()
    form.data["idempotency_key"] = str(uuid.uuid4())
    form.add_error(None, message)
    context["error_code"] = ErrorCode.PAYMENT_DECLINED
    response = form_invalid(request, template, context)
    response["HX-Trigger"] = json.dumps({INVOICE_CHANGED: {}})
    return response


def charge_outcome(request, payment, template, context):
    """What a charge (or a retry) ended as: succeeded, declined, or pending."""
    invoice = context["invoice"]
    amount, card = format_money(payment.amount), payment_method_label(payment)
    if payment.status == PaymentStatus.FAILED:
        return gateway_refused(
            request, template, context, f"The charge was declined: {payment.failure_reason}"
        )
    if payment.status == PaymentStatus.PENDING:
        return action_done(
            request,
            message=f"The gateway did not answer about the charge of {amount} to {card}. "
            "It stays pending; reconciliation will settle it.",
            redirect_to=invoice_url(invoice),
            level="warning",
        )
    return action_done(
        request,
        message=f"Charged {amount} to {card} for invoice {invoice}.",
        redirect_to=invoice_url(invoice),
    )


@require_http_methods(["GET", "POST"])
@staff_required
@permission_required(permissions.RECORD)
def payment_record(request, pk):
    """Record money that arrived outside the system: the modal and its post."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    form = PaymentRecordForm(
        form_data(request),
        invoice=invoice,
        may_write_off=request.user.has_perm(f"billing.{permissions.ISSUE_CREDIT_NOTE}"),
    )
    context = {"invoice": invoice, "form": form}
    if request.method == "GET":
        return render_modal(request, RECORD_TEMPLATE, context)
    if request.htmx.target == OUTCOME_REGION:
        # The amount changed: say what happens above or below the due; act on nothing.
        return render_page(request, RECORD_TEMPLATE, context, partials=(OUTCOME_REGION,))
    if not form.is_valid():
        return form_invalid(request, RECORD_TEMPLATE, context)
    data = form.cleaned_data
    try:
        payment = services.payment_record(
            invoice=invoice,
            amount=data["amount"],
            method=data["method"],
            paid_at=data["paid_at"],
            reference=form.payment_reference(),
            notes=data["notes"],
            details=form.payment_details(),
            excess_to_credit=data["excess_to_credit"],
            write_off_remainder=data["write_off_remainder"],
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
        )
    except BillingError as error:
        return refused(request, RECORD_TEMPLATE, context, error)
    message = (
        f"Recorded {format_money(payment.amount)} ({payment_method_label(payment)}) on {invoice}."
    )
    if payment.amount_to_credit.amount:
        message += f" {format_money(payment.amount_to_credit)} went to customer credit."
    if data["write_off_remainder"]:
        message += " The rest was written off with a credit note."
    return action_done(
        request,
        message=message,
        redirect_to=invoice_url(invoice),
        events=(INVOICE_CHANGED, CUSTOMER_CHANGED),
    )


@require_http_methods(["GET", "POST"])
@staff_required
@permission_required(permissions.CHARGE)
def payment_charge(request, pk):
    """Charge one of the customer's saved methods. A decline keeps the modal open
    with the gateway's reason (422); no answer from the gateway is a warning."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    methods = selectors.customer_payment_methods(customer=invoice.customer)
    form = PaymentChargeForm(form_data(request), invoice=invoice, methods=methods)
    context = {"invoice": invoice, "form": form, "methods": methods}
    if request.method == "GET":
        return render_modal(request, CHARGE_TEMPLATE, context)
    if not form.is_valid():
        return form_invalid(request, CHARGE_TEMPLATE, context)
    data = form.cleaned_data
    try:
        payment = services.payment_charge(
            invoice=invoice,
            amount=data["amount"],
            payment_method=data["payment_method"],
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
        )
    except BillingError as error:
        return refused(request, CHARGE_TEMPLATE, context, error)
    return charge_outcome(request, payment, CHARGE_TEMPLATE, context)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_required(permissions.VOID_PAYMENT)
def payment_void(request, pk):
    """Void an external payment recorded by mistake; its amount is due again."""
    payment = get_payment(pk)
    invoice = payment.invoice
    form = PaymentVoidForm(form_data(request))
    context = {"invoice": invoice, "payment": payment, "form": form}
    if request.method == "GET":
        return render_modal(request, VOID_TEMPLATE, context)
    if not form.is_valid():
        return form_invalid(request, VOID_TEMPLATE, context)
    try:
        services.payment_void(
            payment=payment, reason=form.cleaned_data["reason"], actor=request.user
        )
    except BillingError as error:
        return refused(request, VOID_TEMPLATE, context, error)
    return action_done(
        request,
        message=f"Voided the {format_money(payment.amount)} {payment_method_label(payment)} "
        f"payment on {invoice}; it is due again.",
        redirect_to=invoice_url(invoice),
    )


@require_http_methods(["GET", "POST"])
@staff_required
@permission_required(permissions.CHARGE)
def payment_retry(request, pk):
    """Charge a failed charge's saved method again (a new attempt, a new payment)."""
    payment = get_payment(pk)
    form = PaymentRetryForm(form_data(request), payment=payment)
    context = {"invoice": payment.invoice, "payment": payment, "form": form}
    if request.method == "GET":
        return render_modal(request, RETRY_TEMPLATE, context)
    if not form.is_valid():
        return form_invalid(request, RETRY_TEMPLATE, context)
    try:
        attempt = services.payment_retry(
            payment=payment,
            idempotency_key=str(form.cleaned_data["idempotency_key"]),
            actor=request.user,
        )
    except BillingError as error:
        return refused(request, RETRY_TEMPLATE, context, error)
    return charge_outcome(request, attempt, RETRY_TEMPLATE, context)
