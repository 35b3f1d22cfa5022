import csv
import datetime
import io

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.selectors import PAGE_SIZE
from billing.views.exports import CREDIT_NOTE_COLUMNS, EXPORT_FAILED, PAYMENT_COLUMNS, safe_cell
from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("billing:payment_export")
CREDIT_NOTES = reverse("billing:credit_note_export")
TODAY = datetime.date.today()


def download(client, url, query=None):
    response = client.get(url, query or {})
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    body = b"".join(response.streaming_content)
    # A UTF-8 byte order mark first, so Excel reads the file as UTF-8.
    assert body.startswith("\ufeff".encode())
    return body.decode("utf-8-sig")


def rows(client, url, query=None):
    """The CSV's rows as dicts (the header row checked)."""
    table = list(csv.reader(io.StringIO(download(client, url, query))))
    header, body = table[0], table[1:]
    assert tuple(header) == (PAYMENT_COLUMNS if url == PAYMENTS else CREDIT_NOTE_COLUMNS)
    return [dict(zip(header, row, strict=True)) for row in body]


def note(invoice, actor, amount, reason="goodwill"):
    return services.credit_note_issue(
        invoice=invoice,
        actor=actor,
        reason=reason,
        reduce_due=Money(amount, invoice.currency),
    ).credit_note


@pytest.fixture
def tanaka():
    return CustomerFactory(name="Tanaka Trading", currency="JPY")


@pytest.fixture
def kuwait():
    return CustomerFactory(name="Gulf Supplies", currency="KWD")


# -- payments ----------------------------------------------------------------------------------


def test_the_payments_export_starts_with_its_header_row(staff_client):
    content = download(staff_client, PAYMENTS)
    assert content == (
        "payment_id,payment_date,recorded_at,invoice_id,invoice,customer_id,customer,method,"
        "method_details,cheque_number,bank_reference,card_brand,card_last4,"
        "status,currency,amount,refunded,sent_to_credit,reference,recorded_by\r\n"
    )


def test_payments_export_amounts_exactly_at_the_currency_minor_unit(
    staff_client, manager, tanaka, kuwait
):
    yen = pay(
        issued_invoice(tanaka, manager, "46000"),
        manager,
        "48000",
        reference="Wire 1",
        excess_to_credit=True,
    )
    dinar_invoice = issued_invoice(kuwait, manager, "500.000")
    dinar = pay(dinar_invoice, manager, "375.125")
    services.payment_refund(
        payment=dinar,
        amount=Money("0.125", "KWD"),
        destination="customer_credit",
        actor=manager,
        reason="other",
    )
    exported = {row["payment_id"]: row for row in rows(staff_client, PAYMENTS)}
    assert exported[str(yen.pk)] == {
        "payment_id": str(yen.pk),
        "payment_date": TODAY.isoformat(),
        "recorded_at": exported[str(yen.pk)]["recorded_at"],
        "invoice_id": str(yen.invoice_id),
        "invoice": yen.invoice.number,
        "customer_id": str(tanaka.pk),
        "customer": "Tanaka Trading",
        "method": "cash",
        "method_details": "Cash",
        "cheque_number": "",
        "bank_reference": "",
        "card_brand": "",
        "card_last4": "",
        "status": "succeeded",
        "currency": "JPY",
        "amount": "48000",
        "refunded": "0",
        "sent_to_credit": "2000",
        "reference": "Wire 1",
        "recorded_by": "manager",
    }
    assert datetime.datetime.fromisoformat(exported[str(yen.pk)]["recorded_at"]).tzinfo
    row = exported[str(dinar.pk)]
    assert (row["currency"], row["amount"]) == ("KWD", "375.125")
    assert (row["refunded"], row["sent_to_credit"]) == ("0.125", "0.000")


