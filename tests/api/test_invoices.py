"""/api/v1 invoices: drafts with lines, issue, issue and charge, void, get, the
list's filters and cursor, the timeline."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from billing import services
from billing.models import Invoice
from tests.api.conftest import problem_of
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts, saved_card

pytestmark = pytest.mark.django_db


def usd(amount):
    return {"amount": amount, "currency": "USD"}


def draft_body(customer, **extra):
    return {
        "customer_id": str(customer.pk),
        "lines": [
            {
                "description": "Consulting",
                "quantity": "2",
                "unit_price": usd("50.00"),
                "tax_rate": "20",
            },
            {"description": "Travel", "unit_price": usd("10.00")},
        ],
        **extra,
    }


def counts():
    return record_counts(), Invoice.objects.count()


def test_creating_a_draft_with_lines(clerk_api, clerk):
    customer = CustomerFactory()
    response = clerk_api.post("/invoices", draft_body(customer))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["object"] == "invoice" and answer["status"] == "draft"
    assert answer["number"] is None and answer["customer_id"] == str(customer.pk)
    assert answer["total"] == usd("130.00")
    assert [line["total"] for line in answer["lines"]] == [usd("120.00"), usd("10.00")]
    assert Invoice.objects.get(pk=answer["id"]).created_by == clerk


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"customer_id": "999999"}, 422, "invalid_value"),
        ({"lines": []}, 422, "invalid_value"),
        ({"lines": [{"description": "X", "unit_price": usd("1.001")}]}, 422, "invalid_amount"),
        (
            {"lines": [{"description": "X", "unit_price": {"amount": "1", "currency": "EUR"}}]},
            422,
            "currency_mismatch",
        ),
        (
            {"lines": [{"description": "X", "quantity": "lots", "unit_price": usd("1")}]},
            422,
            "invalid_value",
        ),
        ({"due_date": "1999-01-01"}, 422, "invalid_date"),
    ],
)
def test_a_bad_draft_is_refused_and_writes_nothing(clerk_api, change, status, code):
    before = counts()
    problem_of(clerk_api.post("/invoices", draft_body(CustomerFactory()) | change), status, code)
    assert counts() == before


def test_creating_a_draft_replays_and_needs_the_permission(clerk_api, nobody_api):
    customer = CustomerFactory()
    first = clerk_api.post("/invoices", draft_body(customer), key="draft-1")
    again = clerk_api.post("/invoices", draft_body(customer), key="draft-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Invoice.objects.count() == 1
    problem_of(nobody_api.post("/invoices", draft_body(customer)), 403, "permission_denied")
    assert Invoice.objects.count() == 1


def test_issuing_and_voiding(clerk_api, manager_api, clerk):
    draft = clerk_api.post("/invoices", draft_body(CustomerFactory())).json()
    issued = clerk_api.post(f"/invoices/{draft['id']}/issue", {}, key="issue-1")
    assert issued.status_code == 200
    assert issued.json()["status"] == "open" and issued.json()["number"].startswith("INV-")
    # A retry of the same request answers the same; another request is refused.
    assert (
        clerk_api.post(f"/invoices/{draft['id']}/issue", {}, key="issue-1").json() == issued.json()
    )
    problem_of(clerk_api.post(f"/invoices/{draft['id']}/issue", {}), 409, "invalid_state")

    before = counts()
    problem_of(
        clerk_api.post(f"/invoices/{draft['id']}/void", {"reason": "x"}), 403, "permission_denied"
    )
    assert counts() == before
    voided = manager_api.post(f"/invoices/{issued.json()['number']}/void", {"reason": "Sent twice"})
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    problem_of(
        manager_api.post(f"/invoices/{draft['id']}/void", {"reason": "again"}), 409, "invalid_state"
    )


def test_issue_and_charge(clerk_api, clerk):
    customer = CustomerFactory()
    saved_card(customer, clerk)
    draft = clerk_api.post("/invoices", draft_body(customer)).json()
    response = clerk_api.post(f"/invoices/{draft['id']}/issue_and_charge", None)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["invoice"]["status"] == "paid"
    assert answer["charge"]["status"] == "succeeded" and answer["credit_payment"] is None


def test_issue_and_charge_declined_is_402_and_the_invoice_stays_issued(clerk_api, clerk):
    customer = CustomerFactory()
    saved_card(customer, clerk, "sandbox_declined")
    draft = clerk_api.post("/invoices", draft_body(customer)).json()
    problem_of(clerk_api.post(f"/invoices/{draft['id']}/issue_and_charge"), 402, "payment_declined")
    assert Invoice.objects.get(pk=draft["id"]).status == "open"


def test_issue_and_charge_without_a_card_writes_nothing(clerk_api):
    draft = clerk_api.post("/invoices", draft_body(CustomerFactory())).json()
    before = counts()
    problem_of(
        clerk_api.post(f"/invoices/{draft['id']}/issue_and_charge"), 409, "no_saved_payment_method"
    )
    assert counts() == before


def test_the_list_filters(clerk_api, clerk, manager):
    alice, bob = CustomerFactory(), CustomerFactory(currency="EUR")
    open_usd = issued_invoice(alice, clerk, "10.00")
    paid = issued_invoice(alice, clerk, "10.00")
    pay(paid, clerk, "10.00")
    eur = issued_invoice(bob, clerk, "10.00")
    late = issued_invoice(alice, clerk, "10.00")
    Invoice.objects.filter(pk=late.pk).update(
        due_date=datetime.date.today() - datetime.timedelta(days=3)
    )

    def ids(**params):
        response = clerk_api.get("/invoices", params)
        assert response.status_code == 200, response.content
        return {int(row["id"]) for row in response.json()["data"]}

    assert ids(status="paid") == {paid.pk}
    assert ids(customer=str(bob.pk)) == {eur.pk}
    assert ids(currency="EUR") == {eur.pk}
    assert ids(number=open_usd.number) == {open_usd.pk}
    assert ids(overdue="true") == {late.pk}
    assert late.pk not in ids(overdue="false")
    assert clerk_api.get("/invoices", {"overdue": "true"}).json()["data"][0]["is_overdue"] is True


def test_the_list_pages_by_cursor_in_constant_queries(clerk_api, clerk):
    customer = CustomerFactory()
    invoices = [issued_invoice(customer, clerk, "1.00") for _ in range(5)]
    clerk_api.get("/invoices")  # The key's first use notes it; later ones within a minute do not.
    with CaptureQueriesContext(connection) as small:
        first = clerk_api.get("/invoices", {"limit": 2})
    assert first.status_code == 200
    assert [row["id"] for row in first.json()["data"]] == [str(invoices[4].pk), str(invoices[3].pk)]
    assert first.json()["has_more"] is True
    with CaptureQueriesContext(connection) as large:
        rest = clerk_api.get("/invoices", {"limit": 5, "starting_after": str(invoices[3].pk)})
    assert [row["id"] for row in rest.json()["data"]] == [str(i.pk) for i in invoices[2::-1]]
    assert rest.json()["has_more"] is False
    assert len(large) == len(small)


def test_the_timeline(clerk_api, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    pay(invoice, clerk, "4.00")
    response = clerk_api.get(f"/invoices/{invoice.pk}/timeline")
    assert response.status_code == 200
    kinds = [event["kind"] for event in response.json()["data"]]
    assert kinds == ["payment_recorded", "issued", "created"]
    assert response.json()["data"][0]["amount"] == usd("4.00")
    assert response.json()["data"][0]["created_by"] == "clerk"
    problem_of(clerk_api.get("/invoices/999999/timeline"), 404, "invoice_not_found")


def test_get_shows_the_models_answers(clerk_api, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    services.payment_record(
        invoice=invoice,
        amount=Money("3.00", "USD"),
        method="cash",
        paid_at=datetime.date.today(),
        actor=clerk,
    )
    invoice.refresh_from_db()
    answer = clerk_api.get(f"/invoices/{invoice.pk}").json()
    assert answer["payable_now"] == usd(f"{invoice.payable_now.amount:.2f}") == usd("7.00")
    assert answer["can_void"] is invoice.can_void is False
    assert answer["can_take_payment"] is True
