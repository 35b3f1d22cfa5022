"""The payment schedule's pages: the invoice page's schedule region, the
split/edit modal with its preview, removal, recording a payment against one
instalment, and overdue by instalment on the invoice list and dashboard."""

import datetime
import re

import pytest
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.errors import ErrorCode
from billing.models import Allocation, Instalment, InvoiceEvent, Payment
from billing.services.schedules import monthly_due_dates
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, invoice_page, issued_invoice, pay, record_counts, text, triggers

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)
# A first part already late, the others a month apart after it.
LATE_FIRST = TODAY - 10 * DAY


def schedule(invoice, actor, count=3, first=LATE_FIRST, **kwargs):
    kwargs.setdefault("split", "equal")
    return services.schedule_set(
        invoice=invoice, actor=actor, due_dates=monthly_due_dates(first, count), **kwargs
    )


def schedule_url(invoice):
    return reverse("billing:invoice_schedule", args=[invoice.pk])


def record_url(invoice):
    return reverse("billing:payment_record", args=[invoice.pk])


def form_key(response):
    return re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode())[1]


def schedule_post(invoice, key, split="equal", dates=None, **parts):
    dates = dates or monthly_due_dates(TODAY + 5 * DAY, 3)
    data = {"idempotency_key": key, "split": split, "count": str(len(dates))}
    for n, day in enumerate(dates, start=1):
        data[f"due_date_{n}"] = day.isoformat()
    for name, values in parts.items():
        for n, value in enumerate(values, start=1):
            data[f"{name}_{n}"] = value
    return data


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(name="Acme Corporation"), clerk, "100.00")


# -- the invoice page --------------------------------------------------------------


def test_the_invoice_page_shows_the_schedule_with_an_overdue_part_and_a_record_payment_each(
    staff_client, invoice, clerk
):
    first, second, third = schedule(invoice, clerk)
    pay(invoice, clerk, "10.00")
    page = invoice_page(staff_client, invoice)
    region = page[page.index('<section id="schedule"') : page.index('<section id="payments"')]
    rows = re.findall(r'<tr id="instalment-(\d+)">(.*?)</tr>', region, re.S)
    assert [int(pk) for pk, _ in rows] == [first.pk, second.pk, third.pk]
    row_one = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[0][1])).split()
    assert row_one[:2] == ["Part", "1"]
    assert "33.33 USD" in rows[0][1] and "10.00 USD" in rows[0][1] and "23.33 USD" in rows[0][1]
    assert "Partially paid" in rows[0][1] and "badge--overdue" in rows[0][1]
    assert "badge--overdue" not in rows[1][1] and "Open" in rows[1][1]
    assert f'href="{record_url(invoice)}?instalment={second.pk}"' in rows[1][1]
    assert 'aria-label="Record payment for part 2"' in rows[1][1]
    # The invoice is late on its first part, whatever its own due date says.
    header = page[: page.index('<section id="schedule"')]
    assert "badge--overdue" in header
    assert "Edit schedule" in region and "Remove schedule" not in region  # A payment was allocated.


def test_an_invoice_without_a_schedule_offers_to_split_it_to_who_may(client, invoice, clerk):
    from tests.helpers import user_with

    client.force_login(clerk)
    page = invoice_page(client, invoice)
    assert f'href="{schedule_url(invoice)}"' in page and "Split into instalments" in page
    client.force_login(user_with(username="reader"))
    page = invoice_page(client, invoice)
    assert schedule_url(invoice) not in page
    assert '<section id="schedule" hidden' in page


def test_a_paid_part_offers_no_record_payment(staff_client, invoice, clerk):
    first, second, _ = schedule(invoice, clerk)
    pay(invoice, clerk, "33.33")
    page = invoice_page(staff_client, invoice)
    assert f"?instalment={first.pk}" not in page
    assert f"?instalment={second.pk}" in page


def test_the_schedule_region_refreshes_alone_and_its_queries_do_not_grow_with_parts(
    staff_client, clerk
):
    customer = CustomerFactory()
    few, many = (issued_invoice(customer, clerk, "600.00") for _ in range(2))
    schedule(few, clerk, count=2)
    schedule(many, clerk, count=12)
    url = reverse("billing:invoice_detail", args=[few.pk])
    response = get_ok(staff_client, url, headers=htmx("schedule"))
    assert response.content.decode().lstrip().startswith('<section id="schedule"')
    page_few = count_queries(staff_client, url)
    page_many = count_queries(staff_client, reverse("billing:invoice_detail", args=[many.pk]))
    assert page_few == page_many
    # The other regions ask nothing of the schedule.
    plain = issued_invoice(customer, clerk, "600.00")
    totals_plain = count_queries(
        staff_client, reverse("billing:invoice_detail", args=[plain.pk]), headers=htmx("totals")
    )
    assert count_queries(staff_client, url, headers=htmx("totals")) == totals_plain


