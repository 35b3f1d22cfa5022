"""Input that once made a 500: every form answers a 4xx with a reason and
writes nothing (the issue "No server error for any input")."""

import pytest
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.models import NOTE_MAX_LENGTH, Invoice, InvoiceLine
from tests.billing.services._refusals import TODAY, assert_refused
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY
from tests.billing.views.test_invoice_actions import lines_data, row
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts, saved_card

pytestmark = pytest.mark.django_db

HUGE = ["1e26", "9" * 28, "1_000", "١٠"]


@pytest.fixture
def customer():
    return CustomerFactory(currency="USD")


@pytest.fixture
def invoice(customer, manager):
    """100.00 USD with 40.00 paid in cash, and 30.00 of customer credit."""
    invoice = issued_invoice(customer, manager, "100.00")
    pay(invoice, manager, "40.00")
    services.balance_adjust(
        customer=customer, amount=Money("30.00", "USD"), actor=manager, reason="test"
    )
    invoice.refresh_from_db()
    return invoice


def surfaces(invoice):
    """(url, data without the amount, the amount's field name) of every amount form."""
    customer, payment = invoice.customer, invoice.payments.get()
    return {
        "record": (
            reverse("billing:payment_record", args=[invoice.pk]),
            {"method": "cash", "paid_at": TODAY, "idempotency_key": KEY},
            "amount",
        ),
        "charge": (
            reverse("billing:payment_charge", args=[invoice.pk]),
            {"idempotency_key": KEY},
            "amount",
        ),
        "refund": (
            reverse("billing:payment_refund", args=[payment.pk]),
            {"destination": "external", "reason": "duplicate", "idempotency_key": KEY},
            "amount",
        ),
        "credit note": (
            reverse("billing:credit_note_issue", args=[invoice.pk]),
            {"reason": "goodwill", "idempotency_key": KEY},
            "reduce_due",
        ),
        "credit note refund": (
            reverse("billing:credit_note_issue", args=[invoice.pk]),
            {"reason": "goodwill", "refund_payment": payment.pk, "idempotency_key": KEY},
            "refund",
        ),
        "credit note to credit": (
            reverse("billing:credit_note_issue", args=[invoice.pk]),
            {"reason": "goodwill", "idempotency_key": KEY},
            "to_credit",
        ),
        "adjust": (
            reverse("billing:balance_adjust", args=[customer.pk]),
            {"currency": "USD", "reason": "x", "idempotency_key": KEY},
            "amount",
        ),
        "pay out": (
            reverse("billing:balance_pay_out", args=[customer.pk, "USD"]),
            {"reference": "x", "idempotency_key": KEY},
            "amount",
        ),
        "apply credit": (
            reverse("billing:credit_apply", args=[invoice.pk]),
            {"idempotency_key": KEY},
            "amount",
        ),
        "customer apply credit": (
            reverse("billing:customer_credit_apply", args=[customer.pk, "USD"]),
            {"invoice": invoice.pk, "idempotency_key": KEY},
            "amount",
        ),
    }


SURFACES = [
    "record",
    "charge",
    "refund",
    "credit note",
    "credit note refund",
    "credit note to credit",
    "adjust",
    "pay out",
    "apply credit",
    "customer apply credit",
]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("amount", HUGE)
def test_every_amount_form_refuses_huge_and_careless_amounts_with_422(
    staff_client, manager, invoice, surface, amount
):
    saved_card(invoice.customer, manager)
    url, data, field = surfaces(invoice)[surface]
    before = record_counts()
    response = staff_client.post(url, {**data, field: amount}, headers=htmx("modal-form"))
    assert response.status_code == 422
    content = response.content.decode()
    assert "larger than the largest allowed" in content or "one decimal point" in content
    assert record_counts() == before


@pytest.mark.parametrize("amount", ["9" * 41, "9" * 30, "1e26"])
def test_the_payment_outcome_preview_answers_a_huge_amount(staff_client, invoice, amount):
    url, data, _ = surfaces(invoice)["record"]
    before = record_counts()
    response = staff_client.post(url, {**data, "amount": amount}, headers=htmx("payment-outcome"))
    assert response.status_code == 200
    assert record_counts() == before


def test_the_credit_note_preview_answers_a_huge_amount(staff_client, invoice):
    url, data, _ = surfaces(invoice)["credit note"]
    before = record_counts()
    response = staff_client.post(
        url, {**data, "reduce_due": "9" * 30, "preview": "1"}, headers=htmx("credit-note-preview")
    )
    assert response.status_code in (200, 422)
    assert "larger than the largest allowed" in response.content.decode()
    assert record_counts() == before


