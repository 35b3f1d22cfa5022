"""Finding money: the payments list's filters by what the clerk typed (bank
reference, cheque number, card last 4, amount) and the refunds list with its
CSV export (billing/filters.py, views/refunds.py, views/exports.py)."""

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from moneyed import Money

from billing import services
from billing.models import Refund
from billing.selectors import PAGE_SIZE
from billing.views.exports import REFUND_COLUMNS
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay, saved_card

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("billing:payment_list")
REFUNDS = reverse("billing:refund_list")
REFUND_EXPORT = reverse("billing:refund_export")


def shown(client, url, query):
    """The ids of the payments (or refunds) a list shows for ``query``."""
    response = get_ok(client, url, query)
    content = response.content.decode()
    return {int(pk) for pk in re.findall(r'href="/payments/(\d+)/"', content)}


def refund(payment, actor, amount, destination="external", reason="requested_by_customer", **kw):
    return services.payment_refund(
        payment=payment,
        amount=Money(amount, payment.currency),
        destination=destination,
        reason=reason,
        actor=actor,
        **kw,
    )


@pytest.fixture
def invoice(manager):
    return issued_invoice(CustomerFactory(name="Acme", currency="USD"), manager, "5000.00")


@pytest.fixture
def payments(manager, invoice):
    """One payment of each method, with the details a clerk would look for."""
    saved_card(invoice.customer, manager, last4="1881")
    return {
        "transfer": pay(
            invoice,
            manager,
            "1000.00",
            method="bank_transfer",
            details={"bank_reference": "ACME-TRF-88812"},
        ),
        "cheque": pay(
            invoice, manager, "250.00", method="cheque", details={"cheque_number": "104233"}
        ),
        "terminal": pay(
            invoice,
            manager,
            "99.95",
            method="card",
            details={"card_brand": "visa", "card_last4": "1881"},
        ),
        "charge": services.payment_charge(
            invoice=invoice, amount=Money("40.00", "USD"), actor=manager
        ),
        "cash": pay(invoice, manager, "250.00"),
    }


def ids(payments, *names):
    return {payments[name].pk for name in names}


def test_the_payments_list_finds_a_bank_reference_in_any_case(staff_client, payments):
    assert shown(staff_client, PAYMENTS, {"bank_reference": "ACME-TRF-88812"}) == ids(
        payments, "transfer"
    )
    assert shown(staff_client, PAYMENTS, {"bank_reference": "acme-trf-88812 "}) == ids(
        payments, "transfer"
    )
    assert shown(staff_client, PAYMENTS, {"bank_reference": "ACME-TRF"}) == set()


def test_the_payments_list_finds_a_cheque_number(staff_client, payments):
    assert shown(staff_client, PAYMENTS, {"cheque_number": "104233"}) == ids(payments, "cheque")


def test_card_last_4_finds_the_terminal_and_the_saved_card(staff_client, payments):
    assert shown(staff_client, PAYMENTS, {"card_last4": "1881"}) == ids(
        payments, "terminal", "charge"
    )
    assert shown(staff_client, PAYMENTS, {"card_last4": "4242"}) == set()


def test_amount_exact_and_a_range(staff_client, payments):
    assert shown(staff_client, PAYMENTS, {"amount": "1,000.00"}) == ids(payments, "transfer")
    assert shown(staff_client, PAYMENTS, {"amount": "250"}) == ids(payments, "cheque", "cash")
    assert shown(staff_client, PAYMENTS, {"amount_min": "99.95", "amount_max": "250"}) == ids(
        payments, "cheque", "terminal", "cash"
    )
    assert shown(staff_client, PAYMENTS, {"amount_min": "251"}) == ids(payments, "transfer")


def test_the_new_filters_combine_with_the_old_ones(staff_client, payments, invoice):
    query = {"amount": "250", "method": "cheque", "q": invoice.number, "currency": "USD"}
    assert shown(staff_client, PAYMENTS, query) == ids(payments, "cheque")
    today = timezone.localdate().isoformat()
    query = {"card_last4": "1881", "paid_from": today, "paid_to": today}
    assert shown(staff_client, PAYMENTS, query) == ids(payments, "terminal", "charge")


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"amount": "1e3"}, "Amount"),
        ({"amount_min": "abc"}, "Amount from"),
        ({"card_last4": "12a4"}, "Card last 4"),
        ({"card_last4": "123"}, "Card last 4"),
    ],
)
def test_a_filter_that_does_not_parse_is_shown_and_dropped(staff_client, payments, query, error):
    response = get_ok(staff_client, PAYMENTS, query)
    assert f"<li>{error}: " in response.content.decode()
    assert shown(staff_client, PAYMENTS, query) == ids(
        payments, "transfer", "cheque", "terminal", "charge", "cash"
    )


