"""Charge: a customer's saved method through the gateway (views/payments.py)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from moneyed import Money

from billing.models import Payment, PaymentStatus
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY, OTHER_KEY, form_key, fresh
from tests.factories import CustomerFactory
from tests.helpers import (
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    saved_card,
    take_payment_sources,
    text,
    triggers,
    user_with,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return CustomerFactory(currency="JPY")


@pytest.fixture
def invoice(customer, clerk):
    return issued_invoice(customer, clerk, "48000")


@pytest.fixture
def card(customer, clerk):
    return saved_card(customer, clerk)


def url(invoice):
    return reverse("billing:payment_charge", args=[invoice.pk])


def data(card, **fields):
    return {"payment_method": card.pk, "amount": "48000", "idempotency_key": KEY, **fields}


def test_the_charge_modal_lists_the_saved_methods_with_the_default_chosen(
    clerk_client, clerk, customer, invoice, card
):
    other = saved_card(customer, clerk, last4="1111", default=False)
    response = clerk_client.get(url(invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert "Visa •••• 4242 · expires 12/2040 · default" in content
    assert "Visa •••• 1111 · expires 12/2040</label>" in content
    assert f'value="{card.pk}" id="id_payment_method_0" required checked' in content
    assert f'value="{other.pk}" id="id_payment_method_1" required>' in content
    assert '<label for="id_amount">Amount</label>' in content
    assert 'value="48000"' in content


def test_the_amount_is_prefilled_with_what_is_payable_in_the_currency_s_decimals(
    clerk_client, clerk
):
    customer = CustomerFactory(currency="KWD")
    saved_card(customer, clerk)
    invoice = issued_invoice(customer, clerk, "375.125")
    pay(invoice, clerk, "75")
    response = clerk_client.get(url(invoice), headers=htmx("modal"))
    assert 'value="300.125"' in response.content.decode()
    assert "due 300.125 KWD" in text(response)


def test_without_javascript_the_modal_is_a_page(clerk_client, invoice, card):
    assert "<html" in clerk_client.get(url(invoice)).content.decode()


def test_a_successful_charge_answers_htmx_with_events_and_pays_the_invoice(
    clerk_client, invoice, card
):
    response = clerk_client.post(url(invoice), data(card), headers=htmx("modal-form"))
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    assert triggers(response)["showMessage"] == {
        "text": f"Charged 48,000 JPY to Visa •••• 4242 for invoice {invoice.number}.",
        "level": "success",
    }
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", Money("48000", "JPY"))
    payment = Payment.objects.get()
    assert (payment.status, payment.method, payment.payment_method) == (
        "succeeded",
        "saved_method",
        card,
    )


def test_a_partial_charge_takes_the_amount_given(clerk_client, invoice, card):
    clerk_client.post(url(invoice), data(card, amount="8000"), headers=htmx("modal-form"))
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_due) == ("partially_paid", Money("40000", "JPY"))


def test_without_javascript_a_charge_redirects_with_the_message(clerk_client, invoice, card):
    response = clerk_client.post(url(invoice), data(card))
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:invoice_detail", args=[invoice.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Charged 48,000 JPY to Visa •••• 4242 for invoice {invoice.number}."
    ]


def test_a_declined_charge_keeps_the_modal_open_with_the_reason_and_a_failed_payment(
    clerk_client, clerk, customer, invoice
):
    declined = saved_card(customer, clerk, token="sandbox_declined", last4="0002")
    response = clerk_client.post(url(invoice), data(declined), headers=htmx("modal-form"))
    assert response.status_code == 422
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="modal-form"')
    assert "The charge was declined: Your card was declined." in text(response)
    assert 'data-code="payment_declined"' in content
    assert response.context["error_code"] == "payment_declined"
    # The failed attempt is on the invoice: the page behind the modal refreshes.
    assert triggers(response) == {"invoice-changed": {}}
    payment = Payment.objects.get()
    assert (payment.status, payment.failure_reason) == ("failed", "Your card was declined.")
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_due, invoice.amount_pending) == (
        "open",
        Money("48000", "JPY"),
        Money("0", "JPY"),
    )
    assert "Your card was declined." in invoice_page(clerk_client, invoice)


def test_after_a_decline_the_form_has_a_new_key_so_the_next_attempt_charges(
    clerk_client, clerk, customer, invoice
):
    declined = saved_card(customer, clerk, token="sandbox_declined", last4="0002")
    good = saved_card(customer, clerk, last4="4242", default=False)
    response = clerk_client.post(url(invoice), data(declined), headers=htmx("modal-form"))
    key = form_key(response)
    assert key != KEY
    retry = clerk_client.post(
        url(invoice), data(good, idempotency_key=key), headers=htmx("modal-form")
    )
    assert retry.status_code == 204
    assert fresh(invoice).status == "paid"
    assert sorted(Payment.objects.values_list("status", flat=True)) == ["failed", "succeeded"]


def test_without_javascript_a_declined_charge_shows_the_page_with_the_reason(
    clerk_client, clerk, customer, invoice
):
    declined = saved_card(customer, clerk, token="sandbox_insufficient_funds", last4="9995")
    response = clerk_client.post(url(invoice), data(declined))
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "The charge was declined: Your card has insufficient funds." in text(response)


def test_a_gateway_that_does_not_answer_leaves_the_charge_pending_with_a_warning(
    clerk_client, clerk, customer, invoice
):
    silent = saved_card(customer, clerk, token="sandbox_timeout_not_charged", last4="0119")
    response = clerk_client.post(url(invoice), data(silent), headers=htmx("modal-form"))
    assert response.status_code == 204
    message = triggers(response)["showMessage"]
    assert message["level"] == "warning"
    assert "did not answer" in message["text"] and "reconciliation" in message["text"]
    assert Payment.objects.get().status == PaymentStatus.PENDING
    assert fresh(invoice).amount_pending == Money("48000", "JPY")


def test_more_than_is_payable_is_refused_on_the_amount_and_writes_nothing(
    clerk_client, invoice, card
):
    before = record_counts()
    response = clerk_client.post(
        url(invoice), data(card, amount="50000"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert response.context["error_code"] == "overpayment"
    assert response.context["form"].errors["amount"]
    assert record_counts() == before


@pytest.mark.parametrize("amount", ["1.5", "0", "nope"])
def test_an_amount_that_does_not_parse_is_refused_with_422(clerk_client, invoice, card, amount):
    before = record_counts()
    response = clerk_client.post(
        url(invoice), data(card, amount=amount), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert response.context["form"].errors["amount"]
    assert record_counts() == before


def test_another_customer_s_method_cannot_be_chosen(clerk_client, clerk, invoice, card):
    stranger = saved_card(CustomerFactory(currency="JPY"), clerk, last4="7777")
    before = record_counts()
    response = clerk_client.post(url(invoice), data(stranger), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["form"].errors["payment_method"]
    assert record_counts() == before


def test_without_a_saved_method_the_service_s_refusal_shows(clerk_client, invoice):
    before = record_counts()
    response = clerk_client.post(
        url(invoice), {"amount": "48000", "idempotency_key": KEY}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert response.context["error_code"] == "no_saved_payment_method"
    assert "has no default saved payment method" in text(response)
    assert record_counts() == before


def test_a_paid_invoice_refuses_the_charge_above_the_form(clerk_client, clerk, invoice, card):
    pay(invoice, clerk, "48000")
    before = record_counts()
    response = clerk_client.post(url(invoice), data(card), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "invoice_not_payable"
    assert record_counts() == before


def test_a_double_submit_with_the_same_key_charges_once(clerk_client, invoice, card):
    first = clerk_client.post(url(invoice), data(card), headers=htmx("modal-form"))
    second = clerk_client.post(url(invoice), data(card), headers=htmx("modal-form"))
    assert (first.status_code, second.status_code) == (204, 204)
    assert Payment.objects.count() == 1
    assert fresh(invoice).amount_paid == Money("48000", "JPY")


def test_charging_needs_the_permission(client, invoice, card):
    client.force_login(user_with("record_payment"))
    before = record_counts()
    assert client.get(url(invoice)).status_code == 403
    response = client.post(url(invoice), data(card, idempotency_key=OTHER_KEY), headers=htmx())
    assert response.status_code == 403
    assert "charge saved payment methods" in response.content.decode()
    assert record_counts() == before


def test_take_payment_offers_the_card_with_the_permission_and_a_saved_method(
    clerk_client, invoice, card
):
    assert take_payment_sources(clerk_client, invoice)["card"] == url(invoice)


def test_take_payment_offers_no_card_without_a_saved_method(clerk_client, invoice):
    assert "card" not in take_payment_sources(clerk_client, invoice)


def test_take_payment_offers_no_card_without_the_permission(client, invoice, card):
    client.force_login(user_with("record_payment"))
    assert set(take_payment_sources(client, invoice)) == {"external"}


def test_take_payment_offers_no_card_on_a_paid_invoice(clerk_client, clerk, invoice, card):
    pay(invoice, clerk, "48000")
    assert take_payment_sources(clerk_client, invoice) == {}
