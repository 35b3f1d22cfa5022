"""Payments: the list, and the payment actions of the invoice page (record,
charge, void, retry; refunds are in views/refunds.py)."""

import uuid
from dataclasses import dataclass

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from billing import permissions, selectors, services
from billing.errors import ErrorCode
from billing.filters import PaymentFilterSet
from billing.forms.payments import (
    PaymentChargeForm,
    PaymentCheckStatusForm,
    PaymentRecordForm,
    PaymentRetryForm,
    PaymentVoidForm,
)
from billing.models import Invoice, Payment, PaymentStatus
from billing.money import format_money
from billing.templatetags.billing import payment_method as payment_method_label
from billing.views._htmx import (
    CUSTOMER_CHANGED,
    INVOICE_CHANGED,
    action_done,
    forbidden,
    form_data,
    form_invalid,
    missing_permission,
    modal_action,
    permission_or_403,
    render_list,
    render_modal,
    render_page,
    staff_required,
    trigger,
)


@staff_required
def payment_list(request):
    """Every payment, newest first, by status, method, customer, currency,
    payment date and invoice number or customer name; "Export CSV" downloads
    every row these filters match (views/exports.py)."""
    filterset = PaymentFilterSet(request.GET)
    context = {
        "section": "payments",
        "filter_customer": selectors.filter_customer(pk=filterset.form.filters().get("customer")),
    }
    return render_list(
        request,
        "billing/payment_list.html",
        context,
        filterset=filterset,
        partial="payment-table",
    )


# The payment page's regions, refetched on "invoice-changed" like the invoice
# page's: the actions' modals are the invoice page's own.
PAYMENT_REGIONS = ("payment-header", "payment-details", "payment-refunds", "payment-timeline")


@staff_required
def payment_detail(request, pk):
    """One payment: what, how, who and when, its refunds, its timeline entries
    and the actions the model's rules allow on it."""
    try:
        payment = selectors.payment_for_page(pk=pk)
    except Payment.DoesNotExist:
        raise Http404("No such payment.") from None
    context = {
        "section": "payments",
        "payment": payment,
        "invoice": payment.invoice,
        "refunds": selectors.payment_refunds(payment=payment),
        "events": selectors.payment_events(payment=payment),
    }
    return render_page(request, "billing/payment_detail.html", context, partials=PAYMENT_REGIONS)


# -- the payment actions of the invoice page (docs/frontend.md, "Invoice payment actions")

TAKE_TEMPLATE = "billing/modals/payment_take.html"
RECORD_TEMPLATE = "billing/modals/payment_record.html"
CHARGE_TEMPLATE = "billing/modals/payment_charge.html"
VOID_TEMPLATE = "billing/modals/payment_void.html"
RETRY_TEMPLATE = "billing/modals/payment_retry.html"
CHECK_STATUS_TEMPLATE = "billing/modals/payment_check_status.html"

# The part of the record form that says what happens above or below the due;
# htmx posts the form to the same URL aimed at it while the amount is typed.
OUTCOME_REGION = "payment-outcome"


@dataclass(frozen=True)
class PaymentSource:
    """Where the money for an invoice can come from now ("Take payment"), and
    the action that takes it: its key, what the clerk reads, the action's URL."""

    key: str
    label: str
    hint: str
    url: str


def payment_sources(invoice, user, *, credit, has_saved_methods):
    """The sources ``user`` may take a payment on ``invoice`` from, as the
    invoice's rules allow them: a saved card (``charge_payment``,
    ``Invoice.can_take_payment``, a saved method), the customer's credit in the
    invoice's currency (``record_payment``, ``can_take_payment``, some credit),
    money that arrived outside (``record_payment``, ``Invoice.is_payable``).
    ``credit`` and ``has_saved_methods`` are asked only when they matter."""
    offers = _source_offers(invoice, user, credit=credit, has_saved_methods=has_saved_methods)
    return [source for offer in offers.values() if (source := offer()) is not None]