def test_the_filtered_payments_list_runs_the_same_queries_for_more_rows(
    staff_client, manager, payments, invoice
):
    query = {"card_last4": "1881", "amount_min": "1", "bank_reference": "", "cheque_number": ""}
    url = f"{PAYMENTS}?card_last4=1881&amount_min=1"
    one = count_queries(staff_client, url)
    for index in range(6):
        pay(
            invoice,
            manager,
            f"{index + 1}.00",
            method="card",
            details={"card_brand": "visa", "card_last4": "1881"},
        )
    assert count_queries(staff_client, url) == one
    assert len(shown(staff_client, PAYMENTS, query)) == 8


# -- the refunds list ----------------------------------------------------------------------


@pytest.fixture
def refunds(manager, invoice, payments):
    yen = issued_invoice(CustomerFactory(name="Tanaka Trading", currency="JPY"), manager, "9000")
    return {
        "transfer": refund(payments["transfer"], manager, "100.00", reference="BACK-1"),
        "credit": refund(payments["cash"], manager, "50.00", "customer_credit", "duplicate"),
        "bounced": refund(payments["cheque"], manager, "250.00", reason="bounced"),
        "yen": refund(pay(yen, manager, "9000"), manager, "3000", reason="other"),
    }


def refund_ids(client, query=None):
    content = get_ok(client, REFUNDS, query or {}).content.decode()
    return {int(pk) for pk in re.findall(r"#refund-(\d+)", content)}


def test_the_refunds_list_is_in_the_nav_between_payments_and_credit_notes(staff_client):
    response = staff_client.get(REFUNDS)
    assert response.status_code == 200
    nav = re.search(r'<nav class="mainnav".*?</nav>', response.content.decode(), re.S).group(0)
    assert nav.index("Payments") < nav.index("Refunds") < nav.index("Credit notes")
    assert f'<a href="{REFUNDS}" aria-current="page">Refunds</a>' in nav


def test_the_refunds_list_shows_each_refund_newest_first(staff_client, refunds, manager):
    response = get_ok(staff_client, REFUNDS)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    assert page.index("3,000 JPY") < page.index("250.00 USD") < page.index("100.00 USD")
    assert "Paid back outside the system Ref. BACK-1 Requested by customer" in page
    assert "Tanaka Trading" in page and manager.username in page
    content = response.content.decode()
    payment = refunds["transfer"].payment
    assert f'href="/payments/{payment.pk}/#refund-{refunds["transfer"].pk}"' in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"destination": "customer_credit"}, {"credit"}),
        ({"reason": "bounced"}, {"bounced"}),
        ({"currency": "JPY"}, {"yen"}),
        ({"q": "Tanaka"}, {"yen"}),
        ({"status": "succeeded", "currency": "USD"}, {"transfer", "credit", "bounced"}),
        ({"status": "pending"}, set()),
    ],
)
def test_the_refunds_list_filters(staff_client, refunds, query, expected):
    assert refund_ids(staff_client, query) == {refunds[name].pk for name in expected}


def test_the_refunds_list_filters_by_customer_and_invoice_number(staff_client, refunds, invoice):
    assert refund_ids(staff_client, {"customer": invoice.customer_id}) == {
        refunds[name].pk for name in ("transfer", "credit", "bounced")
    }
    assert refund_ids(staff_client, {"q": invoice.number}) == {
        refunds[name].pk for name in ("transfer", "credit", "bounced")
    }


def test_the_refunds_list_filters_by_the_day_refunded(staff_client, refunds):
    old = refunds["bounced"]
    a_week_ago = timezone.now() - datetime.timedelta(days=7)
    Refund.objects.filter(pk=old.pk).update(created_at=a_week_ago)
    today = timezone.localdate()
    assert old.pk not in refund_ids(staff_client, {"refunded_from": today.isoformat()})
    day = timezone.localtime(a_week_ago).date().isoformat()
    assert refund_ids(staff_client, {"refunded_from": day, "refunded_to": day}) == {old.pk}


