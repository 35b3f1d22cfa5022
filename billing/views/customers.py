from django.http import Http404

from billing import selectors
from billing.filters import CursorForm, CustomerFilterSet
from billing.models import Customer
from billing.views._htmx import list_url, render_page, staff_required

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
