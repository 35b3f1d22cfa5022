"""The defects clerks and finance managers found (issue 10), each held by a test
that failed before its fix. Browser-side ones (the phone header, focus after a
modal) are in tests/browser/test_defects.py."""

import csv
import datetime
import io
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from moneyed import Money

from billing import selectors, services
from billing.models import Payment
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY, fresh
from tests.factories import CustomerFactory
from tests.helpers import (
    get_ok,
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    refund_to_card,
    saved_card,
    text,
    triggers,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def record_url(invoice):
    return reverse("billing:payment_record", args=[invoice.pk])


def record(client, invoice, **fields):
    """Post the record-payment form as htmx does."""
    data = {
        "amount": "10.00",
        "method": "cash",
        "paid_at": TODAY.isoformat(),
        "idempotency_key": KEY,
        **fields,
    }
    return client.post(record_url(invoice), data, headers=htmx("modal-form"))


def exported_payments(client):
    response = client.get(reverse("billing:payment_export"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    return body, {
        row["payment_id"]: row for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
    }


# -- 1. the payments CSV carries what the clerk typed -----------------------------------


def test_the_payments_export_carries_each_method_s_details_in_their_columns(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "1000.00")
    for fields in (
        {"method": "bank_transfer", "reference": "ACME-TRF-88812"},
        {"method": "cheque", "cheque_number": "104233"},
        {"method": "card", "card_brand": "Visa", "card_last4": "4242", "reference": "POS 7"},
    ):
        response = record(staff_client, invoice, idempotency_key=str(uuid.uuid4()), **fields)
        assert response.status_code == 204, response.content.decode()[:500]
    transfer, cheque, terminal = invoice.payments.order_by("pk")
    card_invoice = issued_invoice(invoice.customer, manager, "50.00")
    saved_card(invoice.customer, manager, brand="visa", last4="1881")
    charge = services.payment_charge(invoice=card_invoice, actor=manager)

    _, rows = exported_payments(staff_client)

    row = rows[str(transfer.pk)]
    assert row["reference"] == "ACME-TRF-88812"
    assert row["bank_reference"] == "ACME-TRF-88812"
    assert row["method_details"] == "Bank transfer (ref ACME-TRF-88812)"
    row = rows[str(cheque.pk)]
    assert (row["cheque_number"], row["method_details"]) == ("104233", "Cheque #104233")
    row = rows[str(terminal.pk)]
    assert (row["card_brand"], row["card_last4"], row["reference"]) == ("Visa", "4242", "POS 7")
    row = rows[str(charge.pk)]
    assert (row["method"], row["card_brand"], row["card_last4"]) == (
        "saved_method",
        "Visa",
        "1881",
    )
    assert row["method_details"] == "Visa •••• 1881"


def test_the_payments_export_starts_with_a_bom_so_excel_reads_accents(staff_client, manager):
    customer = CustomerFactory(name="Bäckerei Müller GmbH", currency="EUR")
    payment = pay(issued_invoice(customer, manager, "89.90"), manager, "89.90")
    body, rows = exported_payments(staff_client)
    assert body.startswith(b"\xef\xbb\xbfpayment_id,")
    assert rows[str(payment.pk)]["customer"] == "Bäckerei Müller GmbH"


def test_the_new_detail_columns_are_defused_like_every_other_cell(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    payment = pay(
        invoice,
        manager,
        "10.00",
        method="bank_transfer",
        details={"bank_reference": "=HYPERLINK(1)"},
    )
    _, rows = exported_payments(staff_client)
    row = rows[str(payment.pk)]
    assert row["bank_reference"] == "'=HYPERLINK(1)"
    assert row["reference"] == "'=HYPERLINK(1)"


# -- 2. amounts as people type them ----------------------------------------------------


def test_the_record_form_takes_grouped_amounts_and_refuses_exponents(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "2000.00")
    before = record_counts()
    refused = record(staff_client, invoice, amount="1e3")
    assert refused.status_code == 422
    assert [e.code for e in refused.context["form"].errors.as_data()["amount"]] == [
        "invalid_amount"
    ]
    assert record_counts() == before
    accepted = record(staff_client, invoice, amount="1,000.00")
    assert accepted.status_code == 204
    assert invoice.payments.get().amount == Money("1000.00", "USD")


# -- 9. Retry only on the latest failed attempt --------------------------------------------


@pytest.fixture
def declined_twice_then_paid(manager):
    """Declined twice on one card, paid with another, then partly refunded: the
    invoice is payable again and its old failures are history."""
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    declined = saved_card(invoice.customer, manager, "sandbox_declined", last4="0002")
    first = services.payment_charge(invoice=invoice, actor=manager, payment_method=declined)
    second = services.payment_charge(invoice=invoice, actor=manager, payment_method=declined)
    assert (first.status, second.status) == ("failed", "failed")
    good = saved_card(invoice.customer, manager, "sandbox_ok", last4="4242")
    paid = services.payment_charge(invoice=invoice, actor=manager, payment_method=good)
    assert paid.status == "succeeded"
    refund_to_card(paid, manager, "30.00")
    invoice = fresh(invoice)
    assert invoice.can_take_payment
    return invoice, first, second


def test_old_failed_attempts_offer_no_retry_once_a_later_charge_was_made(
    staff_client, declined_twice_then_paid
):
    invoice, first, second = declined_twice_then_paid
    page = invoice_page(staff_client, invoice)
    assert ">Retry</a>" not in page
    assert not first.can_retry and not second.can_retry
    assert list(Payment.objects.retryable()) == []


def test_the_retry_service_refuses_an_old_failed_attempt_and_writes_nothing(
    staff_client, declined_twice_then_paid
):
    _, first, second = declined_twice_then_paid
    before = record_counts()
    for old in (first, second):
        response = staff_client.post(
            reverse("billing:payment_retry", args=[old.pk]),
            {"idempotency_key": KEY},
            headers=htmx("modal-form"),
        )
        assert response.status_code == 422
        assert response.context["error_code"] == "invalid_state"
        assert "only the latest failed attempt" in text(response)
    assert record_counts() == before


def test_retry_is_offered_on_the_latest_failed_attempt_only_while_something_is_payable(
    staff_client, manager
):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    saved_card(invoice.customer, manager, "sandbox_declined")
    first = services.payment_charge(invoice=invoice, actor=manager)
    latest = services.payment_charge(invoice=invoice, actor=manager)
    page = invoice_page(staff_client, invoice)
    assert page.count(">Retry</a>") == 1
    assert reverse("billing:payment_retry", args=[latest.pk]) in page
    assert reverse("billing:payment_retry", args=[first.pk]) not in page
    assert list(Payment.objects.retryable()) == [latest]
    pay(invoice, manager, "100.00")
    assert ">Retry</a>" not in invoice_page(staff_client, invoice)
    assert not Payment.objects.get(pk=latest.pk).can_retry
    assert list(Payment.objects.retryable()) == []


def test_the_retry_command_skips_attempts_a_later_charge_followed(
    manager, declined_twice_then_paid
):
    due = selectors.charges_due_for_retry(max_attempts=5, spacing=datetime.timedelta(0))
    assert list(due) == []


def test_the_payments_region_asks_whether_each_row_is_the_latest_attempt_in_one_query(
    staff_client, manager
):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    saved_card(invoice.customer, manager, "sandbox_declined")
    url = reverse("billing:invoice_detail", args=[invoice.pk])

    def region_queries():
        with CaptureQueriesContext(connection) as captured:
            get_ok(staff_client, url, headers=htmx("payments"))
        return len(captured)

    services.payment_charge(invoice=invoice, actor=manager)
    few = region_queries()
    for _ in range(3):
        services.payment_charge(invoice=invoice, actor=manager)
    assert region_queries() == few


# -- 11. the admin's void asks for confirmation and a reason --------------------------


def test_the_admin_void_action_first_asks_for_a_reason_on_a_confirmation_page(
    admin_client, manager
):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    cash = pay(invoice, manager, "40.00")
    changelist = reverse("admin:billing_payment_changelist")
    before = record_counts()
    response = admin_client.post(
        changelist, {"action": "void_payments", "_selected_action": [cash.pk]}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "are you sure?" in content and 'name="reason"' in content
    assert 'name="post" value="yes"' in content and str(cash) in content
    assert record_counts() == before

    response = admin_client.post(
        changelist,
        {"action": "void_payments", "_selected_action": [cash.pk], "post": "yes", "reason": ""},
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert record_counts() == before

    response = admin_client.post(
        changelist,
        {
            "action": "void_payments",
            "_selected_action": [cash.pk],
            "post": "yes",
            "reason": "Typed on the wrong invoice",
        },
    )
    assert response.status_code == 302
    cash.refresh_from_db()
    assert (cash.status, cash.void_reason) == ("voided", "Typed on the wrong invoice")


def test_the_admin_void_confirmation_sets_apart_what_cannot_be_voided(admin_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    saved_card(invoice.customer, manager)
    charge = services.payment_charge(invoice=invoice, actor=manager, amount=Money("50", "USD"))
    response = admin_client.post(
        reverse("admin:billing_payment_changelist"),
        {"action": "void_payments", "_selected_action": [charge.pk]},
    )
    assert response.status_code == 200
    assert f"{charge}: only a payment recorded by hand" in text(response)
    assert "Yes, void them" not in response.content.decode()


# -- 12. the small ones --------------------------------------------------------------


def test_the_record_toast_names_a_bank_transfer_without_double_parentheses(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    response = record(staff_client, invoice, method="bank_transfer", reference="X-1")
    assert response.status_code == 204
    message = triggers(response)["showMessage"]["text"]
    assert "((" not in message and "))" not in message
    assert message == f"Recorded 10.00 USD on {invoice.number}: Bank transfer (ref X-1)."


def test_the_timeline_writes_a_card_as_the_payments_table_does(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    saved_card(invoice.customer, manager, brand="visa", last4="4242")
    services.payment_charge(invoice=invoice, actor=manager)
    recorded = issued_invoice(invoice.customer, manager, "100.00")
    pay(recorded, manager, "10.00", method="cheque", details={"cheque_number": "77"})
    page = invoice_page(staff_client, invoice)
    assert "visa •••• 4242" not in page
    assert page.count("Visa •••• 4242") >= 3  # the table, "Charge started", "Payment succeeded"
    assert "Cheque #77" in text(get_ok(staff_client, recorded.get_absolute_url()))
    assert recorded.events.get(kind="payment_recorded").message == "Cheque #77"


# -- 3. a payment dated before the invoice was issued ------------------------------------


def test_a_payment_dated_before_the_issue_date_asks_the_clerk_to_confirm_it(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    early = invoice.issue_date - datetime.timedelta(days=3)
    before = record_counts()
    response = record(staff_client, invoice, paid_at=early.isoformat())
    assert response.status_code == 422
    errors = response.context["form"].errors.as_data()["paid_at"]
    assert [e.code for e in errors] == ["date_before_issue"]
    content = response.content.decode()
    assert f"is before invoice {invoice.number} was issued" in text(response)
    assert '<label class="check"><input type="checkbox" name="date_confirmed"' in content
    assert "The payment date is right" in content
    assert record_counts() == before

    confirmed = record(staff_client, invoice, paid_at=early.isoformat(), date_confirmed="on")
    assert confirmed.status_code == 204
    assert invoice.payments.get().paid_at == early


def test_a_payment_dated_on_or_after_the_issue_date_needs_no_confirmation(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    shown = get_ok(staff_client, record_url(invoice), headers=htmx("modal"))
    assert 'name="date_confirmed"' not in shown.content.decode()
    response = record(staff_client, invoice, paid_at=invoice.issue_date.isoformat())
    assert response.status_code == 204


def test_a_confirmed_date_is_still_held_to_the_service_s_hard_limits(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    before = record_counts()
    response = record(staff_client, invoice, paid_at="1999-01-01", date_confirmed="on")
    assert response.status_code == 422
    assert response.context["error_code"] == "invalid_date"
    assert record_counts() == before


# -- 10. "Check status" on what the gateway left pending ---------------------------------


def check_status_url(payment):
    return reverse("billing:payment_check_status", args=[payment.pk])


def pending_charge(actor, token):
    invoice = issued_invoice(CustomerFactory(), actor, "100.00")
    saved_card(invoice.customer, actor, token)
    payment = services.payment_charge(invoice=invoice, actor=actor)
    assert payment.status == "pending"
    return invoice, payment


def test_check_status_settles_a_pending_charge_the_gateway_took(staff_client, manager):
    invoice, payment = pending_charge(manager, "sandbox_timeout_charged")
    page = invoice_page(staff_client, invoice)
    assert f'href="{check_status_url(payment)}"' in page and ">Check status</a>" in page
    shown = get_ok(staff_client, check_status_url(payment), headers=htmx("modal"))
    assert "Ask the gateway" in shown.content.decode()

    response = staff_client.post(check_status_url(payment), {}, headers=htmx("modal-form"))
    assert response.status_code == 204
    message = triggers(response)["showMessage"]
    assert message["level"] == "success"
    assert f"Payment #{payment.pk} ({invoice.number}): succeeded." in message["text"]
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert fresh(invoice).status == "paid"
    assert ">Check status</a>" not in invoice_page(staff_client, invoice)


def test_check_status_leaves_a_recent_charge_the_gateway_does_not_know_pending(
    staff_client, manager, settings
):
    invoice, payment = pending_charge(manager, "sandbox_timeout_not_charged")
    before = record_counts()
    response = staff_client.post(check_status_url(payment), {}, headers=htmx("modal-form"))
    assert response.status_code == 204
    message = triggers(response)["showMessage"]
    assert message["level"] == "warning" and "too recent" in message["text"]
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert record_counts() == before

    # Once it is old enough to have landed if it ever would, it is failed.
    settings.BILLING_RECONCILE_AFTER_SECONDS = 0
    response = staff_client.post(check_status_url(payment), {}, headers=htmx("modal-form"))
    assert response.status_code == 204
    assert Payment.objects.get(pk=payment.pk).status == "failed"
    assert fresh(invoice).amount_pending == Money("0", "USD")


def test_check_status_settles_a_pending_refund_from_its_row(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    saved_card(invoice.customer, manager, "sandbox_refund_timeout")
    payment = services.payment_charge(invoice=invoice, actor=manager)
    refund = refund_to_card(payment, manager, "30.00")
    assert refund.status == "pending"
    page = invoice_page(staff_client, invoice)
    assert page.count(">Check status</a>") == 1
    response = staff_client.post(check_status_url(payment), {}, headers=htmx("modal-form"))
    assert response.status_code == 204
    refund.refresh_from_db()
    assert refund.status == "succeeded"


def test_check_status_of_a_settled_payment_is_refused_and_writes_nothing(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    cash = pay(invoice, manager, "10.00")
    before = record_counts()
    response = staff_client.post(check_status_url(cash), {}, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "invalid_state"
    assert record_counts() == before


def test_the_periodic_runner_settles_what_is_pending(manager):
    from django.core.management import call_command

    invoice, payment = pending_charge(manager, "sandbox_timeout_charged")
    out = io.StringIO()
    call_command(
        "reconcile_periodically",
        actor="manager",
        every=1,
        older_than=0,
        rounds=1,
        stdout=out,
    )
    assert f"payment #{payment.pk} ({invoice.number}): succeeded" in out.getvalue()
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


# -- 12. `make run HOST=...` prints the login where the server listens -------------------


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0:9000", "http://127.0.0.1:9000/"),
        ("localhost:8123", "http://localhost:8123/"),
        ("8080", "http://127.0.0.1:8080/"),
    ],
)
def test_load_demo_prints_the_login_at_the_host_the_server_listens_on(host, url):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("load_demo", host=host, stdout=out)
    assert f"at {url} " in out.getvalue()


def test_make_run_passes_its_host_to_the_login_line_and_the_readme_names_it():
    from django.conf import settings

    makefile = (settings.BASE_DIR / "Makefile").read_text()
    assert "load_demo --host $(HOST)" in makefile
    # The server runs from the script that starts the workers beside it.
    assert "serve_with_worker.sh $(BIN)/python $(HOST)" in makefile
    script = (settings.BASE_DIR / "scripts" / "serve_with_worker.sh").read_text()
    assert "host=$2" in script
    assert 'runserver "$host"' in script
    readme = (settings.BASE_DIR / "README.md").read_text()
    assert "make run HOST=" in readme


# -- 12. currency filters offer the currencies with data; drafts are not "#n" ------------


def currency_options(response):
    import re

    select = re.search(r'<select name="currency".*?</select>', response.content.decode(), re.S)
    assert select, "no currency filter"
    return re.findall(r'<option value="([^"]*)"', select.group(0))


@pytest.mark.parametrize(
    "list_name", ["billing:invoice_list", "billing:payment_list", "billing:credit_note_list"]
)
def test_the_currency_filters_offer_only_currencies_with_data(staff_client, manager, list_name):
    yen = issued_invoice(CustomerFactory(currency="JPY"), manager, "48000")
    euro = issued_invoice(CustomerFactory(currency="EUR"), manager, "100.00")
    pay(yen, manager, "1000")
    pay(euro, manager, "10.00")
    services.credit_note_issue(
        invoice=yen, actor=manager, reason="goodwill", reduce_due=Money("100", "JPY")
    )
    services.credit_note_issue(
        invoice=euro, actor=manager, reason="goodwill", reduce_due=Money("1.00", "EUR")
    )
    url = reverse(list_name)
    assert currency_options(get_ok(staff_client, url)) == ["", "EUR", "JPY"]
    # A link to a currency without rows still parses: an empty list, offered as chosen.
    response = get_ok(staff_client, url, {"currency": "GBP"})
    assert currency_options(response) == ["", "EUR", "GBP", "JPY"]
    assert not response.context["form"].errors


def test_the_invoice_list_shows_a_draft_without_a_number_like_one(staff_client, manager):
    customer = CustomerFactory()
    issued = issued_invoice(customer, manager, "10.00")
    draft = services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "Work", "quantity": 1, "unit_price": Money("5.00", "USD")}],
        actor=manager,
    )
    page = text(get_ok(staff_client, reverse("billing:invoice_list")))
    assert f"Draft #{draft.pk}" not in page
    assert "Draft not numbered yet" in page and issued.number in page


# -- 8. a refund to credit says why in the ledger -----------------------------------------


def test_a_refund_to_credit_shows_its_reason_and_notes_in_the_ledger(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    payment = pay(invoice, manager, "100.00")
    services.payment_refund(
        payment=payment,
        amount=Money("30.00", "USD"),
        destination="customer_credit",
        actor=manager,
        reason="requested_by_customer",
        notes="Kept for the spring order",
    )
    url = reverse("billing:customer_detail", args=[invoice.customer_id])
    ledger = text(get_ok(staff_client, url, headers=htmx("ledger")))
    assert "Requested by customer — Kept for the spring order" in ledger


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_failed_charge_make_one_new_attempt(manager):
    from billing.errors import BillingError
    from billing.integrity import find_disagreements
    from billing.models import PaymentMethod
    from tests.helpers import run_together

    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    card = saved_card(invoice.customer, manager, "sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=manager)
    PaymentMethod.objects.filter(pk=card.pk).update(token="sandbox_ok")  # the card works now

    results, errors = run_together(
        6, lambda i: services.payment_retry(payment=failed, actor=manager, idempotency_key=f"r{i}")
    )
    # The first new attempt makes the failed one history: every other retry is
    # refused under the invoice's lock (or finds nothing left to charge).
    assert len(results) == 1, errors
    for exc in errors.values():
        assert isinstance(exc, BillingError) and exc.code in ("invalid_state", "overpayment"), exc
    assert invoice.payments.count() == 2
    assert fresh(invoice).status == "paid"
    assert find_disagreements() == []
