import re

import pytest
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.selectors import PAGE_SIZE
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay, saved_card, text

pytestmark = pytest.mark.django_db

LIST = reverse("billing:customer_list")
REGIONS = ("customer-header", "payment-methods", "customer-invoices", "balances", "ledger")


def url(customer):
    return reverse("billing:customer_detail", args=[customer.pk])


def names(response):
    return re.findall(r'<a href="/customers/\d+/">([^<]+)</a>', response.content.decode())


@pytest.fixture
def customer(manager):
    customer = CustomerFactory(name="Tanaka Trading", currency="JPY", external_ref="T-1")
    saved_card(customer, manager)
    saved_card(customer, manager, last4="0005", default=False, exp_month=3, exp_year=2020)
    invoice = issued_invoice(customer, manager, "48000")
    pay(invoice, manager, "50000", excess_to_credit=True)
    services.balance_adjust(
        customer=customer, amount=Money("-500", "JPY"), actor=manager, reason="Rounding"
    )
    services.balance_adjust(
        customer=customer, amount=Money("12.500", "KWD"), actor=manager, reason="Goodwill"
    )
    return customer


def test_the_customer_page_shows_details_methods_invoices_balances_and_ledger(
    staff_client, customer
):
    page = text(staff_client.get(url(customer)))
    assert "Tanaka Trading" in page and "T-1" in page and "JPY" in page
    assert "Visa •••• 4242" in page and "Default" in page
    assert "Visa •••• 0005" in page and "Expired 03/2020" in page
    assert "INV-" in page and "48,000 JPY" in page
    assert "JPY 1,500 JPY" in page  # 2,000 overpaid, 500 taken back
    assert "KWD 12.500 KWD" in page
    assert re.search(r"Overpayment INV-\S+ 2,000 JPY 2,000 JPY", page)
    assert re.search(r"\d\d:\d\d · manager Adjustment — -500 JPY 1,500 JPY Rounding", page)
    content = staff_client.get(url(customer)).content.decode()
    assert f'href="/invoices/?customer={customer.pk}"' in content


@pytest.mark.parametrize("region", REGIONS)
def test_each_customer_region_comes_alone_to_htmx(staff_client, customer, region):
    response = get_ok(staff_client, url(customer), headers=htmx(region))
    content = response.content.decode().strip()
    assert re.match(rf'<(section|header) id="{region}"', content), content[:200]
    assert "<html" not in content and "customer-changed from:body" in content
    assert "HX-Request" in response["Vary"]


def test_the_customer_page_query_count_does_not_grow_with_rows(staff_client, manager):
    quiet = CustomerFactory()
    busy = CustomerFactory()
    for index in range(8):
        saved_card(busy, manager, last4=f"{index:04d}", default=index == 0)
        invoice = issued_invoice(busy, manager, "10.00", apply_credit=False)
        pay(invoice, manager, "15.00", excess_to_credit=True)
    assert count_queries(staff_client, url(quiet)) == count_queries(staff_client, url(busy))


def test_the_customer_list_searches_name_email_and_reference(staff_client):
    CustomerFactory(name="Acme Corporation", email="ap@acme.example")
    CustomerFactory(name="Globex", external_ref="GLX-9")
    assert names(staff_client.get(LIST)) == ["Acme Corporation", "Globex"]
    assert names(staff_client.get(LIST, {"q": "corp"})) == ["Acme Corporation"]
    assert names(staff_client.get(LIST, {"q": "acme.example"})) == ["Acme Corporation"]
    assert names(staff_client.get(LIST, {"q": "glx"})) == ["Globex"]
    assert "No customers match." in text(staff_client.get(LIST, {"q": "zzz"}))


def test_the_customer_list_shows_what_each_owes_and_holds(staff_client, manager):
    customer = CustomerFactory(name="Acme")
    issued_invoice(customer, manager, "100.00")
    issued_invoice(customer, manager, "5000", currency="JPY")
    services.balance_adjust(
        customer=customer, amount=Money("7.00", "USD"), actor=manager, reason="x"
    )
    page = text(staff_client.get(LIST))
    assert "5,000 JPY 100.00 USD 7.00 USD" in page


def test_the_customer_list_pages_and_htmx_gets_the_table(staff_client):
    for index in range(PAGE_SIZE + 3):
        CustomerFactory(name=f"Customer {index:03d}")
    first = staff_client.get(LIST)
    assert len(names(first)) == PAGE_SIZE
    second = staff_client.get(LIST, {"page": 2})
    assert names(second) == ["Customer 025", "Customer 026", "Customer 027"]
    partial = staff_client.get(LIST, {"page": 2}, headers=htmx("customer-table"))
    assert partial.content.decode().lstrip().startswith('<section id="customer-table"')
    assert partial["HX-Push-Url"] == f"{LIST}?page=2"


def test_the_customer_list_query_count_does_not_grow_with_rows(staff_client, manager):
    for _ in range(2):
        issued_invoice(CustomerFactory(), manager)
    few = count_queries(staff_client, LIST)
    for _ in range(20):
        customer = CustomerFactory()
        issued_invoice(customer, manager)
        services.balance_adjust(
            customer=customer, amount=Money("1.00", "USD"), actor=manager, reason="x"
        )
    assert count_queries(staff_client, LIST) == few
