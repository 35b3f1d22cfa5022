"""Every list of /api/v1 costs the same queries for a page of one as for a full
page whose rows point at different customers, invoices, payments and users: no
query per row. (Invoices and payments have their own tests beside them.)"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from billing import permissions, services
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, saved_card

pytestmark = pytest.mark.django_db


def one_more(manager, customer):
    """A row of every listed kind, this time with its own invoice, payment and a
    different user where a row names one."""
    actor = manager
    invoice = issued_invoice(customer, actor, "100.00")
    payment = pay(invoice, actor, "50.00", reference="r")
    services.payment_refund(
        payment=payment,
        amount=Money("5.00", invoice.currency),
        destination="external",
        reference="cash back",
        actor=actor,
        reason="requested_by_customer",
    )
    services.credit_note_issue(
        invoice=invoice, actor=actor, reason="other", reduce_due=Money("1.00", invoice.currency)
    )
    services.balance_adjust(
        customer=customer, amount=Money("2.00", invoice.currency), actor=actor, reason="goodwill"
    )
    saved_card(customer, actor, default=False)
    return invoice


LISTS = {
    "customers": lambda c, i: "/customers",
    "refunds": lambda c, i: "/refunds",
    "credit_notes": lambda c, i: "/credit_notes",
    "timeline": lambda c, i: f"/invoices/{i.pk}/timeline",
    "payment_methods": lambda c, i: f"/customers/{c.pk}/payment_methods",
    "balance_entries": lambda c, i: f"/customers/{c.pk}/balance_entries",
}


@pytest.mark.parametrize("name", list(LISTS))
def test_a_list_page_costs_the_same_queries_whatever_its_size(api_as, manager, name):
    api = api_as(manager)
    customer = CustomerFactory()
    invoice = one_more(manager, customer)
    url = LISTS[name](customer, invoice)
    api.get(url)  # the key's first use is noted once a minute; not in the counts
    with CaptureQueriesContext(connection) as small:
        first = api.get(url, {"limit": 1})
    assert first.status_code == 200, first.content
    assert len(first.json()["data"]) == 1
    for n in range(6):
        # Other customers, and other people as actors, so a per-row read would show.
        other = get_user_model().objects.create_user(f"u{n}", is_staff=True)
        other.groups.add(Group.objects.get(name=permissions.MANAGER))
        one_more(other if n % 2 else manager, CustomerFactory() if n % 3 else customer)
        one_more(manager, customer)
    with CaptureQueriesContext(connection) as large:
        page = api.get(url, {"limit": 20})
    assert page.status_code == 200, page.content
    assert len(page.json()["data"]) >= 5
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
