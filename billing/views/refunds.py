"""Refunds: the list, and the refund of a payment from its row on the invoice
page or its own page (docs/frontend.md, "Invoice payment actions")."""

import functools
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.views.decorators.http import require_http_methods
from moneyed import Money

from billing import permissions, selectors, services
from billing.filters import RefundFilterSet
from billing.forms.refunds import PaymentRefundForm
from billing.models import CreditNoteReason, RefundDestination, RefundReason, RefundStatus
from billing.money import format_money, zero
from billing.selectors import CreditNoteAfter
from billing.views._htmx import (
    CUSTOMER_CHANGED,
    INVOICE_CHANGED,
    action_done,
    form_data,
    modal_action,
    permission_or_403,
    render_list,
    render_page,
    staff_required,
)
from billing.views.payments import gateway_refused, get_payment


@staff_required
def refund_list(request):
    """Every refund, newest first, by status, destination, reason, customer,
    currency, day and invoice number or customer name; "Export CSV" downloads
    every row these filters match (views/exports.py)."""
    filterset = RefundFilterSet(request.GET)
    context = {
        "section": "refunds",
        "filter_customer": selectors.filter_customer(pk=filterset.form.filters().get("customer")),
    }
    return render_list(
        request, "billing/refund_list.html", context, filterset=filterset, partial="refund-table"
    )


REFUND_TEMPLATE = "billing/modals/payment_refund.html"

# The credit note's reason for a refund's: the three that exist on both, else
# "other" (the refund's own reason is written into the credit note's memo).
CREDIT_NOTE_REASONS = {
    RefundReason.DUPLICATE: CreditNoteReason.DUPLICATE,
    RefundReason.FRAUDULENT: CreditNoteReason.FRAUDULENT,
    RefundReason.PRODUCT_UNSATISFACTORY: CreditNoteReason.PRODUCT_UNSATISFACTORY,
}


def _memo(payment, data):
    reason = RefundReason(data["reason"]).label
    parts = [f"Refund of payment #{payment.pk} ({reason}).", data["notes"]]
    if data["reference"]:
        parts.append(f"Ref. {data['reference']}")
    return " ".join(part for part in parts if part)


# The part of the refund form holding the invoice choice, the invoice's amounts
# after each option and the destinations valid with the choice; htmx posts the
# form aimed at it on every change of the fields around it.
CHOICES_REGION = "refund-choices"


@dataclass(frozen=True)
class RefundFigures:
    """The invoice (and the customer's credit) now and after each option, for
    ``amount``; ``credit_note`` is None when that option is not offered."""

    amount: Money
    credit: Money
    owes_again: CreditNoteAfter
    credit_note: CreditNoteAfter | None


def _figures(form, payment):
    """The refund modal's figures for the amount in the form (typed, or the
    prefilled one), or None while it is not an amount the payment can give back.
    Pure arithmetic in the selectors; one query for the customer's credit.
    (Within the refundable part a credit note always fits: the payment's
    refundable part counts in what is paid, which credit notes may still
    credit, so ``credit_note_after`` names no excess here.)"""
    field = form.fields["amount"]
    try:
        amount = field.to_money(form["amount"].value() or "", payment.currency)
    except ValidationError:
        return None
    if amount > payment.refundable:
        return None
    invoice = payment.invoice
    credit = selectors.customer_credit(customer=invoice.customer, currency=invoice.currency)
    destination = form["destination"].value()
    owes_again = selectors.refund_after(
        invoice=invoice, credit=credit, amount=amount, destination=destination
    )
    credit_note = None
    if form.credit_note_allowed:
        credit_note = selectors.credit_note_after(
            invoice=invoice,
            credit=credit,
            reduce_due=zero(invoice.currency),
            refund=amount,
            to_credit=zero(invoice.currency),
            refund_payment=payment,
        )
    return RefundFigures(amount, credit, owes_again, credit_note)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.REFUND)
def payment_refund(request, pk):
    """Give back part or all of a payment: a refund alone (the customer owes it
    again), or with a credit note (the invoice stays paid). The modal shows the
    invoice after each before anything is confirmed; with htmx every change of
    the amount, reason or choices refreshes them (and writes nothing)."""
    payment = get_payment(pk)
    invoice = payment.invoice
    form = PaymentRefundForm(
        form_data(request),
        payment=payment,
        credit_note_allowed=permissions.has(request.user, permissions.ISSUE_CREDIT_NOTE),
    )
    refresh = request.method == "POST" and request.htmx.target == CHOICES_REGION
    if refresh:
        form = form.following(request.POST.get("reason_shown"))
    context = {
        "invoice": invoice,
        "payment": payment,
        "form": form,
        # Called by the template only where it shows them (a submit needs none).
        "figures": functools.cache(functools.partial(_figures, form, payment)),
    }
    if refresh:
        return render_page(request, REFUND_TEMPLATE, context, partials=(CHOICES_REGION,))

    def perform(data):
        refund, note = _give_back(payment, form, data, actor=request.user)
        return _refund_outcome(request, refund, note, context)

    return modal_action(request, REFUND_TEMPLATE, context, perform, error_code=True)


def _give_back(payment, form, data, *, actor):
    """The refund, and the credit note it came with (or None)."""
    key = str(data["idempotency_key"])
    if data["invoice_effect"] == form.CREDIT_NOTE:
        issued = services.credit_note_issue(
            invoice=payment.invoice,
            reason=CREDIT_NOTE_REASONS.get(data["reason"], CreditNoteReason.OTHER),
            refund=data["amount"],
            refund_payment=payment,
            memo=_memo(payment, data),
            idempotency_key=key,
            actor=actor,
        )
        return issued.refund, issued.credit_note
    refund = services.payment_refund(
        payment=payment,
        amount=data["amount"],
        destination=data["destination"],
        reason=data["reason"],
        notes=data["notes"],
        reference=data["reference"],
        idempotency_key=key,
        actor=actor,
    )
    return refund, None


def _refund_outcome(request, refund, note, context):
    """What a refund ended as: done, refused by the gateway, or pending there."""
    invoice = context["invoice"]
    amount = format_money(refund.amount)
    if refund.status == RefundStatus.FAILED:
        message = f"The refund failed: {refund.failure_reason}"
        if note is not None:
            message += f" Credit note {note.number} stays, without its refund."
        return gateway_refused(request, REFUND_TEMPLATE, context, message)
    events = (INVOICE_CHANGED,)
    if refund.destination == RefundDestination.CUSTOMER_CREDIT:
        events = (INVOICE_CHANGED, CUSTOMER_CHANGED)
    if refund.status == RefundStatus.PENDING:
        return action_done(
            request,
            message=f"The gateway did not answer about the refund of {amount}. "
            "It stays pending; reconciliation will settle it.",
            redirect_to=invoice.get_absolute_url(),
            events=events,
            level="warning",
        )
    where = refund.get_destination_display().lower()
    if note is not None:
        message = f"Refunded {amount} ({where}) with credit note {note.number}; "
        message += f"what {invoice} asks for is unchanged."
    else:
        message = f"Refunded {amount} ({where}); {amount} is due again on {invoice}."
    return action_done(
        request, message=message, redirect_to=invoice.get_absolute_url(), events=events
    )
