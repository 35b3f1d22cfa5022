"""The customer page's credit actions: adjust a balance, pay it out, apply it
to an invoice (docs/frontend.md, "Customer actions and exports").

Each is one modal and one service call; the form's idempotency key makes a
double submit write once.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from billing import permissions, selectors, services
from billing.errors import BillingError
from billing.forms.balances import BalanceAdjustForm, BalancePayOutForm, CustomerCreditApplyForm
from billing.models import Customer
from billing.money import currency_code, format_money
from billing.views._htmx import (
    CUSTOMER_CHANGED,
    INVOICE_CHANGED,
    action_done,
    form_data,
    modal_action,
    permission_or_403,
    render_page,
    staff_required,
)

ADJUST_TEMPLATE = "billing/modals/balance_adjust.html"
PAY_OUT_TEMPLATE = "billing/modals/balance_pay_out.html"
APPLY_TEMPLATE = "billing/modals/customer_credit_apply.html"
# The apply form's amount, refreshed (htmx posts the form aimed at it) when
# another invoice is chosen, so the amount follows the invoice.
APPLY_AMOUNT_REGION = "credit-apply-amount"


def _currency(code):
    try:
        return currency_code(code)
    except BillingError:
        raise Http404("No such currency.") from None


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.ADJUST_BALANCE)
def balance_adjust(request, pk):
    """Correct a customer's credit by a signed amount: the modal and its post."""
    customer = get_object_or_404(Customer, pk=pk)
    balances = selectors.customer_balances(customer=customer)
    form = BalanceAdjustForm(
        form_data(request),
        customer=customer,
        currencies=[balance.currency for balance in balances],
    )
    context = {"customer": customer, "balances": balances, "form": form}

    def perform(data):
        entry = services.balance_adjust(
            customer=customer,
            amount=data["amount"],
            reason=data["reason"],
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
        )
        return action_done(
            request,
            message=(
                f"Adjusted {customer}'s {entry.currency} credit by "
                f"{format_money(entry.amount)}; it is now {format_money(entry.balance_after)}."
            ),
            redirect_to=customer.get_absolute_url(),
            events=(CUSTOMER_CHANGED,),
        )

    return modal_action(request, ADJUST_TEMPLATE, context, perform)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.ADJUST_BALANCE)
def balance_pay_out(request, pk, currency):
    """Record credit paid back outside the system: the modal and its post."""
    customer = get_object_or_404(Customer, pk=pk)
    credit = selectors.customer_credit(customer=customer, currency=_currency(currency))
    form = BalancePayOutForm(form_data(request), credit=credit)
    context = {"customer": customer, "credit": credit, "form": form}

    def perform(data):
        entry = services.balance_pay_out(
            customer=customer,
            amount=data["amount"],
            reference=data["reference"],
            notes=data["notes"],
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
        )
        return action_done(
            request,
            message=f"Paid out {format_money(-entry.amount)} of {customer}'s credit.",
            redirect_to=customer.get_absolute_url(),
            events=(CUSTOMER_CHANGED,),
        )

    return modal_action(request, PAY_OUT_TEMPLATE, context, perform)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.RECORD)
def customer_credit_apply(request, pk, currency):
    """Pay one of the customer's invoices from their credit in ``currency``."""
    customer = get_object_or_404(Customer, pk=pk)
    currency = _currency(currency)
    credit = selectors.customer_credit(customer=customer, currency=currency)
    invoices = selectors.customer_payable_invoices(customer=customer, currency=currency)
    form = CustomerCreditApplyForm(form_data(request), credit=credit, invoices=invoices)
    context = {"customer": customer, "credit": credit, "form": form}
    if request.method == "POST" and request.htmx.target == APPLY_AMOUNT_REGION:
        # Another invoice was chosen: the most the credit can pay on it; act on nothing.
        form.suggest_amount_for_chosen_invoice()
        return render_page(request, APPLY_TEMPLATE, context, partials=(APPLY_AMOUNT_REGION,))

    def perform(data):
        payment = services.credit_apply(
            invoice=data["invoice"],
            amount=data["amount"],
            idempotency_key=str(data["idempotency_key"]),
            actor=request.user,
        )
        return action_done(
            request,
            message=f"Applied {format_money(payment.amount)} of credit to {data['invoice']}.",
            redirect_to=customer.get_absolute_url(),
            events=(INVOICE_CHANGED, CUSTOMER_CHANGED),
        )

    return modal_action(request, APPLY_TEMPLATE, context, perform)
