"""Retry: charge a failed charge's saved method again (views/payments.py)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.models import Payment, PaymentMethod
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY, form_key, fresh
from tests.factories import CustomerFactory
from tests.helpers import (
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    saved_card,
    text,
    triggers,
    user_with,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(currency="JPY"), clerk, "48000")


@pytest.fixture
def failed(invoice, clerk):
    """A declined charge of the whole due."""
    saved_card(invoice.customer, clerk, token="sandbox_declined", last4="0002")
    payment = services.payment_charge(invoice=invoice, actor=clerk)
    assert payment.status == "failed"
    return payment


def card_fixed(payment):
    """The customer sorted the card out: the same saved method now charges fine.
    (A test shortcut: saved methods are not money records.)"""
    PaymentMethod.objects.filter(pk=payment.payment_method_id).update(token="sandbox_ok")


def url(payment):
    return reverse("billing:payment_retry", args=[payment.pk])


def data(**fields):
    return {"idempotency_key": KEY, **fields}


def test_the_retry_modal_shows_the_amount_and_the_method(clerk_client, failed):
    response = clerk_client.get(url(failed), headers=htmx("modal"))
    assert response.content.decode().lstrip().startswith('<dialog id="modal-dialog"')
    page = text(response)
    assert "Card Visa •••• 0002" in page
    assert "To charge 48,000 JPY" in page
    assert "failed: Your card was declined." in page


def test_the_retry_charges_what_is_payable_now_if_that_is_less(
    clerk_client, clerk, invoice, failed
):
    pay(invoice, clerk, "8000")
    page = text(clerk_client.get(url(failed), headers=htmx("modal")))
    assert "To charge 40,000 JPY" in page


def test_the_modal_shows_kwd_amounts_with_three_decimals(clerk_client, clerk):
    invoice = issued_invoice(CustomerFactory(currency="KWD"), clerk, "375.125")
    saved_card(invoice.customer, clerk, token="sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=clerk)
    assert "To charge 375.125 KWD" in text(clerk_client.get(url(failed), headers=htmx("modal")))


def test_without_javascript_the_modal_is_a_page(clerk_client, failed):
    assert "<html" in clerk_client.get(url(failed)).content.decode()


def test_a_successful_retry_answers_htmx_with_events_and_pays_the_invoice(
    clerk_client, invoice, failed
):
    card_fixed(failed)
    response = clerk_client.post(url(failed), data(), headers=htmx("modal-form"))
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    assert triggers(response)["showMessage"]["text"] == (
        f"Charged 48,000 JPY to Visa •••• 0002 for invoice {invoice.number}."
    )
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", Money("48000", "JPY"))
    assert list(Payment.objects.order_by("pk").values_list("status", flat=True)) == [
        "failed",
        "succeeded",
    ]


def test_without_javascript_a_retry_redirects_with_the_message(clerk_client, invoice, failed):
    card_fixed(failed)
    response = clerk_client.post(url(failed), data())
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:invoice_detail", args=[invoice.pk])
    assert "Charged 48,000 JPY" in next(str(m) for m in get_messages(response.wsgi_request))


def test_a_retry_declined_again_keeps_the_modal_open_with_the_reason(clerk_client, invoice, failed):
    response = clerk_client.post(url(failed), data(), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<form id="modal-form"')
    assert "The charge was declined: Your card was declined." in text(response)
    assert response.context["error_code"] == "payment_declined"
    assert triggers(response) == {"invoice-changed": {}}
    assert form_key(response) != KEY
    assert list(Payment.objects.values_list("status", flat=True)) == ["failed", "failed"]
    assert fresh(invoice).amount_due == Money("48000", "JPY")


def test_only_a_failed_charge_can_be_retried(clerk_client, clerk, invoice):
    payment = pay(invoice, clerk, "8000")
    before = record_counts()
    response = clerk_client.post(url(payment), data(), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "invalid_state"
    assert record_counts() == before


def test_a_retry_of_a_paid_invoice_is_refused(clerk_client, clerk, invoice, failed):
    pay(invoice, clerk, "48000")
    before = record_counts()
    response = clerk_client.post(url(failed), data(), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "invoice_not_payable"
    assert record_counts() == before


def test_a_double_submit_with_the_same_key_charges_once(clerk_client, invoice, failed):
    card_fixed(failed)
    first = clerk_client.post(url(failed), data(), headers=htmx("modal-form"))
    second = clerk_client.post(url(failed), data(), headers=htmx("modal-form"))
    assert (first.status_code, second.status_code) == (204, 204)
    assert Payment.objects.count() == 2
    assert fresh(invoice).amount_paid == Money("48000", "JPY")


def test_retrying_needs_the_charge_permission(client, failed):
    client.force_login(user_with("record_payment", "refund_payment"))
    before = record_counts()
    assert client.get(url(failed)).status_code == 403
    response = client.post(url(failed), data(), headers=htmx())
    assert response.status_code == 403
    assert "charge saved payment methods" in response.content.decode()
    assert record_counts() == before


def test_the_button_shows_on_a_failed_charge_of_a_payable_invoice(clerk_client, invoice, failed):
    page = invoice_page(clerk_client, invoice)
    assert f'hx-get="{url(failed)}" hx-target="#modal">Retry</a>' in page


def test_the_button_is_hidden_without_the_permission(client, invoice, failed):
    client.force_login(user_with("record_payment"))
    assert url(failed) not in invoice_page(client, invoice)


def test_the_button_is_hidden_once_the_invoice_is_paid(clerk_client, clerk, invoice, failed):
    pay(invoice, clerk, "48000")
    assert url(failed) not in invoice_page(clerk_client, invoice)


def test_the_button_is_hidden_while_a_charge_is_in_flight(clerk_client, clerk, invoice, failed):
    saved_card(invoice.customer, clerk, token="sandbox_timeout_not_charged", last4="0119")
    pending = services.payment_charge(invoice=invoice, actor=clerk)
    assert pending.status == "pending"
    assert url(failed) not in invoice_page(clerk_client, invoice)