# -- the split modal -----------------------------------------------------------------


def test_the_split_modal_starts_with_three_monthly_parts_from_the_due_date(staff_client, invoice):
    response = get_ok(staff_client, schedule_url(invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith("<dialog")
    days = monthly_due_dates(invoice.due_date, 3)
    for n, day in enumerate(days, start=1):
        assert f'name="due_date_{n}" value="{day.isoformat()}"' in content
    assert 'name="due_date_4"' not in content
    assert 'value="equal" id="id_split_0" required checked' in content


def test_the_preview_shows_the_parts_and_writes_nothing(staff_client, invoice):
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    before = record_counts()
    events = InvoiceEvent.objects.count()
    data = {**schedule_post(invoice, key), "preview": "1"}
    response = staff_client.post(schedule_url(invoice), data, headers=htmx("schedule-preview"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="schedule-preview"')
    assert re.findall(r'<td class="num">([\d.]+ USD)</td>', content) == [
        "33.33 USD", "33.33 USD", "33.33 USD", "33.33 USD", "33.34 USD", "33.34 USD"
    ]  # fmt: skip
    assert record_counts() == before
    assert InvoiceEvent.objects.count() == events


def test_changing_the_count_or_split_redraws_the_rows_with_new_parts_a_month_apart(
    staff_client, invoice
):
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    first = TODAY + 5 * DAY
    data = {**schedule_post(invoice, key, dates=[first, first + 31 * DAY]), "preview": "1"}
    data.update(count="4", split="percent")
    response = staff_client.post(schedule_url(invoice), data, headers=htmx("schedule-parts"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="schedule-parts"')
    after = monthly_due_dates(first + 31 * DAY, 3)[1:]
    assert f'name="due_date_3" value="{after[0].isoformat()}"' in content
    assert f'name="due_date_4" value="{after[1].isoformat()}"' in content
    # Percentages start equal; the preview shows the four parts.
    assert 'name="percent_1" value="25.00"' in content
    assert content.count("25.00 USD") == 8


@pytest.mark.parametrize(
    ("split", "parts", "column", "code"),
    [
        ("percent", {"percent": ["50", "30", "10"]}, "Percentages", "schedule_total_mismatch"),
        ("fixed", {"amount": ["50.00", "30.00", "10.00"]}, "Amounts", "schedule_total_mismatch"),
        ("fixed", {"amount": ["50.00", "60.00", ""]}, "Amounts", "invalid_amount"),
    ],
)
def test_a_preview_error_is_shown_by_its_column(staff_client, invoice, split, parts, column, code):
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    data = {**schedule_post(invoice, key, split=split, **parts), "preview": "1"}
    response = staff_client.post(schedule_url(invoice), data, headers=htmx("schedule-preview"))
    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-code="{code}"' in content
    assert f"<p>{column}: " in content
    assert "<caption>Preview" not in content
    # The Preview button (no htmx) shows the form again with the error, 422.
    response = staff_client.post(schedule_url(invoice), data)
    assert response.status_code == 422
    assert f"{column}: " in text(response)


def test_out_of_order_dates_are_refused_on_the_due_dates(staff_client, invoice):
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    dates = [TODAY + 40 * DAY, TODAY + 10 * DAY, TODAY + 70 * DAY]
    before = record_counts()
    response = staff_client.post(
        schedule_url(invoice), schedule_post(invoice, key, dates=dates), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert 'data-code="invalid_date"' in response.content.decode()
    assert "Due dates: Instalments are due in order" in text(response)
    assert record_counts() == before


def test_a_date_that_is_not_one_is_a_field_error(staff_client, invoice):
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    data = schedule_post(invoice, key)
    data["due_date_2"] = "next week"
    before = record_counts()
    response = staff_client.post(schedule_url(invoice), data, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert "Write the date as YYYY-MM-DD" in response.content.decode()
    assert record_counts() == before


def test_saving_splits_the_invoice_once_per_key(staff_client, invoice):
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    data = schedule_post(invoice, key, split="fixed", amount=["50.00", "30.00", ""])
    for _ in range(2):
        response = staff_client.post(schedule_url(invoice), data, headers=htmx("modal-form"))
        assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    assert "is due in 3 instalments" in triggers(response)["showMessage"]["text"]
    amounts = [i.amount for i in Instalment.objects.filter(invoice=invoice)]
    assert amounts == [Money("50.00", "USD"), Money("30.00", "USD"), Money("20.00", "USD")]
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="schedule_set").count() == 1


def test_saving_without_javascript_redirects_to_the_invoice(staff_client, invoice):
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    response = staff_client.post(schedule_url(invoice), schedule_post(invoice, key))
    assert response.status_code == 302
    assert response["Location"] == invoice.get_absolute_url()
    assert Instalment.objects.filter(invoice=invoice).count() == 3


def test_editing_starts_from_the_schedule_and_may_not_change_a_paid_part(
    staff_client, invoice, clerk
):
    first, _, _ = schedule(invoice, clerk, first=TODAY + 5 * DAY)
    pay(invoice, clerk, "33.33")
    response = get_ok(staff_client, schedule_url(invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert "Edit schedule" in content
    assert 'value="fixed" id="id_split_2" required checked' in content
    assert 'name="amount_1" value="33.33"' in content and 'name="amount_3" value="33.34"' in content
    dates = [first.due_date + DAY, *monthly_due_dates(TODAY + 5 * DAY, 3)[1:]]
    data = schedule_post(invoice, form_key(response), dates=dates)
    before = record_counts()
    response = staff_client.post(schedule_url(invoice), data, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert 'data-code="instalment_already_paid"' in response.content.decode()
    assert record_counts() == before


def test_a_paid_invoice_cannot_be_split(staff_client, invoice, clerk):
    pay(invoice, clerk, "100.00")
    key = form_key(get_ok(staff_client, schedule_url(invoice)))
    data = {**schedule_post(invoice, key), "preview": "1"}
    response = staff_client.post(schedule_url(invoice), data, headers=htmx("schedule-parts"))
    assert response.status_code == 200
    assert 'data-code="invalid_state"' in response.content.decode()
    assert "only an open or partially paid invoice" in text(response)
    before = record_counts()
    response = staff_client.post(
        schedule_url(invoice), schedule_post(invoice, key), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert 'data-code="invalid_state"' in response.content.decode()
    assert record_counts() == before
    assert "Split into instalments" not in invoice_page(staff_client, invoice)


# -- removing ---------------------------------------------------------------------


def test_a_schedule_nothing_was_allocated_to_can_be_removed(staff_client, invoice, clerk):
    schedule(invoice, clerk)
    assert "Remove schedule" in invoice_page(staff_client, invoice)
    url = reverse("billing:invoice_schedule_remove", args=[invoice.pk])
    get_ok(staff_client, url, headers=htmx("modal"))
    response = staff_client.post(url, headers=htmx("modal-form"))
    assert response.status_code == 204
    invoice.refresh_from_db()
    assert not invoice.has_schedule and not Instalment.objects.filter(invoice=invoice).exists()


def test_removing_a_schedule_with_payments_is_refused_and_writes_nothing(
    staff_client, invoice, clerk
):
    schedule(invoice, clerk)
    pay(invoice, clerk, "5.00")
    before = record_counts()
    url = reverse("billing:invoice_schedule_remove", args=[invoice.pk])
    response = staff_client.post(url, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert 'data-code="invalid_state"' in response.content.decode()
    assert record_counts() == before


# -- recording a payment against one instalment --------------------------------------


def test_record_payment_for_a_part_prefills_what_is_left_on_it_and_names_it(
    staff_client, invoice, clerk
):
    _, second, _ = schedule(invoice, clerk)
    pay(invoice, clerk, "10.00")  # Pays the oldest part first: the first.
    response = get_ok(
        staff_client, f"{record_url(invoice)}?instalment={second.pk}", headers=htmx("modal")
    )
    content = response.content.decode()
    assert 'name="amount" value="33.33"' in content
    assert f'name="instalments" value="{second.pk}"' in content
    assert "For part 2 of the schedule" in content
    data = {
        "idempotency_key": form_key(response),
        "amount": "33.33",
        "paid_at": TODAY.isoformat(),
        "method": "cash",
        "instalments": str(second.pk),
    }
    response = staff_client.post(record_url(invoice), data, headers=htmx("modal-form"))
    assert response.status_code == 204
    second.refresh_from_db()
    assert second.amount_paid == Money("33.33", "USD")
    payment = Payment.objects.latest("pk")
    assert list(
        Allocation.objects.filter(payment=payment).values_list("instalment", flat=True)
    ) == [second.pk]


@pytest.mark.parametrize("tampered", ["other", "abc", "99999999999999999999999", "-1"])
def test_a_tampered_instalment_is_refused_with_its_code_and_writes_nothing(
    staff_client, invoice, clerk, tampered
):
    schedule(invoice, clerk)
    other = issued_invoice(invoice.customer, clerk, "50.00")
    (foreign, *_) = schedule(other, clerk)
    value = str(foreign.pk) if tampered == "other" else tampered
    response = get_ok(staff_client, record_url(invoice), headers=htmx("modal"))
    data = {
        "idempotency_key": form_key(response),
        "amount": "10.00",
        "paid_at": TODAY.isoformat(),
        "method": "cash",
        "instalments": value,
    }
    before = record_counts()
    response = staff_client.post(record_url(invoice), data, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert f'data-code="{ErrorCode.INSTALMENT_NOT_ON_INVOICE}"' in response.content.decode()
    assert record_counts() == before


def test_naming_a_paid_part_is_refused(staff_client, invoice, clerk):
    first, _, _ = schedule(invoice, clerk)
    pay(invoice, clerk, "33.33")
    response = get_ok(staff_client, record_url(invoice), headers=htmx("modal"))
    data = {
        "idempotency_key": form_key(response),
        "amount": "10.00",
        "paid_at": TODAY.isoformat(),
        "method": "cash",
        "instalments": str(first.pk),
    }
    before = record_counts()
    response = staff_client.post(record_url(invoice), data, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert f'data-code="{ErrorCode.INSTALMENT_ALREADY_PAID}"' in response.content.decode()
    assert record_counts() == before


def test_an_unknown_instalment_in_the_link_shows_the_plain_form(staff_client, invoice, clerk):
    schedule(invoice, clerk)
    response = get_ok(staff_client, f"{record_url(invoice)}?instalment=nope")
    content = response.content.decode()
    assert (
        'name="instalments" type="hidden"' in content
        or 'type="hidden" name="instalments"' in content
    )
    assert "For part" not in content and 'name="amount" value="100.00"' in content


# -- the invoice list and the dashboard ------------------------------------------------

LIST = reverse("billing:invoice_list")


def listed(response):
    return re.findall(r'<a href="/invoices/\d+/">([^<]+)</a>', response.content.decode())


def test_the_overdue_filter_counts_instalments_and_the_list_says_how_many_parts(
    staff_client, clerk
):
    customer = CustomerFactory()
    late_part = issued_invoice(customer, clerk)  # Due in 30 days; its first part is late.
    schedule(late_part, clerk, count=3, first=TODAY - 40 * DAY)
    current_parts = issued_invoice(customer, clerk)
    schedule(current_parts, clerk, first=TODAY + DAY)
    issued_invoice(customer, clerk)
    response = get_ok(staff_client, LIST, {"status": "overdue"})
    assert listed(response) == [late_part.number]
    assert "2 parts overdue since " + (TODAY - 40 * DAY).isoformat() in text(response)


def test_the_list_asks_no_more_queries_for_scheduled_invoices(staff_client, clerk):
    customer = CustomerFactory()
    for _ in range(3):
        issued_invoice(customer, clerk)
    plain = count_queries(staff_client, LIST)
    for _ in range(3):
        schedule(issued_invoice(customer, clerk), clerk)
    assert count_queries(staff_client, LIST) == plain
    assert count_queries(staff_client, LIST, query_params={"status": "overdue"}) == plain


def test_the_dashboard_lists_overdue_instalments_in_a_fixed_number_of_queries(staff_client, clerk):
    dashboard = reverse("billing:dashboard")
    empty = get_ok(staff_client, dashboard)
    assert "No instalment is overdue." in text(empty)
    few = count_queries(staff_client, dashboard)
    customer = CustomerFactory(name="Late Payer")
    for _ in range(3):
        schedule(issued_invoice(customer, clerk), clerk, first=TODAY - 40 * DAY)
    response = get_ok(staff_client, dashboard)
    content = response.content.decode()
    section = content[content.index('id="overdue-instalments"') :]
    assert section.count("Late Payer") >= 6  # Two late parts of each of three invoices.
    assert count_queries(staff_client, dashboard) == few


def test_without_javascript_preview_redraws_the_rows_and_shows_the_parts(staff_client, invoice):
    page = get_ok(staff_client, schedule_url(invoice))
    assert "<html" in page.content.decode() and "<dialog" in page.content.decode()
    data = {**schedule_post(invoice, form_key(page)), "preview": "1", "count": "2"}
    response = staff_client.post(schedule_url(invoice), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" in content and 'name="due_date_3"' not in content
    assert "<caption>Preview: nothing is saved yet</caption>" in content
    assert content.count("50.00 USD") == 4
    assert not Instalment.objects.exists()