def test_the_payments_export_holds_every_filtered_row_not_just_the_page(
    staff_client, manager, tanaka
):
    invoice = issued_invoice(tanaka, manager, "100000")
    for _ in range(PAGE_SIZE + 2):
        pay(invoice, manager, "10")
    pay(invoice, manager, "20", method="cheque", details={"cheque_number": "7"})
    exported = rows(staff_client, PAYMENTS, {"method": "cash"})
    assert len(exported) == PAGE_SIZE + 2
    assert {row["method"] for row in exported} == {"cash"}
    ids = [int(row["payment_id"]) for row in exported]
    assert ids == sorted(ids, reverse=True)  # The list's order: newest first.


def test_the_payments_export_applies_every_filter_of_the_list(staff_client, manager, tanaka):
    other = CustomerFactory(name="Globex", currency="USD")
    yen_invoice = issued_invoice(tanaka, manager, "48000")
    old = pay(yen_invoice, manager, "1000", paid_at=TODAY - datetime.timedelta(days=40))
    recent = pay(yen_invoice, manager, "2000")
    voided = pay(yen_invoice, manager, "3000")
    services.payment_void(payment=voided, actor=manager, reason="Twice")
    dollars = pay(issued_invoice(other, manager, "50.00"), manager, "50.00")

    def ids(**query):
        return {int(row["payment_id"]) for row in rows(staff_client, PAYMENTS, query)}

    assert ids() == {old.pk, recent.pk, voided.pk, dollars.pk}
    assert ids(status="voided") == {voided.pk}
    assert ids(currency="USD") == {dollars.pk}
    assert ids(customer=tanaka.pk) == {old.pk, recent.pk, voided.pk}
    assert ids(paid_to=(TODAY - datetime.timedelta(days=30)).isoformat()) == {old.pk}
    assert ids(paid_from=TODAY.isoformat(), status="succeeded") == {recent.pk, dollars.pk}
    assert ids(q="globex") == {dollars.pk}
    assert ids(q=yen_invoice.number) == {old.pk, recent.pk, voided.pk}
    assert ids(q=yen_invoice.number.removeprefix("INV-")) == {old.pk, recent.pk, voided.pk}
    # A filter that does not parse exports nothing, rather than more than asked.
    response = staff_client.get(PAYMENTS, {"paid_from": "not a date", "status": "voided"})
    assert response.status_code == 400
    assert "paid_from" in response.content.decode()


def test_the_payments_export_query_count_does_not_grow_with_rows(
    staff_client, manager, tanaka, django_assert_max_num_queries
):
    invoice = issued_invoice(tanaka, manager, "100000")
    pay(invoice, manager, "10")
    with CaptureQueriesContext(connection) as one_row:
        assert len(rows(staff_client, PAYMENTS)) == 1
    for index in range(10):
        pay(
            issued_invoice(CustomerFactory(currency="JPY"), manager, "500"), manager, f"{index + 1}"
        )
    with django_assert_max_num_queries(len(one_row)):
        assert len(rows(staff_client, PAYMENTS)) == 11


# -- credit notes ------------------------------------------------------------------------------


def test_the_credit_notes_export_starts_with_its_header_row(staff_client):
    content = download(staff_client, CREDIT_NOTES)
    assert content == (
        "credit_note_id,number,date,invoice_id,invoice,customer_id,customer,reason,currency,"
        "total,reduce_due,refund,to_credit,refunded_payment_id,issued_by\r\n"
    )