def has_payment_source(invoice, user, *, credit, has_saved_methods):
    """Whether ``payment_sources`` offers anything ("Take payment" is shown),
    asking the sources cheapest first: money paid outside needs no query, so
    when it is offered neither the saved methods nor the credit are looked up."""
    offers = _source_offers(invoice, user, credit=credit, has_saved_methods=has_saved_methods)
    return any(offers[key]() is not None for key in ("external", "card", "credit"))


def _source_offers(invoice, user, *, credit, has_saved_methods):
    """{key: a function giving the source, or None where the rules do not
    offer it}, in the order the dialog lists them."""
    may_record = permissions.has(user, permissions.RECORD)
    may_charge = permissions.has(user, permissions.CHARGE)

    def card():
        if may_charge and invoice.can_take_payment and has_saved_methods():
            return PaymentSource(
                "card",
                "Saved card",
                f"Charge one of {invoice.customer}'s saved cards at the gateway now.",
                reverse("billing:payment_charge", args=[invoice.pk]),
            )
        return None

    def customer_credit():
        if may_record and invoice.can_take_payment:
            available = credit()
            if available.amount > 0:
                return PaymentSource(
                    "credit",
                    "Customer credit",
                    f"{format_money(available)} of credit to pay from.",
                    reverse("billing:credit_apply", args=[invoice.pk]),
                )
        return None

    def external():
        if may_record and invoice.is_payable:
            return PaymentSource(
                "external",
                "Paid outside",
                "Cash, cheque, bank transfer or a card terminal: money that already arrived.",
                reverse("billing:payment_record", args=[invoice.pk]),
            )
        return None

    return {"card": card, "credit": customer_credit, "external": external}


def _invoice_lookups(invoice):
    """The customer's credit and saved methods, looked up when first asked."""
    return {
        "credit": lambda: selectors.customer_credit(
            customer=invoice.customer, currency=invoice.currency
        ),
        "has_saved_methods": lambda: selectors.customer_payment_methods(
            customer=invoice.customer
        ).exists(),
    }


def invoice_payment_sources(invoice, user):
    """``payment_sources`` with the customer's credit and saved methods looked up."""
    return payment_sources(invoice, user, **_invoice_lookups(invoice))


def invoice_has_payment_source(invoice, user):
    """``has_payment_source`` with the customer's credit and saved methods
    looked up, only if the answer needs them."""
    return has_payment_source(invoice, user, **_invoice_lookups(invoice))


@require_GET
@staff_required
def payment_take(request, pk):
    """ "Take payment": one dialog where the clerk chooses where the money comes
    from (a saved card, the customer's credit, or money paid outside), and the
    form of that source follows (htmx loads the source's own action form into
    the dialog; it posts to that action, so each source keeps its service and
    its answers). Without JavaScript, "Continue" leads to the chosen action's
    own page."""
    if not (
        permissions.has(request.user, permissions.RECORD)
        or permissions.has(request.user, permissions.CHARGE)
    ):
        return forbidden(request, missing_permission(request.user, permissions.RECORD))
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    sources = invoice_payment_sources(invoice, request.user)
    by_key = {source.key: source for source in sources}
    asked = by_key.get(request.GET.get("source", ""))
    if asked is not None and not request.htmx:
        return redirect(asked.url)
    chosen = asked or (sources[0] if sources else None)
    context = {"invoice": invoice, "sources": sources, "chosen": chosen}
    return render_modal(request, TAKE_TEMPLATE, context)