def test_a_day_filtered_refunds_list_pages_through_every_row_once(staff_client, manager, invoice):
    payment = pay(invoice, manager, "4000.00")
    made = {refund(payment, manager, f"{n + 1}.00").pk for n in range(PAGE_SIZE + 3)}
    query = {"refunded_from": timezone.localdate().isoformat()}
    seen, response = [], get_ok(staff_client, REFUNDS, query)
    while True:
        content = response.content.decode()
        seen += [int(pk) for pk in re.findall(r"#refund-(\d+)", content)]
        following = re.search(r'href="([^"]+)"[^>]*rel="next"', content)
        if not following:
            break
        response = get_ok(staff_client, following.group(1).replace("&amp;", "&"))
    assert sorted(seen) == sorted(made)


def test_the_refunds_table_comes_alone_to_htmx(staff_client, refunds):
    response = get_ok(staff_client, REFUNDS, {"currency": "JPY"}, headers=htmx("refund-table"))
    assert response.content.decode().lstrip().startswith('<section id="refund-table"')
    assert response["HX-Push-Url"] == f"{REFUNDS}?currency=JPY"


def test_the_refunds_list_runs_the_same_queries_for_more_rows(staff_client, manager, refunds):
    one = count_queries(staff_client, REFUNDS)
    yen = issued_invoice(CustomerFactory(currency="JPY"), manager, "90000")
    payment = pay(yen, manager, "90000")
    for index in range(6):
        refund(payment, manager, f"{index + 1}", destination="customer_credit")
    assert count_queries(staff_client, REFUNDS) == one


def test_an_empty_refunds_list_says_so(staff_client):
    assert "No refunds yet." in get_ok(staff_client, REFUNDS).content.decode()


# -- the refunds export ------------------------------------------------------------------------


def export_rows(client, query=None):
    response = client.get(REFUND_EXPORT, query or {})
    assert response.status_code == 200, response.content[:300]
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="refunds-')
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # Excel reads it as UTF-8, like every export
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert tuple(table[0]) == REFUND_COLUMNS
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def test_the_refunds_export_holds_every_filtered_row_exactly(staff_client, refunds, manager):
    rows = export_rows(staff_client, {"currency": "JPY"})
    [row] = rows
    yen = refunds["yen"]
    assert row["refund_id"] == str(yen.pk)
    assert row["payment_id"] == str(yen.payment_id)
    assert (row["destination"], row["status"], row["reason"]) == ("external", "succeeded", "other")
    assert (row["currency"], row["amount"]) == ("JPY", "3000")
    assert row["customer"] == "Tanaka Trading"
    assert row["recorded_by"] == manager.username
    assert len(export_rows(staff_client)) == 4


def test_the_refunds_export_names_the_credit_note(staff_client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    issued = services.credit_note_issue(
        invoice=invoice,
        reason="duplicate",
        refund=Money("10.00", "USD"),
        refund_payment=payment,
        actor=manager,
    )
    [row] = export_rows(staff_client)
    assert row["credit_note"] == issued.credit_note.number
    assert row["amount"] == "10.00"


def test_the_refunds_export_defuses_formulas(staff_client, manager):
    customer = CustomerFactory(name='=HYPERLINK("http://evil")', currency="USD")
    payment = pay(issued_invoice(customer, manager, "10.00"), manager, "10.00")
    refund(payment, manager, "1.00", notes="+cmd|' /C calc'!A0", reference="@SUM(A1)")
    [row] = export_rows(staff_client)
    assert row["customer"] == '\'=HYPERLINK("http://evil")'
    assert row["notes"] == "'+cmd|' /C calc'!A0"
    assert row["reference"] == "'@SUM(A1)"


def test_a_refunds_export_filter_that_does_not_parse_is_a_400(staff_client, refunds):
    response = staff_client.get(REFUND_EXPORT, {"refunded_from": "yesterday"})
    assert response.status_code == 400
    assert "refunded_from" in response.content.decode()


def test_the_refunds_table_links_to_the_export_of_its_filters(staff_client, refunds):
    content = get_ok(staff_client, REFUNDS, {"currency": "JPY"}).content.decode()
    assert f'href="{REFUND_EXPORT}?currency=JPY"' in content


def test_the_refunds_export_runs_the_same_queries_for_more_rows(
    staff_client, manager, refunds, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as four_rows:
        assert len(export_rows(staff_client)) == 4
    payment = pay(issued_invoice(CustomerFactory(), manager, "100.00"), manager, "100.00")
    for index in range(8):
        refund(payment, manager, f"{index + 1}.00")
    with django_assert_max_num_queries(len(four_rows)):
        assert len(export_rows(staff_client)) == 12