def test_credit_notes_export_amounts_exactly_at_the_currency_minor_unit(
    staff_client, manager, tanaka, kuwait
):
    yen = note(issued_invoice(tanaka, manager, "60000"), manager, "48000")
    dinar_invoice = issued_invoice(kuwait, manager, "500.000")
    pay(dinar_invoice, manager, "400.000")
    dinar = services.credit_note_issue(
        invoice=dinar_invoice,
        actor=manager,
        reason="duplicate",
        reduce_due=Money("75.125", "KWD"),
        to_credit=Money("300.000", "KWD"),
    ).credit_note
    exported = {row["number"]: row for row in rows(staff_client, CREDIT_NOTES)}
    assert exported[yen.number] == {
        "credit_note_id": str(yen.pk),
        "number": yen.number,
        "date": TODAY.isoformat(),
        "invoice_id": str(yen.invoice_id),
        "invoice": yen.invoice.number,
        "customer_id": str(tanaka.pk),
        "customer": "Tanaka Trading",
        "reason": "goodwill",
        "currency": "JPY",
        "total": "48000",
        "reduce_due": "48000",
        "refund": "0",
        "to_credit": "0",
        "refunded_payment_id": "",
        "issued_by": "manager",
    }
    row = exported[dinar.number]
    assert (row["currency"], row["total"], row["reduce_due"], row["refund"], row["to_credit"]) == (
        "KWD",
        "375.125",
        "75.125",
        "0.000",
        "300.000",
    )


def test_the_credit_notes_export_applies_every_filter_of_the_list(
    staff_client, manager, tanaka, kuwait
):
    yen_invoice = issued_invoice(tanaka, manager, "60000")
    goodwill = note(yen_invoice, manager, "1000")
    duplicate = note(yen_invoice, manager, "2000", reason="duplicate")
    dinar = note(issued_invoice(kuwait, manager, "10.000"), manager, "1.000")

    def numbers(**query):
        return {row["number"] for row in rows(staff_client, CREDIT_NOTES, query)}

    assert numbers() == {goodwill.number, duplicate.number, dinar.number}
    assert numbers(reason="duplicate") == {duplicate.number}
    assert numbers(currency="KWD") == {dinar.number}
    assert numbers(customer=kuwait.pk) == {dinar.number}
    assert numbers(issued_from=TODAY.isoformat(), issued_to=TODAY.isoformat()) == numbers()
    yesterday = (TODAY - datetime.timedelta(days=1)).isoformat()
    assert numbers(issued_to=yesterday) == set()
    assert numbers(q="gulf") == {dinar.number}
    assert numbers(q=yen_invoice.number) == {goodwill.number, duplicate.number}
    assert numbers(q=duplicate.number) == {duplicate.number}


def test_the_credit_notes_export_query_count_does_not_grow_with_rows(
    staff_client, manager, django_assert_max_num_queries
):
    def one():
        note(issued_invoice(CustomerFactory(), manager, "100.00"), manager, "1.00")

    one()
    with CaptureQueriesContext(connection) as one_row:
        assert len(rows(staff_client, CREDIT_NOTES)) == 1
    for _ in range(10):
        one()
    with django_assert_max_num_queries(len(one_row)):
        assert len(rows(staff_client, CREDIT_NOTES)) == 11


# -- CSV injection, access, the links ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Acme = best", "Acme = best"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_a_cell_that_starts_like_a_formula_is_prefixed_with_a_quote(text, cell):
    assert safe_cell(text) == cell


def test_the_exports_defuse_formulas_in_names_and_references(staff_client, manager):
    customer = CustomerFactory(name='=HYPERLINK("http://evil")', currency="USD")
    invoice = issued_invoice(customer, manager, "10.00")
    pay(invoice, manager, "5.00", reference="@SUM(A1)")
    note(invoice, manager, "1.00")
    [payment] = rows(staff_client, PAYMENTS)
    assert payment["customer"] == '\'=HYPERLINK("http://evil")'
    assert payment["reference"] == "'@SUM(A1)"
    [credit_note] = rows(staff_client, CREDIT_NOTES)
    assert credit_note["customer"] == '\'=HYPERLINK("http://evil")'


@pytest.mark.parametrize("url", [PAYMENTS, CREDIT_NOTES])
def test_the_exports_are_for_staff_with_the_view_permission(client, nobody, url):
    assert client.get(url).status_code == 302
    client.force_login(nobody)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [PAYMENTS, CREDIT_NOTES])
