import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from moneyed import Money

from billing import selectors, services
from billing.models import Invoice
from billing.selectors import PAGE_SIZE
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay

pytestmark = pytest.mark.django_db

URL = reverse("billing:invoice_list")
TODAY = datetime.date.today()


def listed(response):
    """The invoice links of the list, in order ("INV-..." or "Draft")."""
    return re.findall(r'<a href="/invoices/\d+/">([^<]+)</a>', response.content.decode())


def listed_pks(response):
    """The ids of the invoices listed, in order (drafts all read "Draft")."""
    return [int(pk) for pk in re.findall(r'<a href="/invoices/(\d+)/">', response.content.decode())]


def draft(customer, actor, amount="10.00", currency=None, due_date=None):
    currency = currency or customer.currency
    line = {"description": "Work", "quantity": Decimal(1), "unit_price": Money(amount, currency)}
    return services.invoice_create(
        customer=customer, currency=currency, lines=[line], actor=actor, due_date=due_date
    )


def overdue_invoice(customer, actor, amount="10.00"):
    invoice = draft(customer, actor, amount, due_date=TODAY - datetime.timedelta(days=5))
    return services.invoice_issue(invoice=invoice, actor=actor)


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme Corporation")


@pytest.fixture
def globex():
    return CustomerFactory(name="Globex", currency="JPY")


def test_the_list_shows_invoices_newest_first_with_status_and_amounts(staff_client, acme, clerk):
    first = issued_invoice(acme, clerk, "100.00")
    second = issued_invoice(acme, clerk, "250.50")
    pay(second, clerk, "50.50")
    response = staff_client.get(URL)
    assert listed(response) == [second.number, first.number]
    content = response.content.decode()
    assert "Partially paid" in content and "250.50 USD" in content and "200.00 USD" in content


