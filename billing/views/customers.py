from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from billing import permissions, selectors, services
from billing.filters import CursorForm, CustomerFilterSet
from billing.forms.customers import CustomerCreateForm, CustomerForm, PaymentMethodAddForm
from billing.models import Customer, PaymentMethod
from billing.templatetags.billing import card
from billing.views._htmx import (
    CUSTOMER_CHANGED,
    action_done,
    form_data,
    list_url,
    modal_action,
    permission_or_403,
    render_page,
    staff_required,
)

# The customer page's regions, refetched on "customer-changed" (and
# "invoice-changed": paying an invoice from credit moves both).
CUSTOMER_REGIONS = ("customer-header", "payment-methods", "customer-invoices", "balances", "ledger")


@staff_required
def customer_list(request):
    """Customers by name, searchable, with credit and what they owe."""
    filterset = CustomerFilterSet(request.GET)
    number = CursorForm(request.GET).page_number()
    page = selectors.offset_page(filterset.qs, number=number)
    query = filterset.form.query()
    context = {
        "section": "customers",
        "form": filterset.form,
        "query": query,
        "page": page,
        "outstanding": selectors.outstanding_by_customer(customers=[c.pk for c in page.rows]),
    }
    return render_page(
        request,
        "billing/customer_list.html",
        context,
        partials=("customer-table",),
        push_url=list_url(request, query, {"page": number} if number > 1 else None),
    )


@staff_required
def customer_detail(request, pk):
    """The customer page: details, saved methods, latest invoices, credit
    balances and their ledger."""
    try:
        customer = selectors.customer_for_page(pk=pk)
    except Customer.DoesNotExist:
        raise Http404("No such customer.") from None
    context = {
        "section": "customers",
        "customer": customer,
        "payment_methods": selectors.customer_payment_methods(customer=customer),
        "invoices": selectors.customer_invoices(customer=customer),
        "balances": selectors.customer_balances(customer=customer),
        "ledger": selectors.customer_ledger(customer=customer),
    }
    return render_page(request, "billing/customer_detail.html", context, partials=CUSTOMER_REGIONS)


# -- customers and their saved methods (docs/frontend.md, "Customers and cards") -----

CUSTOMER_FORM_TEMPLATE = "billing/modals/customer_form.html"
METHOD_ADD_TEMPLATE = "billing/modals/payment_method_add.html"
METHOD_DEFAULT_TEMPLATE = "billing/modals/payment_method_default.html"
METHOD_REMOVE_TEMPLATE = "billing/modals/payment_method_remove.html"


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def customer_create(request):
    """A new customer: the modal, and its post, which leads to the customer's page."""
    form = CustomerCreateForm(form_data(request))
    context = {"form": form, "customer": None, "back_url": reverse("billing:customer_list")}

    def perform(data):
        customer = services.customer_create(actor=request.user, **data)
        messages.success(request, f"Added the customer {customer}.")
        # A new page, not a refreshed region: the browser goes to the customer.
        if getattr(request, "htmx", None):
            return HttpResponseClientRedirect(customer.get_absolute_url())
        return redirect(customer.get_absolute_url())

    return modal_action(request, CUSTOMER_FORM_TEMPLATE, context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def customer_edit(request, pk):
    """Change a customer's details (services.customer_update)."""
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerForm(form_data(request), customer=customer)
    context = {"form": form, "customer": customer}

    def perform(data):
        updated = services.customer_update(customer=customer, actor=request.user, **data)
        return action_done(
            request,
            message=f"Saved {updated}'s details.",
            redirect_to=updated.get_absolute_url(),
            events=(CUSTOMER_CHANGED,),
        )

    return modal_action(request, CUSTOMER_FORM_TEMPLATE, context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def payment_method_add(request, pk):
    """Save a method for the customer: a sandbox test card (while the sandbox is
    the gateway) or a gateway's token (services.payment_method_add)."""
    customer = get_object_or_404(Customer, pk=pk)
    form = PaymentMethodAddForm(form_data(request))
    context = {"form": form, "customer": customer}

    def perform(data):
        method = services.payment_method_add(
            customer=customer, actor=request.user, **form.method_fields()
        )
        default = " as the default method" if method.is_default else ""
        return action_done(
            request,
            message=f"Saved {card(method.brand, method.last4)} for {customer}{default}.",
            redirect_to=customer.get_absolute_url(),
            events=(CUSTOMER_CHANGED,),
        )

    return modal_action(request, METHOD_ADD_TEMPLATE, context, perform, error_code=True)


def _customer_method(pk):
    return get_object_or_404(PaymentMethod.objects.select_related("customer"), pk=pk)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def payment_method_make_default(request, pk):
    """Make a saved method the one charges take when none is named; the
    customer's previous default loses the flag (services.payment_method_update)."""
    method = _customer_method(pk)
    customer = method.customer
    context = {"form": forms.Form(form_data(request)), "customer": customer, "method": method}

    def perform(_data):
        services.payment_method_update(
            payment_method=method,
            brand=method.brand,
            last4=method.last4,
            exp_month=method.exp_month,
            exp_year=method.exp_year,
            default=True,
            actor=request.user,
        )
        return action_done(
            request,
            message=f"{card(method.brand, method.last4)} is now {customer}'s default method.",
            redirect_to=customer.get_absolute_url(),
            events=(CUSTOMER_CHANGED,),
        )

    return modal_action(request, METHOD_DEFAULT_TEMPLATE, context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.MANAGE_INVOICES)
def payment_method_remove(request, pk):
    """Remove a saved method: kept for the payments that name it, never charged
    or offered again (services.payment_method_remove)."""
    method = _customer_method(pk)
    customer = method.customer
    context = {"form": forms.Form(form_data(request)), "customer": customer, "method": method}

    def perform(_data):
        services.payment_method_remove(payment_method=method, actor=request.user)
        message = f"Removed {card(method.brand, method.last4)} from {customer}'s saved methods."
        if method.is_default:
            message += " They have no default method now."
        return action_done(
            request,
            message=message,
            redirect_to=customer.get_absolute_url(),
            events=(CUSTOMER_CHANGED,),
        )

    return modal_action(request, METHOD_REMOVE_TEMPLATE, context, perform, error_code=True)
