"""/api/v1 refunds and credit notes, with the preview that writes nothing."""

import pytest
from moneyed import Money

from billing import services
from billing.models import CreditNote, Invoice, Refund
from tests.api.conftest import problem_of
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def usd(amount):
    return {"amount": amount, "currency": "USD"}


@pytest.fixture
def paid(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    return invoice, pay(invoice, manager, "100.00")


def test_refunding_externally_to_credit_and_to_the_card(manager_api, manager, paid):
    _, payment = paid
    external = manager_api.post(
        f"/payments/{payment.pk}/refunds",
        {
            "amount": usd("10.00"),
            "destination": "external",
            "reason": "duplicate",
            "reference": "Cash back",
        },
        key="r-1",
    )
    assert external.status_code == 201, external.content
    assert external.json()["status"] == "succeeded" and external.json()["amount"] == usd("10.00")
    again = manager_api.post(
        f"/payments/{payment.pk}/refunds",
        {
            "amount": usd("10.00"),
            "destination": "external",
            "reason": "duplicate",
            "reference": "Cash back",
        },
        key="r-1",
    )
    assert again.json() == external.json() and Refund.objects.count() == 1

    to_credit = manager_api.post(
        f"/payments/{payment.pk}/refunds",
        {"amount": usd("5.00"), "destination": "customer_credit", "reason": "other"},
    )
    assert to_credit.status_code == 201

    card_invoice = invoice_with_card(manager)
    charge = services.payment_charge(invoice=card_invoice, actor=manager)
    to_card = manager_api.post(
        f"/payments/{charge.pk}/refunds",
        {
            "amount": usd("20.00"),
            "destination": "original_method",
            "reason": "requested_by_customer",
        },
    )
    assert to_card.status_code == 201 and to_card.json()["status"] == "succeeded"

    assert manager_api.get(f"/refunds/{external.json()['id']}").json() == external.json()
    listed = manager_api.get("/refunds", {"payment": str(payment.pk)}).json()["data"]
    assert [r["id"] for r in listed] == [to_credit.json()["id"], external.json()["id"]]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": usd("100.01")}, 409, "refund_exceeds_payment"),
        ({"amount": usd("0")}, 422, "invalid_amount"),
        ({"destination": "original_method"}, 422, "invalid_value"),
        ({"reason": "whim"}, 422, "invalid_value"),
    ],
)
def test_a_refused_refund_writes_nothing(manager_api, paid, change, status, code):
    _, payment = paid
    before = record_counts(), list(Invoice.objects.values())
    body = {"amount": usd("10.00"), "destination": "external", "reason": "duplicate"} | change
    problem_of(manager_api.post(f"/payments/{payment.pk}/refunds", body), status, code)
    assert (record_counts(), list(Invoice.objects.values())) == before


def test_a_clerk_may_not_refund(clerk_api, paid):
    _, payment = paid
    before = record_counts()
    problem_of(
        clerk_api.post(
            f"/payments/{payment.pk}/refunds",
            {"amount": usd("1.00"), "destination": "external", "reason": "other"},
        ),
        403,
        "permission_denied",
    )
    assert record_counts() == before


def test_the_credit_note_preview_writes_nothing_and_matches_the_note(manager_api, paid):
    invoice, payment = paid
    body = {
        "reason": "goodwill",
        "refund": usd("30.00"),
        "refund_payment_id": str(payment.pk),
        "to_credit": usd("20.00"),
    }
    before = record_counts(), list(Invoice.objects.values())
    preview = manager_api.post(f"/invoices/{invoice.pk}/credit_notes/preview", body)
    assert preview.status_code == 200, preview.content
    assert (record_counts(), list(Invoice.objects.values())) == before
    assert preview.json()["paid"] == usd("50.00") and preview.json()["exceeds"] == {}

    issued = manager_api.post(f"/invoices/{invoice.pk}/credit_notes", body)
    assert issued.status_code == 201, issued.content
    note = issued.json()
    assert note["total"] == usd("50.00") and note["number"].startswith("CN-")
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("50.00", "USD")
    assert manager_api.get(f"/credit_notes/{note['id']}").json() == note
    assert [
        n["id"]
        for n in manager_api.get("/credit_notes", {"invoice": str(invoice.pk)}).json()["data"]
    ] == [note["id"]]


def test_the_preview_names_what_exceeds_and_the_note_is_refused(manager_api, paid):
    invoice, _ = paid
    body = {"reason": "goodwill", "to_credit": usd("150.00")}
    preview = manager_api.post(f"/invoices/{invoice.pk}/credit_notes/preview", body)
    assert preview.status_code == 200 and preview.json()["exceeds"]
    before = record_counts()
    problem_of(
        manager_api.post(f"/invoices/{invoice.pk}/credit_notes", body),
        409,
        "credit_note_exceeds_invoice",
    )
    assert record_counts() == before and not CreditNote.objects.exists()