def test_the_exports_answer_only_reads(staff_client, url):
    assert staff_client.post(url).status_code == 405


def test_the_payments_table_links_to_the_export_of_its_filters(staff_client, manager, tanaka):
    pay(issued_invoice(tanaka, manager, "48000"), manager, "1000")
    response = staff_client.get(
        reverse("billing:payment_list"),
        {"method": "cash", "after": "999999"},
        headers=htmx("payment-table"),
    )
    assert f'href="{PAYMENTS}?method=cash" download>Export CSV</a>' in response.content.decode()


def test_the_credit_notes_table_links_to_the_export_of_its_filters(staff_client, manager, tanaka):
    note(issued_invoice(tanaka, manager, "48000"), manager, "1000")
    content = staff_client.get(
        reverse("billing:credit_note_list"), {"reason": "goodwill", "currency": "JPY"}
    ).content.decode()
    assert f'href="{CREDIT_NOTES}?reason=goodwill&amp;currency=JPY" download>Export CSV</a>' in (
        content
    )


# -- filters that do not parse, failures -----------------------------------------------------

OUT_OF_RANGE = ["9223372036854775808", "9" * 40, "-1", "0x1"]


@pytest.mark.parametrize("url", [PAYMENTS, CREDIT_NOTES])
@pytest.mark.parametrize("customer", OUT_OF_RANGE)
def test_an_export_with_a_filter_that_does_not_parse_is_a_400_naming_it(
    staff_client, manager, tanaka, url, customer
):
    invoice = issued_invoice(tanaka, manager, "48000")
    pay(invoice, manager, "1000")
    note(invoice, manager, "1000")
    response = staff_client.get(url, {"customer": customer})
    assert response.status_code == 400
    assert not response.streaming
    content = response.content.decode()
    assert content.startswith("Nothing was exported")
    assert "customer" in content


def test_an_export_whose_query_fails_is_an_error_before_any_row_is_sent(
    staff_client, manager, tanaka, monkeypatch
):
    pay(issued_invoice(tanaka, manager, "48000"), manager, "1000")

    def broken(self, chunk_size=None):
        raise RuntimeError("the database went away")
        yield  # pragma: no cover

    monkeypatch.setattr("django.db.models.QuerySet.iterator", broken)
    with pytest.raises(RuntimeError):
        staff_client.get(PAYMENTS)


def test_an_export_that_fails_midway_says_so_in_its_last_line_and_aborts(
    staff_client, manager, tanaka, monkeypatch
):
    invoice = issued_invoice(tanaka, manager, "48000")
    for amount in ("1000", "2000", "3000"):
        pay(invoice, manager, amount)
    real = QuerySet.iterator

    def breaks_after_one_row(self, chunk_size=None):
        rows = real(self, chunk_size=chunk_size)
        yield next(rows)
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr("django.db.models.QuerySet.iterator", breaks_after_one_row)
    response = staff_client.get(PAYMENTS)
    assert response.status_code == 200
    received = []
    with pytest.raises(RuntimeError):
        for chunk in response.streaming_content:
            received.append(chunk.decode())
    assert len(received) == 3  # the header, one row, the failure
    assert received[-1].strip() == EXPORT_FAILED


@pytest.mark.parametrize(
    "url",
    [
        reverse("billing:payment_list"),
        reverse("billing:invoice_list"),
        reverse("billing:credit_note_list"),
    ],
)
@pytest.mark.parametrize("customer", OUT_OF_RANGE)
def test_a_list_drops_a_customer_filter_out_of_range(staff_client, manager, tanaka, url, customer):
    invoice = issued_invoice(tanaka, manager, "48000")
    pay(invoice, manager, "1000")
    note(invoice, manager, "1000")
    response = staff_client.get(url, {"customer": customer})
    assert response.status_code == 200
    assert response.context["page"].rows