def test_an_htmx_filter_request_gets_only_the_table_with_vary_and_a_clean_pushed_url(
    staff_client, acme, clerk
):
    issued_invoice(acme, clerk)
    response = get_ok(
        staff_client,
        URL,
        {"status": "open", "q": "", "currency": ""},
        headers=htmx("invoice-table"),
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="invoice-table"')
    assert "<html" not in content and 'class="filters"' not in content
    assert "HX-Request" in response["Vary"]
    assert response["HX-Push-Url"] == f"{URL}?status=open"
    full = staff_client.get(URL, {"status": "open"})
    assert "<html" in full.content.decode() and "HX-Request" in full["Vary"]


def test_filtering_by_status(staff_client, acme, clerk):
    unpaid = issued_invoice(acme, clerk)
    paid = issued_invoice(acme, clerk)
    pay(paid, clerk, "100.00")
    drafted = draft(acme, clerk)
    assert listed(staff_client.get(URL, {"status": "paid"})) == [paid.number]
    assert listed(staff_client.get(URL, {"status": "open"})) == [unpaid.number]
    assert listed_pks(staff_client.get(URL, {"status": "draft"})) == [drafted.pk]


def test_filtering_by_overdue_needs_a_past_due_date_and_something_due(staff_client, acme, clerk):
    late = overdue_invoice(acme, clerk)
    late_but_paid = overdue_invoice(acme, clerk)
    pay(late_but_paid, clerk, "10.00")
    late_partly_paid = overdue_invoice(acme, clerk)
    pay(late_partly_paid, clerk, "4.00")
    issued_invoice(acme, clerk)  # due in 30 days
    response = staff_client.get(URL, {"status": "overdue"})
    assert listed(response) == [late_partly_paid.number, late.number]
    assert response.content.decode().count("badge--overdue") == 2


def test_filtering_by_customer_names_the_customer(staff_client, acme, globex, clerk):
    mine = issued_invoice(acme, clerk)
    issued_invoice(globex, clerk, "5000")
    response = staff_client.get(URL, {"customer": acme.pk})
    assert listed(response) == [mine.number]
    assert "Customer: <a" in response.content.decode()


def test_filtering_by_currency(staff_client, acme, globex, clerk):
    issued_invoice(acme, clerk)
    yen = issued_invoice(globex, clerk, "5000")
    response = staff_client.get(URL, {"currency": "JPY"})
    assert listed(response) == [yen.number]
    assert "5,000 JPY" in response.content.decode()


def test_filtering_by_issue_date_range_sorts_by_issue_date(staff_client, acme, clerk):
    march, april, may = (issued_invoice(acme, clerk) for _ in range(3))
    for invoice, day in ((march, "2026-03-15"), (april, "2026-04-15"), (may, "2026-05-15")):
        Invoice.objects.filter(pk=invoice.pk).update(issue_date=datetime.date.fromisoformat(day))
    # Created after the others, but issued earliest: the date sort puts it last.
    early = issued_invoice(acme, clerk)
    Invoice.objects.filter(pk=early.pk).update(issue_date=datetime.date(2026, 3, 1))
    response = get_ok(staff_client, URL, {"issued_from": "2026-03-01", "issued_to": "2026-04-30"})
    assert listed(response) == [april.number, march.number, early.number]
    response = get_ok(staff_client, URL, {"issued_from": "2026-05-01"})
    assert listed(response)[-1] != early.number
    assert march.number not in listed(response)


def test_searching_by_number_prefix_with_or_without_inv(staff_client, acme, clerk):
    invoices = [issued_invoice(acme, clerk) for _ in range(3)]
    target = invoices[1].number
    assert listed(staff_client.get(URL, {"q": target})) == [target]
    assert listed(staff_client.get(URL, {"q": target.lower()})) == [target]
    without_prefix = target.removeprefix("INV-")
    assert listed(staff_client.get(URL, {"q": without_prefix})) == [target]
    assert len(listed(staff_client.get(URL, {"q": target[:-3]}))) == 3


@pytest.mark.parametrize("by_id", [1000, 2])
def test_a_number_prefix_finds_the_same_invoices_looked_up_by_id_or_not(
    staff_client, acme, clerk, monkeypatch, by_id
):
    # Up to NUMBER_MATCHES_BY_ID matches are looked up as ids first; more stay
    # a prefix in the list's query. Either way the same invoices, newest first.
    monkeypatch.setattr(selectors, "NUMBER_MATCHES_BY_ID", by_id)
    invoices = [issued_invoice(acme, clerk) for _ in range(3)]
    numbers = [invoice.number for invoice in reversed(invoices)]
    assert listed(staff_client.get(URL, {"q": numbers[0][:-3]})) == numbers
    assert listed(staff_client.get(URL, {"q": numbers[1]})) == [numbers[1]]
    assert listed(staff_client.get(URL, {"q": "INV-1999-"})) == []
    named = issued_invoice(CustomerFactory(name=f"Shop {numbers[0][:-3]}"), clerk)
    found = listed(staff_client.get(URL, {"q": numbers[0][:-3]}))
    assert found == [named.number, *numbers]
    with_status = staff_client.get(URL, {"q": numbers[0][:-3], "status": "open"})
    assert listed(with_status) == [named.number, *numbers]


def test_searching_by_customer_name_anywhere_in_it(staff_client, acme, globex, clerk):
    mine = issued_invoice(acme, clerk)
    issued_invoice(globex, clerk, "5000")
    assert listed(staff_client.get(URL, {"q": "corpor"})) == [mine.number]
    assert listed(staff_client.get(URL, {"q": "nobody here"})) == []
    digits_in_name = CustomerFactory(name="3M")
    theirs = issued_invoice(digits_in_name, clerk)
    assert listed(staff_client.get(URL, {"q": "3m"})) == [theirs.number]


def test_filters_combine(staff_client, acme, globex, clerk):
    late = overdue_invoice(acme, clerk)
    overdue_invoice(globex, clerk, "1000")
    issued_invoice(acme, clerk)
    response = staff_client.get(URL, {"status": "overdue", "customer": acme.pk, "currency": "USD"})
    assert listed(response) == [late.number]


def test_filters_that_do_not_parse_are_ignored_and_shown(staff_client, acme, clerk):
    issued_invoice(acme, clerk)
    response = staff_client.get(URL, {"issued_from": "last tuesday", "status": "bogus"})
    assert response.status_code == 200
    assert len(listed(response)) == 1
    assert "Enter a valid date." in response.content.decode()


def test_pages_go_older_and_back_without_a_count(staff_client, acme, clerk):
    invoices = [draft(acme, clerk) for _ in range(PAGE_SIZE + 5)]
    newest_first = [i.pk for i in reversed(invoices)]
    first = get_ok(staff_client, URL)
    assert listed_pks(first) == newest_first[:PAGE_SIZE]
    after = re.search(r'href="/invoices/\?after=(\d+)"', first.content.decode()).group(1)
    second = get_ok(staff_client, URL, {"after": after})
    assert listed_pks(second) == newest_first[PAGE_SIZE:]
    assert "Next ›" not in second.content.decode()
    before = re.search(r'href="/invoices/\?before=(\d+)"', second.content.decode()).group(1)
    back = get_ok(staff_client, URL, {"before": before})
    assert listed_pks(back) == newest_first[:PAGE_SIZE]
    assert "‹ Previous" not in back.content.decode()


def test_pages_keep_the_filters(staff_client, acme, clerk):
    for _ in range(PAGE_SIZE + 1):
        draft(acme, clerk)
    content = staff_client.get(URL, {"status": "draft", "q": ""}).content.decode()
    assert re.search(r'href="/invoices/\?status=draft&amp;after=\d+"', content)


def test_date_sorted_pages_use_a_date_and_id_cursor(staff_client, acme, clerk):
    invoices = [issued_invoice(acme, clerk) for _ in range(PAGE_SIZE + 2)]
    content = staff_client.get(URL, {"issued_from": "2000-01-01"}).content.decode()
    cursor = re.search(r"after=([0-9-]+~\d+)", content).group(1)
    assert cursor == f"{TODAY.isoformat()}~{invoices[2].pk}"
    rest = staff_client.get(URL, {"issued_from": "2000-01-01", "after": cursor})
    assert listed(rest) == [invoices[1].number, invoices[0].number]


def test_a_cursor_that_does_not_parse_gives_the_first_page(staff_client, acme, clerk):
    mine = issued_invoice(acme, clerk)
    for junk in ("abc", "1~2~3", "2026-13-01~5"):
        assert listed(staff_client.get(URL, {"after": junk})) == [mine.number]


def test_the_query_count_does_not_grow_with_rows(staff_client, acme, globex, clerk):
    for index in range(3):
        issued_invoice(acme if index % 2 else globex, clerk, "1000")
    few = count_queries(staff_client, URL)
    for _ in range(27):
        issued_invoice(CustomerFactory(), clerk)
    many = count_queries(staff_client, URL)
    assert few == many
    few_filtered = count_queries(staff_client, URL, query_params={"q": "INV", "customer": acme.pk})
    assert few_filtered <= many + 2


def test_the_list_page_makes_a_fixed_handful_of_queries(
    staff_client, acme, clerk, django_assert_max_num_queries
):
    for _ in range(30):
        issued_invoice(acme, clerk)
    # session, user, two for permissions, one for the page's rows, one for the
    # currencies the filter offers
    with django_assert_max_num_queries(6):
        staff_client.get(URL)
