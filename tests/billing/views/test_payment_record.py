"""Record payment: money that arrived outside the system (views/payments.py)."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from moneyed import Money

from billing import selectors
from billing.models import CreditNote, CreditNoteReason, Payment, PaymentStatus
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY, OTHER_KEY, fresh
from tests.factories import CustomerFactory
from tests.helpers import (
    get_ok,
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    take_payment_sources,
    text,
    triggers,
    user_with,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(currency="JPY"), clerk, "48000")


def url(invoice):
    return reverse("billing:payment_record", args=[invoice.pk])


def data(**fields):
    return {
        "amount": "8000",
        "method": "cheque",
        "paid_at": datetime.date.today().isoformat(),
        "cheque_number": "123",
        "idempotency_key": KEY,
        **fields,
    }


def test_the_record_payment_modal_opens_as_a_dialog_for_htmx(clerk_client, invoice):
    response = clerk_client.get(url(invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert 'value="48000"' in content
    assert f'value="{datetime.date.today():%Y-%m-%d}"' in content
    assert 'name="idempotency_key"' in content


def test_without_javascript_the_modal_is_a_page_with_the_dialog_open(clerk_client, invoice):
    content = clerk_client.get(url(invoice)).content.decode()
    assert "<html" in content
    assert '<dialog id="modal-dialog" class="modal" aria-labelledby="modal-title" open>' in content


def test_the_fields_carry_exactly_their_labels_with_the_currency_outside_the_label(
    clerk_client, invoice
):
    content = get_ok(clerk_client, url(invoice), headers=htmx("modal")).content.decode()
    for field, label in [
        ("amount", "Amount"),
        ("paid_at", "Payment date"),
        ("method", "Method"),
        ("cheque_number", "Cheque number"),
        ("card_brand", "Card brand"),
        ("card_last4", "Last 4 digits"),
        ("reference", "Reference"),
        ("notes", "Notes"),
    ]:
        assert f'<label for="id_{field}">{label}</label>' in content
    assert '<span class="suffix">JPY</span>' in content
    for method in ("Cash", "Cheque", "Bank transfer", "Card terminal", "Other"):
        assert f">{method}</option>" in content
    assert "Saved payment method" not in content and "Customer credit" not in content


@pytest.mark.parametrize(
    ("currency", "price", "value", "due"),
    [("JPY", "48000", "48000", "48,000 JPY"), ("KWD", "375.125", "375.125", "375.125 KWD")],
)
def test_the_modal_shows_amounts_in_the_currency_s_own_decimals(
    clerk_client, clerk, currency, price, value, due
):
    invoice = issued_invoice(CustomerFactory(currency=currency), clerk, price)
    response = clerk_client.get(url(invoice), headers=htmx("modal"))
    assert f'value="{value}"' in response.content.decode()
    assert f"due {due}" in text(response)


def test_recording_a_payment_answers_htmx_with_events_and_writes_the_amounts(clerk_client, invoice):
    response = clerk_client.post(url(invoice), data(), headers=htmx("modal-form"))
    assert response.status_code == 204
    assert list(triggers(response)) == [
        "invoice-changed",
        "customer-changed",
        "showMessage",
        "closeModal",
    ]
    assert triggers(response)["showMessage"]["text"] == (
        f"Recorded 8,000 JPY on {invoice.number}: Cheque #123."
    )
    invoice = fresh(invoice)
    assert invoice.amount_paid == Money("8000", "JPY")
    assert invoice.amount_due == Money("40000", "JPY")
    assert invoice.status == "partially_paid"
    payment = Payment.objects.get()
    assert (payment.method, payment.cheque_number, payment.paid_at) == (
        "cheque",
        "123",
        datetime.date.today(),
    )


def test_without_javascript_the_form_is_a_page_and_success_redirects(clerk_client, invoice):
    response = clerk_client.post(url(invoice), data())
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:invoice_detail", args=[invoice.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Recorded 8,000 JPY on {invoice.number}: Cheque #123."
    ]


def test_a_bank_transfer_keeps_its_reference_as_the_bank_reference(clerk_client, invoice):
    fields = data(method="bank_transfer", cheque_number="999", reference="TRX-1")
    clerk_client.post(url(invoice), fields, headers=htmx("modal-form"))
    payment = Payment.objects.get()
    assert (payment.bank_reference, payment.reference, payment.cheque_number) == ("TRX-1", "", "")
    assert "Bank transfer (ref TRX-1)" in invoice_page(clerk_client, invoice)


def test_only_the_chosen_method_s_details_are_kept(clerk_client, invoice):
    fields = data(method="card", card_brand="visa", card_last4="4242", reference="R-9")
    clerk_client.post(url(invoice), fields, headers=htmx("modal-form"))
    payment = Payment.objects.get()
    assert (payment.card_brand, payment.card_last4, payment.cheque_number) == ("visa", "4242", "")
    assert payment.reference == "R-9"


def test_an_overpayment_without_the_choice_is_refused_and_offers_the_excess(clerk_client, invoice):
    before = record_counts()
    response = clerk_client.post(url(invoice), data(amount="50000"), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<form id="modal-form"')
    assert response.context["error_code"] == "overpayment"
    page = text(response)
    assert "The amount is more than the 48,000 JPY due" in page
    assert "Send the excess of 2,000 JPY to customer credit" in page
    assert record_counts() == before


def test_without_javascript_an_overpayment_re_renders_the_page_with_the_excess_choice(
    clerk_client, invoice
):
    response = clerk_client.post(url(invoice), data(amount="50000"))
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "Send the excess of 2,000 JPY to customer credit" in text(response)


def test_an_overpayment_with_the_choice_sends_the_excess_to_customer_credit(clerk_client, invoice):
    response = clerk_client.post(
        url(invoice), data(amount="50000", excess_to_credit="on"), headers=htmx("modal-form")
    )
    assert response.status_code == 204
    assert "2,000 JPY went to customer credit" in triggers(response)["showMessage"]["text"]
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", Money("48000", "JPY"))
    assert Payment.objects.get().amount_to_credit == Money("2000", "JPY")
    assert selectors.customer_credit(customer=invoice.customer, currency="JPY") == Money(
        "2000", "JPY"
    )


def test_writing_off_the_rest_settles_the_invoice_with_a_write_off_credit_note(
    staff_client, invoice
):
    response = staff_client.post(
        url(invoice), data(amount="40000", rest="write_off"), headers=htmx("modal-form")
    )
    assert response.status_code == 204
    invoice = fresh(invoice)
    assert invoice.status == "paid"
    assert invoice.amount_paid == Money("40000", "JPY")
    assert invoice.amount_credited == Money("8000", "JPY")
    note = CreditNote.objects.get()
    assert (note.reason, note.reduce_due) == (CreditNoteReason.WRITE_OFF, Money("8000", "JPY"))


def test_keeping_the_invoice_open_is_the_default_for_a_short_payment(clerk_client, invoice):
    clerk_client.post(url(invoice), data(amount="40000"), headers=htmx("modal-form"))
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_due) == ("partially_paid", Money("8000", "JPY"))
    assert not CreditNote.objects.exists()


def test_a_choice_left_over_from_another_amount_is_ignored(clerk_client, invoice):
    fields = data(amount="40000", excess_to_credit="on", rest="keep")
    response = clerk_client.post(url(invoice), fields, headers=htmx("modal-form"))
    assert response.status_code == 204
    assert Payment.objects.get().amount_to_credit == Money("0", "JPY")


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("50000", "Send the excess of 2,000 JPY to customer credit"),
        ("40000", "That leaves 8,000 JPY of the 48,000 JPY due."),
    ],
)
def test_typing_an_amount_updates_what_happens_above_or_below_the_due_and_writes_nothing(
    clerk_client, invoice, amount, shown
):
    before = record_counts()
    response = clerk_client.post(
        url(invoice), data(amount=amount, cheque_number=""), headers=htmx("payment-outcome")
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="payment-outcome"')
    assert shown in text(response)
    assert "This field is required" not in text(response)
    assert record_counts() == before


def test_below_the_due_the_choice_is_to_keep_the_invoice_open_or_write_off_the_rest(
    staff_client, invoice
):
    response = staff_client.post(
        url(invoice), data(amount="40000"), headers=htmx("payment-outcome")
    )
    content = response.content.decode()
    assert "Keep the invoice open for the rest</label>" in content
    assert "Write off the rest</label>" in content
    assert 'value="keep" id="id_rest_0" checked' in content


def test_the_amount_of_the_due_needs_no_choice(clerk_client, invoice):
    response = clerk_client.post(
        url(invoice), data(amount="48000"), headers=htmx("payment-outcome")
    )
    assert response.status_code == 200
    assert text(response) == ""


def test_a_clerk_who_may_not_issue_credit_notes_cannot_write_off_the_rest(clerk_client, invoice):
    shown = clerk_client.post(url(invoice), data(amount="40000"), headers=htmx("payment-outcome"))
    assert shown.status_code == 200
    assert "Write off the rest" not in shown.content.decode()
    before = record_counts()
    response = clerk_client.post(
        url(invoice), data(amount="40000", rest="write_off"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert record_counts() == before


def test_without_javascript_the_page_offers_both_choices_up_front(staff_client, invoice):
    page = text(staff_client.get(url(invoice)))
    assert "If the amount is less than the 48,000 JPY due" in page
    assert "Write off the rest" in page
    assert "If it is more, send the excess to customer credit" in page


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"paid_at": "2999-01-01"}, "paid_at", "invalid_date"),
        ({"paid_at": "0001-01-01"}, "paid_at", "invalid_date"),
        # One way of writing a date: 01/02/26 is not guessed as US month/day.
        ({"paid_at": "01/02/26"}, "paid_at", None),
        ({"cheque_number": ""}, "cheque_number", "invalid_value"),
        ({"method": "card", "card_brand": "visa", "card_last4": "42"}, "card_last4", None),
    ],
)
def test_a_refused_payment_shows_the_error_on_its_field_with_422_and_writes_nothing(
    clerk_client, invoice, fields, field, code
):
    before = record_counts()
    response = clerk_client.post(url(invoice), data(**fields), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    if code:
        assert response.context["error_code"] == code
    assert record_counts() == before


@pytest.mark.parametrize("amount", ["10.5", "0", "-5", "abc", "100000000000"])
def test_an_amount_that_does_not_parse_is_refused_with_422_and_writes_nothing(
    clerk_client, invoice, amount
):
    before = record_counts()
    response = clerk_client.post(url(invoice), data(amount=amount), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["form"].errors["amount"]
    assert record_counts() == before


def test_a_paid_invoice_refuses_the_payment_above_the_form(clerk_client, clerk, invoice):
    pay(invoice, clerk, "48000")
    before = record_counts()
    response = clerk_client.post(url(invoice), data(), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "invoice_not_payable"
    assert response.context["form"].non_field_errors() == [
        f"Invoice {invoice.number} is paid and cannot be paid."
    ]
    assert 'data-code="invoice_not_payable"' in response.content.decode()
    assert record_counts() == before


def test_a_double_submit_with_the_same_key_records_once(clerk_client, invoice):
    first = clerk_client.post(url(invoice), data(), headers=htmx("modal-form"))
    second = clerk_client.post(url(invoice), data(), headers=htmx("modal-form"))
    assert (first.status_code, second.status_code) == (204, 204)
    assert Payment.objects.count() == 1
    assert fresh(invoice).amount_paid == Money("8000", "JPY")


def test_the_same_key_with_another_request_is_refused(clerk_client, invoice):
    clerk_client.post(url(invoice), data(), headers=htmx("modal-form"))
    before = record_counts()
    response = clerk_client.post(url(invoice), data(amount="9000"), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "idempotency_conflict"
    assert record_counts() == before


def test_a_corrected_form_may_reuse_the_key_of_a_refused_request(clerk_client, invoice):
    refused = clerk_client.post(url(invoice), data(amount="99999"), headers=htmx("modal-form"))
    assert refused.status_code == 422
    assert f'value="{KEY}"' in refused.content.decode()
    response = clerk_client.post(url(invoice), data(), headers=htmx("modal-form"))
    assert response.status_code == 204


def test_recording_needs_the_permission(client, invoice):
    client.force_login(user_with("charge_payment"))
    before = record_counts()
    assert client.get(url(invoice)).status_code == 403
    response = client.post(url(invoice), data(idempotency_key=OTHER_KEY), headers=htmx())
    assert response.status_code == 403
    assert "record payments" in response.content.decode()
    assert record_counts() == before


def test_staff_without_view_billing_get_403(client, nobody, invoice):
    client.force_login(nobody)
    assert client.post(url(invoice), data()).status_code == 403


def test_take_payment_offers_it_with_the_permission_on_a_payable_invoice(clerk_client, invoice):
    assert take_payment_sources(clerk_client, invoice)["external"] == url(invoice)


def test_take_payment_does_not_offer_it_without_the_permission(client, invoice):
    client.force_login(user_with())
    assert "Record payment" not in invoice_page(client, invoice)
    assert take_payment_sources(client, invoice) == {}


def test_take_payment_does_not_offer_it_on_a_paid_invoice(clerk_client, clerk, invoice):
    pay(invoice, clerk, "48000")
    assert "external" not in take_payment_sources(clerk_client, invoice)


def test_a_refused_post_keeps_the_payment_status_untouched(clerk_client, clerk, invoice):
    payment = pay(invoice, clerk, "1000")
    clerk_client.post(url(invoice), data(amount="99999"), headers=htmx("modal-form"))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
