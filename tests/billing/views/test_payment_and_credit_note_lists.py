import datetime
import re

import pytest
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.selectors import PAGE_SIZE
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("billing:payment_list")
CREDIT_NOTES = reverse("billing:credit_note_list")


def text(response):
    """The text of the list's table (not of its filter form)."""
    content = response.content.decode()
    table = content[content.index('<section id="') :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))


def test_payments_list_newest_first_and_filters_by_status_method_and_currency(
    staff_client, manager
):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    cash = pay(invoice, manager, "10.00")
    cheque = pay(invoice, manager, "20.00", method="cheque", details={"cheque_number": "77"})
    services.payment_void(payment=cash, actor=manager, reason="Recorded twice")
    yen = pay(issued_invoice(CustomerFactory(currency="JPY"), manager, "5000"), manager, "5000")
    page = text(get_ok(staff_client, PAYMENTS))
    assert page.index("5,000 JPY") < page.index("Cheque #77") < page.index("Cash Voided")
    assert "Cheque #77" in text(get_ok(staff_client, PAYMENTS, {"method": "cheque"}))
    assert "Cash" not in text(get_ok(staff_client, PAYMENTS, {"method": "cheque"}))
    voided = text(get_ok(staff_client, PAYMENTS, {"status": "voided"}))
    assert "10.00 USD" in voided and "20.00 USD" not in voided
    assert "5,000 JPY" not in text(get_ok(staff_client, PAYMENTS, {"currency": "USD"}))
    assert cheque.pk and yen.pk


def test_payments_table_comes_alone_to_htmx(staff_client, manager):
    pay(issued_invoice(CustomerFactory(), manager, "100.00"), manager, "10.00")
    response = staff_client.get(PAYMENTS, {"status": "succeeded"}, headers=htmx("payment-table"))
    assert response.content.decode().lstrip().startswith('<section id="payment-table"')
    assert response["HX-Push-Url"] == f"{PAYMENTS}?status=succeeded"


def test_payments_list_query_count_does_not_grow_with_rows(staff_client, manager):
    pay(issued_invoice(CustomerFactory(), manager, "100.00"), manager, "10.00")
    few = count_queries(staff_client, PAYMENTS)
    for _ in range(10):
        pay(issued_invoice(CustomerFactory(), manager, "100.00"), manager, "10.00")
    assert count_queries(staff_client, PAYMENTS) == few


def test_credit_notes_list_filters_by_reason_and_currency(staff_client, manager):
    usd = issued_invoice(CustomerFactory(), manager, "100.00")
    kwd = issued_invoice(CustomerFactory(currency="KWD"), manager, "100.000")
    services.credit_note_issue(
        invoice=usd, actor=manager, reason="goodwill", reduce_due=Money("10.00", "USD")
    )
    services.credit_note_issue(
        invoice=kwd, actor=manager, reason="duplicate", reduce_due=Money("0.125", "KWD")
    )
    page = text(get_ok(staff_client, CREDIT_NOTES))
    assert "Goodwill" in page and "Duplicate" in page and "0.125 KWD" in page
    goodwill = text(get_ok(staff_client, CREDIT_NOTES, {"reason": "goodwill"}))
    assert "Goodwill" in goodwill and "0.125 KWD" not in goodwill
    assert "10.00 USD" not in text(get_ok(staff_client, CREDIT_NOTES, {"currency": "KWD"}))


def test_credit_notes_list_query_count_does_not_grow_with_rows(staff_client, manager):
    def note():
        invoice = issued_invoice(CustomerFactory(), manager, "100.00")
        services.credit_note_issue(
            invoice=invoice, actor=manager, reason="goodwill", reduce_due=Money("1.00", "USD")
        )

    note()
    few = count_queries(staff_client, CREDIT_NOTES)
    for _ in range(10):
        note()
    assert count_queries(staff_client, CREDIT_NOTES) == few


def test_payments_list_filters_by_customer_payment_date_and_search(staff_client, manager):
    today = datetime.date.today()
    acme = CustomerFactory(name="Acme Corporation")
    acme_invoice = issued_invoice(acme, manager, "100.00")
    pay(acme_invoice, manager, "11.00", paid_at=today - datetime.timedelta(days=10))
    pay(issued_invoice(CustomerFactory(name="Globex"), manager, "100.00"), manager, "22.00")
    by_customer = get_ok(staff_client, PAYMENTS, {"customer": acme.pk})
    assert "11.00 USD" in text(by_customer) and "22.00 USD" not in text(by_customer)
    assert "Customer:" in by_customer.content.decode()  # The chip that removes the filter.
    recent = text(get_ok(staff_client, PAYMENTS, {"paid_from": today.isoformat()}))
    assert "22.00 USD" in recent and "11.00 USD" not in recent
    assert "11.00 USD" not in text(get_ok(staff_client, PAYMENTS, {"q": "globex"}))
    by_number = text(get_ok(staff_client, PAYMENTS, {"q": acme_invoice.number}))
    assert "11.00 USD" in by_number and "22.00 USD" not in by_number


def test_a_date_filtered_payments_list_pages_through_every_row_once(staff_client, manager):
    today = datetime.date.today()
    invoice = issued_invoice(CustomerFactory(currency="JPY"), manager, "100000")
    made = [
        pay(invoice, manager, str(n + 1), paid_at=today - datetime.timedelta(days=n % 3)).pk
        for n in range(PAGE_SIZE + 5)
    ]
    query = {"paid_from": (today - datetime.timedelta(days=5)).isoformat()}
    seen, response = [], staff_client.get(PAYMENTS, query)
    while True:
        content = response.content.decode()
        seen += [int(pk) for pk in re.findall(r"#payment-(\d+)", content)]
        following = re.search(r'href="([^"]+)"[^>]*rel="next"', content)
        if not following:
            break
        response = staff_client.get(following.group(1).replace("&amp;", "&"))
    assert sorted(seen) == sorted(made)


def test_credit_notes_list_filters_by_customer_date_and_search(staff_client, manager):
    today = datetime.date.today()
    acme = CustomerFactory(name="Acme Corporation")
    first = services.credit_note_issue(
        invoice=issued_invoice(acme, manager, "100.00"),
        actor=manager,
        reason="goodwill",
        reduce_due=Money("3.00", "USD"),
    ).credit_note
    services.credit_note_issue(
        invoice=issued_invoice(CustomerFactory(name="Globex"), manager, "100.00"),
        actor=manager,
        reason="goodwill",
        reduce_due=Money("4.00", "USD"),
    )
    assert "4.00 USD" not in text(get_ok(staff_client, CREDIT_NOTES, {"customer": acme.pk}))
    assert "3.00 USD" not in text(get_ok(staff_client, CREDIT_NOTES, {"q": "globex"}))
    assert "4.00 USD" not in text(get_ok(staff_client, CREDIT_NOTES, {"q": first.number}))
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    assert "No credit notes match" in text(
        get_ok(staff_client, CREDIT_NOTES, {"issued_from": tomorrow})
    )