def get_payment(pk):
    payments = Payment.objects.select_related("invoice__customer", "payment_method")
    return get_object_or_404(payments, pk=pk)


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
    return trigger(form_invalid(request, template, context), INVOICE_CHANGED)


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
            redirect_to=invoice.get_absolute_url(),
            level="warning",
        )
    return action_done(
        request,
        message=f"Charged {amount} to {card} for invoice {invoice}.",
        redirect_to=invoice.get_absolute_url(),
    )


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.RECORD)
def payment_record(request, pk):
    """Record money that arrived outside the system: the modal and its post."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    # A schedule's "Record payment" names one instalment: ?instalment=<id> on
    # GET, the form's hidden field on POST.
    named = request.GET.get("instalment") if request.method == "GET" else None
    form = PaymentRecordForm(
        form_data(request),
        invoice=invoice,
        may_write_off=request.user.has_perm(f"billing.{permissions.ISSUE_CREDIT_NOTE}"),
        instalment=selectors.invoice_instalment(
            invoice=invoice, pk=named or request.POST.get("instalments")
        ),
    )
    context = {"invoice": invoice, "form": form}
    if request.method == "POST" and request.htmx.target == OUTCOME_REGION:
        # The amount changed: say what happens above or below the due; act on nothing.
        return render_page(request, RECORD_TEMPLATE, context, partials=(OUTCOME_REGION,))

    def perform(data):
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
            instalments=form.named_instalments(),
            actor=request.user,
        )
        amount, method = format_money(payment.amount), payment_method_label(payment)
        message = f"Recorded {amount} on {invoice}: {method}."
        if payment.amount_to_credit.amount:
            message += f" {format_money(payment.amount_to_credit)} went to customer credit."
        if data["write_off_remainder"]:
            message += " The rest was written off with a credit note."
        return action_done(
            request,
            message=message,
            redirect_to=invoice.get_absolute_url(),
            events=(INVOICE_CHANGED, CUSTOMER_CHANGED),
        )

    return modal_action(request, RECORD_TEMPLATE, context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.CHARGE)
def payment_charge(request, pk):
    """Charge one of the customer's saved methods. A decline keeps the modal open
    with the gateway's reason (422); no answer from the gateway is a warning."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    methods = selectors.customer_payment_methods(customer=invoice.customer)
    form = PaymentChargeForm(form_data(request), invoice=invoice, methods=methods)
    context = {"invoice": invoice, "form": form, "methods": methods}

    def perform(data):
        payment = services.payment_charge(
            invoice=invoice,
            amount=data["amount"],
            payment_method=data["payment_method"],
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
        )
        return charge_outcome(request, payment, CHARGE_TEMPLATE, context)

    return modal_action(request, CHARGE_TEMPLATE, context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.VOID_PAYMENT)
def payment_void(request, pk):
    """Void an external payment recorded by mistake; its amount is due again."""
    payment = get_payment(pk)
    invoice = payment.invoice
    form = PaymentVoidForm(form_data(request))
    context = {"invoice": invoice, "payment": payment, "form": form}

    def perform(data):
        services.payment_void(payment=payment, reason=data["reason"], actor=request.user)
        return action_done(
            request,
            message=f"Voided the {format_money(payment.amount)} {payment_method_label(payment)} "
            f"payment on {invoice}; it is due again.",
            redirect_to=invoice.get_absolute_url(),
        )

    return modal_action(request, VOID_TEMPLATE, context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.CHARGE)
def payment_retry(request, pk):
    """Charge a failed charge's saved method again (a new attempt, a new payment)."""
    payment = get_payment(pk)
    form = PaymentRetryForm(form_data(request), payment=payment)
    context = {"invoice": payment.invoice, "payment": payment, "form": form}

    def perform(data):
        attempt = services.payment_retry(
            payment=payment, idempotency_key=str(data["idempotency_key"]), actor=request.user
        )
        return charge_outcome(request, attempt, RETRY_TEMPLATE, context)

    return modal_action(request, RETRY_TEMPLATE, context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.CHARGE)
def payment_check_status(request, pk):
    """Ask the gateway now what became of a pending charge or gateway refund (the
    look-up ``reconcile_payments`` makes) and settle what it answers."""
    payment = get_payment(pk)
    form = PaymentCheckStatusForm(form_data(request))
    context = {"invoice": payment.invoice, "payment": payment, "form": form}

    def perform(data):
        report = services.payment_check_status(payment=payment, actor=request.user)
        answers = " ".join(f"{line[:1].upper()}{line[1:]}." for line in report.lines)
        return action_done(
            request,
            message=f"Asked the gateway. {answers}",
            redirect_to=payment.invoice.get_absolute_url(),
            events=(INVOICE_CHANGED, CUSTOMER_CHANGED),
            level="warning" if report.left_pending else "success",
        )

    return modal_action(request, CHECK_STATUS_TEMPLATE, context, perform, error_code=True)
