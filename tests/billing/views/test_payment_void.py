"""Void: an external payment recorded by mistake (views/payments.py)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.models import InvoiceEvent, InvoiceEventKind, Payment
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY, fresh
from tests.factories import CustomerFactory
from tests.helpers import (
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    saved_card,
    text,
    triggers,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(manager):
    return issued_invoice(CustomerFactory(currency="JPY"), manager, "48000")


@pytest.fixture
def payment(invoice, manager):
    return pay(invoice, manager, "8000", method="cheque", details={"cheque_number": "77"})


def url(payment):
    return reverse("billing:payment_void", args=[payment.pk])


def data(**fields):
    return {"reason": "Entered on the wrong invoice", "idempotency_key": KEY, **fields}


def test_the_void_modal_opens_as_a_dialog(staff_client, payment):
    response = staff_client.get(url(payment), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert '<label for="id_reason">Reason</label>' in content
    assert "Cheque #77 of" in text(response)
    assert "8,000 JPY is due again" in text(response)


def test_the_modal_shows_kwd_amounts_with_three_decimals(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(currency="KWD"), manager, "375.125")
    payment = pay(invoice, manager, "1.5")
    assert "1.500 KWD is due again" in text(staff_client.get(url(payment), headers=htmx("modal")))


def test_without_javascript_the_modal_is_a_page(staff_client, payment):
    assert "<html" in staff_client.get(url(payment)).content.decode()


def test_voiding_answers_htmx_with_events_and_the_due_grows_back(staff_client, invoice, payment):
    response = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    assert triggers(response)["showMessage"]["text"] == (
        f"Voided the 8,000 JPY Cheque #77 payment on {invoice.number}; it is due again."
    )
    payment = Payment.objects.get()
    assert (payment.status, payment.void_reason) == ("voided", "Entered on the wrong invoice")
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        "open",
        Money("0", "JPY"),
        Money("48000", "JPY"),
    )


def test_without_javascript_voiding_redirects_with_the_message(staff_client, invoice, payment):
    response = staff_client.post(url(payment), data())
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:invoice_detail", args=[invoice.pk])
    assert "Voided the 8,000 JPY" in next(str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(staff_client, payment, reason):
    before = record_counts()
    response = staff_client.post(url(payment), data(reason=reason), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["form"].errors["reason"]
    assert record_counts() == before


def test_a_gateway_charge_cannot_be_voided(staff_client, manager, invoice):
    saved_card(invoice.customer, manager)
    charge = services.payment_charge(invoice=invoice, actor=manager)
    before = record_counts()
    response = staff_client.post(url(charge), data(), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "invalid_state"
    assert "Refund it instead." in response.context["form"].non_field_errors()[0]
    assert record_counts() == before


def test_a_payment_with_a_refund_cannot_be_voided(staff_client, manager, payment):
    services.payment_refund(
        payment=payment,
        amount=Money("1000", "JPY"),
        destination="external",
        actor=manager,
        reason="other",
    )
    before = record_counts()
    response = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "invalid_state"
    assert record_counts() == before


def test_a_double_submit_voids_once(staff_client, invoice, payment):
    first = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    second = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    assert (first.status_code, second.status_code) == (204, 422)
    assert second.context["error_code"] == "invalid_state"
    voids = InvoiceEvent.objects.filter(kind=InvoiceEventKind.PAYMENT_VOIDED)
    assert voids.count() == 1
    assert fresh(invoice).amount_due == Money("48000", "JPY")


def test_the_clerk_may_not_void(clerk_client, payment):
    before = record_counts()
    assert clerk_client.get(url(payment)).status_code == 403
    response = clerk_client.post(url(payment), data(), headers=htmx())
    assert response.status_code == 403
    assert "void payments" in response.content.decode()
    assert record_counts() == before


def test_the_button_shows_on_an_untouched_external_payment_for_the_manager(
    staff_client, invoice, payment
):
    page = invoice_page(staff_client, invoice)
    assert f'hx-get="{url(payment)}" hx-target="#modal">Void</a>' in page


def test_the_button_is_hidden_from_the_clerk(clerk_client, invoice, payment):
    assert url(payment) not in invoice_page(clerk_client, invoice)


def test_the_button_is_hidden_on_a_gateway_charge(staff_client, manager, invoice):
    saved_card(invoice.customer, manager)
    charge = services.payment_charge(invoice=invoice, actor=manager)
    assert url(charge) not in invoice_page(staff_client, invoice)


def test_the_button_is_hidden_once_money_went_to_credit(staff_client, manager, invoice):
    payment = pay(invoice, manager, "50000", excess_to_credit=True)
    assert url(payment) not in invoice_page(staff_client, invoice)


def test_the_button_is_hidden_on_a_voided_payment(staff_client, manager, invoice, payment):
    services.payment_void(payment=payment, actor=manager, reason="typo")
    assert url(payment) not in invoice_page(staff_client, invoice)
