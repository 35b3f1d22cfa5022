"""Refund: money given back from one payment (views/refunds.py)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from moneyed import Money

from billing import selectors, services
from billing.models import CreditNote, Payment, Refund
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY, form_key, fresh
from tests.factories import CustomerFactory
from tests.helpers import (
    get_ok,
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
def customer():
    return CustomerFactory(currency="JPY")


@pytest.fixture
def invoice(customer, manager):
    return issued_invoice(customer, manager, "48000")


@pytest.fixture
def payment(invoice, manager):
    return pay(invoice, manager, "8000")


def charged(invoice, manager, token="sandbox_ok", amount="8000"):
    saved_card(invoice.customer, manager, token=token)
    return services.payment_charge(
        invoice=invoice, actor=manager, amount=Money(amount, invoice.currency)
    )


def url(payment):
    return reverse("billing:payment_refund", args=[payment.pk])


def data(**fields):
    return {
        "amount": "3000",
        "destination": "external",
        "reason": "requested_by_customer",
        "notes": "Asked by phone",
        "reference": "BACK-1",
        "invoice_effect": "owes_again",
        "idempotency_key": KEY,
        **fields,
    }


def test_the_refund_modal_opens_as_a_dialog_prefilled_with_the_refundable_part(
    staff_client, manager, invoice, payment
):
    services.payment_refund(
        payment=payment,
        amount=Money("1000", "JPY"),
        destination="external",
        actor=manager,
        reason="other",
    )
    response = staff_client.get(url(payment), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert 'value="7000"' in content
    for field, label in [("amount", "Amount"), ("reason", "Reason"), ("notes", "Notes")]:
        assert f'<label for="id_{field}">{label}</label>' in content
    assert '<label for="id_reference">Reference</label>' in content
    assert "The customer owes this again</label>" in content
    assert "Also issue a credit note so the invoice stays paid</label>" in content


def test_the_modal_shows_kwd_amounts_with_three_decimals(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(currency="KWD"), manager, "375.125")
    payment = pay(invoice, manager, "125.125")
    response = staff_client.get(url(payment), headers=htmx("modal"))
    assert 'value="125.125"' in response.content.decode()
    assert "At most 125.125 KWD of this payment." in text(response)


def test_without_javascript_the_modal_is_a_page(staff_client, payment):
    assert "<html" in staff_client.get(url(payment)).content.decode()


def test_a_payment_recorded_by_hand_goes_back_outside_the_system_or_to_credit(
    staff_client, payment
):
    content = get_ok(staff_client, url(payment), headers=htmx("modal")).content.decode()
    assert 'value="external"' in content and 'value="customer_credit"' in content
    assert 'value="original_method"' not in content


def test_a_charge_can_also_go_back_to_the_card(staff_client, manager, invoice):
    payment = charged(invoice, manager)
    content = staff_client.get(url(payment), headers=htmx("modal")).content.decode()
    assert "Back to the card (Visa •••• 4242)" in content
    assert 'value="original_method" id="id_destination_0" required checked' in content


def test_a_payment_from_customer_credit_can_only_go_back_to_credit(
    staff_client, manager, customer, invoice
):
    other = issued_invoice(customer, manager, "1000")
    pay(other, manager, "6000", excess_to_credit=True)
    payment = services.credit_apply(invoice=invoice, actor=manager)
    content = get_ok(staff_client, url(payment), headers=htmx("modal")).content.decode()
    assert 'value="customer_credit"' in content
    assert 'value="external"' not in content and 'value="original_method"' not in content


def test_a_refund_answers_htmx_with_events_and_the_customer_owes_it_again(
    staff_client, invoice, payment
):
    response = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    assert triggers(response)["showMessage"]["text"] == (
        f"Refunded 3,000 JPY (paid back outside the system); 3,000 JPY is due again on "
        f"{invoice.number}."
    )
    invoice = fresh(invoice)
    assert invoice.amount_paid == Money("5000", "JPY")
    assert invoice.amount_due == Money("43000", "JPY")
    refund = Refund.objects.get()
    assert (refund.destination, refund.reason, refund.notes, refund.reference) == (
        "external",
        "requested_by_customer",
        "Asked by phone",
        "BACK-1",
    )
    assert Payment.objects.get().amount_refunded == Money("3000", "JPY")


def test_a_refund_to_customer_credit_also_tells_the_customer_page(staff_client, customer, payment):
    response = staff_client.post(
        url(payment), data(destination="customer_credit"), headers=htmx("modal-form")
    )
    assert list(triggers(response))[:2] == ["invoice-changed", "customer-changed"]
    assert selectors.customer_credit(customer=customer, currency="JPY") == Money("3000", "JPY")


def test_without_javascript_a_refund_redirects_with_the_message(staff_client, invoice, payment):
    response = staff_client.post(url(payment), data())
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:invoice_detail", args=[invoice.pk])
    assert "Refunded 3,000 JPY" in next(str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.parametrize(
    ("reason", "note_reason"),
    [
        ("duplicate", "duplicate"),
        ("fraudulent", "fraudulent"),
        ("requested_by_customer", "other"),
        ("bounced", "other"),
    ],
)
def test_with_a_credit_note_the_invoice_stays_as_it_was(
    staff_client, invoice, payment, reason, note_reason
):
    response = staff_client.post(
        url(payment),
        data(invoice_effect="credit_note", reason=reason),
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    note = CreditNote.objects.get()
    assert (note.reason, note.refund_amount, note.refund_payment_id) == (
        note_reason,
        Money("3000", "JPY"),
        payment.pk,
    )
    assert note.memo.startswith(f"Refund of payment #{payment.pk} (")
    assert "Asked by phone" in note.memo and "Ref. BACK-1" in note.memo
    assert f"with credit note {note.number}" in triggers(response)["showMessage"]["text"]
    invoice = fresh(invoice)
    assert invoice.amount_due == Money("40000", "JPY")
    assert invoice.amount_paid == Money("5000", "JPY")
    assert invoice.amount_credited == Money("3000", "JPY")
    assert Refund.objects.get().destination == "external"


def test_a_credit_note_refund_must_go_the_way_the_money_came(staff_client, payment):
    before = record_counts()
    response = staff_client.post(
        url(payment),
        data(invoice_effect="credit_note", destination="customer_credit"),
        headers=htmx("modal-form"),
    )
    assert response.status_code == 422
    assert "Paid back outside the system" in response.context["form"].errors["destination"][0]
    assert record_counts() == before


def test_the_credit_note_choice_needs_the_credit_note_permission(client, payment):
    client.force_login(user_with("refund_payment"))
    response = get_ok(client, url(payment), headers=htmx("modal"))
    assert "Also issue a credit note" not in response.content.decode()
    before = record_counts()
    response = client.post(
        url(payment), data(invoice_effect="credit_note"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert response.context["form"].errors["invoice_effect"]
    assert record_counts() == before


def test_a_credit_note_refund_beyond_the_payment_is_refused_on_the_amount(staff_client, payment):
    before = record_counts()
    response = staff_client.post(
        url(payment),
        data(invoice_effect="credit_note", amount="9000"),
        headers=htmx("modal-form"),
    )
    assert response.status_code == 422
    assert response.context["error_code"] == "refund_exceeds_payment"
    assert response.context["form"].errors["amount"]
    assert record_counts() == before


def test_more_than_the_refundable_part_is_refused_on_the_amount_and_writes_nothing(
    staff_client, payment
):
    before = record_counts()
    response = staff_client.post(url(payment), data(amount="9000"), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "refund_exceeds_payment"
    assert (
        "At most 8,000 JPY of this payment can be refunded."
        in (response.context["form"].errors["amount"])
    )
    assert record_counts() == before


def test_a_voided_payment_is_not_refundable(staff_client, manager, payment):
    services.payment_void(payment=payment, actor=manager, reason="typo")
    before = record_counts()
    response = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.context["error_code"] == "payment_not_refundable"
    assert record_counts() == before


@pytest.mark.parametrize(
    "fields", [{"reason": ""}, {"amount": "1.5"}, {"destination": "original_method"}]
)
def test_an_invalid_form_is_refused_with_422_and_writes_nothing(staff_client, payment, fields):
    before = record_counts()
    response = staff_client.post(url(payment), data(**fields), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<form id="modal-form"')
    assert record_counts() == before


def test_a_refund_back_to_the_card_goes_through_the_gateway(staff_client, manager, invoice):
    payment = charged(invoice, manager)
    response = staff_client.post(
        url(payment), data(destination="original_method"), headers=htmx("modal-form")
    )
    assert response.status_code == 204
    refund = Refund.objects.get()
    assert (refund.status, refund.destination) == ("succeeded", "original_method")
    assert refund.gateway_refund_id
    assert fresh(invoice).amount_due == Money("43000", "JPY")


def test_a_refund_the_gateway_refuses_keeps_the_modal_open_with_the_reason(
    staff_client, manager, invoice
):
    payment = charged(invoice, manager, token="sandbox_refund_fails")
    response = staff_client.post(
        url(payment), data(destination="original_method"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "The refund failed: The refund was refused by the card issuer." in text(response)
    assert triggers(response) == {"invoice-changed": {}}
    assert form_key(response) != KEY
    assert Refund.objects.get().status == "failed"
    invoice = fresh(invoice)
    assert (invoice.amount_paid, invoice.amount_due) == (
        Money("8000", "JPY"),
        Money("40000", "JPY"),
    )


def test_a_refund_the_gateway_does_not_answer_stays_pending_with_a_warning(
    staff_client, manager, invoice
):
    payment = charged(invoice, manager, token="sandbox_refund_timeout")
    response = staff_client.post(
        url(payment), data(destination="original_method"), headers=htmx("modal-form")
    )
    assert response.status_code == 204
    assert triggers(response)["showMessage"]["level"] == "warning"
    assert Refund.objects.get().status == "pending"


def test_a_double_submit_with_the_same_key_refunds_once(staff_client, invoice, payment):
    first = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    second = staff_client.post(url(payment), data(), headers=htmx("modal-form"))
    assert (first.status_code, second.status_code) == (204, 204)
    assert Refund.objects.count() == 1
    assert fresh(invoice).amount_paid == Money("5000", "JPY")


def test_a_double_submit_of_a_credit_note_refund_issues_one_note(staff_client, payment):
    fields = data(invoice_effect="credit_note")
    staff_client.post(url(payment), fields, headers=htmx("modal-form"))
    staff_client.post(url(payment), fields, headers=htmx("modal-form"))
    assert (CreditNote.objects.count(), Refund.objects.count()) == (1, 1)


def test_the_clerk_may_not_refund(clerk_client, payment):
    before = record_counts()
    assert clerk_client.get(url(payment)).status_code == 403
    response = clerk_client.post(url(payment), data(), headers=htmx())
    assert response.status_code == 403
    assert "refund payments" in response.content.decode()
    assert record_counts() == before


def test_the_button_shows_on_a_refundable_payment_for_the_manager(staff_client, invoice, payment):
    page = invoice_page(staff_client, invoice)
    assert f'hx-get="{url(payment)}" hx-target="#modal">Refund</a>' in page


def test_the_button_is_hidden_from_the_clerk(clerk_client, invoice, payment):
    assert url(payment) not in invoice_page(clerk_client, invoice)


def test_the_button_is_hidden_once_nothing_is_left_to_refund(
    staff_client, manager, invoice, payment
):
    services.payment_refund(
        payment=payment,
        amount=Money("8000", "JPY"),
        destination="external",
        actor=manager,
        reason="other",
    )
    assert url(payment) not in invoice_page(staff_client, invoice)


def test_the_button_is_hidden_on_a_failed_charge(staff_client, manager, invoice):
    payment = charged(invoice, manager, token="sandbox_declined")
    assert url(payment) not in invoice_page(staff_client, invoice)