def test_an_amount_with_the_locales_grouping_is_recorded(staff_client, customer, manager):
    invoice = issued_invoice(customer, manager, "2000.00")
    url, data, _ = surfaces_for_record(invoice)
    response = staff_client.post(url, {**data, "amount": "1,000.00"}, headers=htmx("modal-form"))
    assert response.status_code == 204
    assert invoice.payments.get().amount == Money("1000.00", "USD")


def surfaces_for_record(invoice):
    return (
        reverse("billing:payment_record", args=[invoice.pk]),
        {"method": "cash", "paid_at": TODAY, "idempotency_key": KEY},
        "amount",
    )


def test_a_misgrouped_amount_is_refused_with_the_reason(staff_client, customer, manager):
    invoice = issued_invoice(customer, manager, "2000.00")
    url, data, _ = surfaces_for_record(invoice)
    before = record_counts()
    response = staff_client.post(url, {**data, "amount": "1,00"}, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert "one decimal point, like 1,250.00" in response.content.decode()
    assert record_counts() == before


# -- a draft's lines ------------------------------------------------------------------


def draft(customer, actor):
    return services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "A", "quantity": 1, "unit_price": Money("5.00", "USD")}],
        actor=actor,
    )


@pytest.mark.parametrize(
    "line",
    [
        {"unit_price": "1e26"},
        {"unit_price": "9" * 30},
        {"quantity": "sNaN"},
        {"quantity": "NaN"},
        {"quantity": "Infinity"},
        {"quantity": "1e2"},
        {"quantity": "٣"},
        {"tax_rate": "sNaN"},
        {"tax_rate": "NaN"},
        {"tax_rate": "-Infinity"},
    ],
)
def test_a_line_with_a_number_that_is_not_one_is_refused_with_422(
    staff_client, customer, manager, line
):
    invoice = draft(customer, manager)
    fields = {"description": "Work", "quantity": "1", "unit_price": "10.00", **line}
    before = list(InvoiceLine.objects.values_list("pk", "quantity", "unit_price", "tax_rate"))
    response = staff_client.post(
        reverse("billing:invoice_edit", args=[invoice.pk]),
        lines_data(row(**fields)),
        headers=htmx("modal-form"),
    )
    assert response.status_code == 422
    assert (
        list(InvoiceLine.objects.values_list("pk", "quantity", "unit_price", "tax_rate")) == before
    )
    invoices = Invoice.objects.count()
    response = staff_client.post(
        reverse("billing:invoice_create"),
        {"customer": customer.pk, **lines_data(row(**fields))},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 422
    assert Invoice.objects.count() == invoices


def test_add_line_keeps_a_signalling_nan_as_typed(staff_client, customer, manager):
    invoice = draft(customer, manager)
    response = staff_client.post(
        reverse("billing:invoice_edit", args=[invoice.pk]),
        {**lines_data(row("Work", quantity="sNaN", unit_price="1")), "add_line": "1"},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 200


# -- free text ------------------------------------------------------------------------

LONG = "x" * (NOTE_MAX_LENGTH + 1)


@pytest.mark.parametrize(
    ("surface", "field"),
    [("record", "notes"), ("refund", "notes"), ("credit note", "memo")],
)
def test_an_over_long_note_is_refused_with_422(staff_client, invoice, surface, field):
    url, data, amount_field = surfaces(invoice)[surface]
    before = record_counts()
    response = staff_client.post(
        url, {**data, amount_field: "1.00", field: LONG}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert f"at most {NOTE_MAX_LENGTH} characters" in response.content.decode()
    assert record_counts() == before


@pytest.mark.parametrize(
    ("operation", "field"),
    [("payment_record", "notes"), ("payment_refund", "notes"), ("credit_note_issue", "memo")],
)
def test_the_services_refuse_an_over_long_note_naming_the_field(manager, invoice, operation, field):
    payment = invoice.payments.get()
    calls = {
        "payment_record": dict(
            invoice=invoice, amount="1.00", method="cash", paid_at=TODAY, notes=LONG
        ),
        "payment_refund": dict(
            payment=payment, amount="1.00", destination="external", reason="duplicate", notes=LONG
        ),
        "credit_note_issue": dict(
            invoice=invoice, reason="goodwill", reduce_due=Money("1.00", "USD"), memo=LONG
        ),
    }
    error = assert_refused(
        "invalid_value", getattr(services, operation), actor=manager, **calls[operation]
    )
    assert error.field == field
