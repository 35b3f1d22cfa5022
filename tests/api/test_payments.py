"""/api/v1 payments: record with every method, charge, retry, void, get, list;
every refusal's code, nothing written on a refusal, idempotent replay."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from billing import services
from billing.models import IdempotencyKey, Invoice, Payment
from tests.api.conftest import Api, key_for, problem_of
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay, record_counts, run_together

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today().isoformat()


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "100.00")


def body(amount="10.00", currency="USD", method="cash", **extra):
    return {
        "amount": {"amount": amount, "currency": currency},
        "method": method,
        "paid_at": TODAY,
        **extra,
    }


@pytest.mark.parametrize(
    ("method", "details"),
    [
        ("cash", None),
        ("cheque", {"cheque_number": "000123"}),
        ("bank_transfer", {"bank_reference": "SEPA-77"}),
        ("card", {"card_brand": "visa", "card_last4": "4242"}),
        ("other", None),
    ],
)
def test_recording_each_method_keeps_its_details(clerk_api, clerk, invoice, method, details):
    extra = {"details": details} if details else {}
    response = clerk_api.post(
        f"/invoices/{invoice.pk}/payments",
        body("12.30", method=method, reference="R-1", notes="At the desk", **extra),
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    payment = Payment.objects.get()
    assert answer["id"] == str(payment.pk) and answer["object"] == "payment"
    assert answer["amount"] == {"amount": "12.30", "currency": "USD"}
    assert answer["status"] == "succeeded" and answer["method"] == method
    assert answer["invoice_id"] == str(invoice.pk)
    assert answer["reference"] == "R-1" and answer["notes"] == "At the desk"
    for name, value in (details or {}).items():
        assert answer["details"][name] == value == getattr(payment, name)
    assert payment.created_by == clerk
    invoice.refresh_from_db()
    assert invoice.amount_due == Money("87.70", "USD")


def test_an_invoice_is_found_by_its_number_too(clerk_api, invoice):
    response = clerk_api.post(f"/invoices/{invoice.number}/payments", body("5.00"))
    assert response.status_code == 201
    assert response.json()["invoice_id"] == str(invoice.pk)


def test_excess_to_credit_and_write_off(manager_api, manager, invoice):
    response = manager_api.post(
        f"/invoices/{invoice.pk}/payments", body("120.00", excess_to_credit=True)
    )
    assert response.status_code == 201, response.content
    assert response.json()["amount_to_credit"] == {"amount": "20.00", "currency": "USD"}
    other = issued_invoice(CustomerFactory(), manager, "50.00")
    response = manager_api.post(
        f"/invoices/{other.pk}/payments", body("45.00", write_off_remainder=True)
    )
    assert response.status_code == 201
    other.refresh_from_db()
    assert other.status == "paid" and other.amount_credited == Money("5.00", "USD")


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("zero", 422, "invalid_amount"),
        ("too_precise", 422, "invalid_amount"),
        ("not_a_number", 422, "invalid_amount"),
        ("other_currency", 422, "currency_mismatch"),
        ("unknown_currency", 422, "invalid_value"),
        ("future", 422, "invalid_date"),
        ("card_without_last4", 422, "invalid_value"),
        ("too_much", 409, "overpayment"),
        ("draft", 409, "invoice_not_payable"),
        ("void", 409, "invoice_not_payable"),
        ("no_invoice", 404, "invoice_not_found"),
        ("write_off_as_clerk", 403, "permission_denied"),
    ],
)
def test_each_refusal_has_its_code_and_writes_nothing(
    clerk_api, clerk, manager, case, status, code
):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    ref, payload = invoice.pk, body()
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    if case == "zero":
        payload = body("0.00")
    elif case == "too_precise":
        payload = body("1.234")
    elif case == "not_a_number":
        payload = body("1e3")
    elif case == "other_currency":
        payload = body("1.00", "EUR")
    elif case == "unknown_currency":
        payload = body("1.00", "ZZZ")
    elif case == "future":
        payload = body() | {"paid_at": tomorrow}
    elif case == "card_without_last4":
        payload = body(method="card", details={"card_brand": "visa"})
    elif case == "too_much":
        payload = body("100.01")
    elif case == "draft":
        ref = services.invoice_create(
            customer=invoice.customer,
            currency="USD",
            lines=[{"description": "X", "quantity": 1, "unit_price": Money("5", "USD")}],
            actor=clerk,
        ).pk
    elif case == "void":
        services.invoice_void(invoice=invoice, actor=manager, reason="Mistake")
    elif case == "no_invoice":
        ref = invoice.pk + 1000
    elif case == "write_off_as_clerk":
        payload = body(write_off_remainder=True)
    before = record_counts(), list(Invoice.objects.values().order_by("pk"))
    problem_of(clerk_api.post(f"/invoices/{ref}/payments", payload), status, code)
    assert (record_counts(), list(Invoice.objects.values().order_by("pk"))) == before


def test_a_user_without_billing_permissions_is_refused(nobody_api, invoice):
    before = record_counts()
    problem_of(
        nobody_api.post(f"/invoices/{invoice.pk}/payments", body()), 403, "permission_denied"
    )
    problem_of(nobody_api.get("/payments"), 403, "permission_denied")
    problem_of(nobody_api.get(f"/invoices/{invoice.pk}"), 403, "permission_denied")
    assert record_counts() == before


def test_the_same_key_and_body_replays_the_first_response_and_writes_nothing(
    clerk_api, manager, invoice
):
    first = clerk_api.post(f"/invoices/{invoice.pk}/payments", body("10.00"), key="k-1")
    assert first.status_code == 201
    # The payment changes afterwards; the replay still answers what the first did.
    services.payment_void(payment=Payment.objects.get(), actor=manager, reason="Test")
    before = record_counts()
    again = clerk_api.post(f"/invoices/{invoice.pk}/payments", body("10.00"), key="k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.json()["status"] == "succeeded"
    assert record_counts() == before


def test_the_same_key_with_another_body_is_a_conflict(clerk_api, invoice):
    assert (
        clerk_api.post(f"/invoices/{invoice.pk}/payments", body("10.00"), key="k").status_code
        == 201
    )
    before = record_counts()
    problem_of(
        clerk_api.post(f"/invoices/{invoice.pk}/payments", body("10.00", notes="x"), key="k"),
        409,
        "idempotency_conflict",
    )
    assert record_counts() == before


def test_a_key_still_running_is_a_conflict(clerk_api, clerk, invoice):
    # The first request's key is claimed but its result not yet written.
    api_key = clerk_api_key(clerk)
    IdempotencyKey.objects.create(
        operation="payment_record",
        key=f"api{api_key.pk}:running",
        fingerprint="?",
        result_model="",
        created_by=clerk,
    )
    problem_of(
        clerk_api.post(f"/invoices/{invoice.pk}/payments", body(), key="running"),
        409,
        "idempotency_conflict",
    )


def clerk_api_key(user):
    from api.models import ApiKey

    return ApiKey.objects.filter(user=user).latest("pk")


def test_keys_are_scoped_to_the_api_key(client, clerk, invoice):
    one, two = Api(client, key_for(clerk)[1]), Api(client, key_for(clerk, "b")[1])
    assert one.post(f"/invoices/{invoice.pk}/payments", body(), key="same").status_code == 201
    assert two.post(f"/invoices/{invoice.pk}/payments", body(), key="same").status_code == 201
    assert Payment.objects.count() == 2


def test_a_refused_request_leaves_its_key_free(clerk_api, invoice):
    problem_of(
        clerk_api.post(f"/invoices/{invoice.pk}/payments", body("500.00"), key="retry-me"),
        409,
        "overpayment",
    )
    response = clerk_api.post(
        f"/invoices/{invoice.pk}/payments", body("500.00", excess_to_credit=True), key="retry-me"
    )
    assert response.status_code == 201


@pytest.mark.postgres
def test_recording_reads_no_invoice_row_before_its_statement(clerk_api, invoice):
    with CaptureQueriesContext(connection) as queries:
        response = clerk_api.post(f"/invoices/{invoice.pk}/payments", body())
    assert response.status_code == 201
    selects = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in selects if 'FROM "billing_invoice"' in sql]


def test_charging_the_default_card(clerk_api, clerk):
    invoice = invoice_with_card(clerk)
    response = clerk_api.post(f"/invoices/{invoice.pk}/charges", {})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "succeeded"
    assert response.json()["amount"] == {"amount": "100.00", "currency": "USD"}
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_a_declined_charge_is_402_and_keeps_the_failed_payment_to_retry(clerk_api, clerk):
    invoice = invoice_with_card(clerk, token="sandbox_declined")
    answer = problem_of(
        clerk_api.post(
            f"/invoices/{invoice.pk}/charges", {"amount": {"amount": "40.00", "currency": "USD"}}
        ),
        402,
        "payment_declined",
    )
    failed = Payment.objects.get(pk=answer["payment_id"])
    assert failed.status == "failed"
    problem_of(clerk_api.post(f"/payments/{failed.pk}/retry"), 402, "payment_declined")
    problem_of(clerk_api.post(f"/payments/{invoice.pk + 999}/retry"), 404, "not_found")


def test_retrying_a_failed_charge_after_the_card_is_fixed(clerk_api, clerk):
    invoice = invoice_with_card(clerk, token="sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=clerk)
    method = failed.payment_method
    method.token = "sandbox_ok"
    method.save(update_fields=["token"])
    response = clerk_api.post(f"/payments/{failed.pk}/retry")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "succeeded"
    problem_of(clerk_api.post(f"/payments/{response.json()['id']}/retry"), 409, "invalid_state")


def test_charging_without_a_saved_method_is_refused(clerk_api, invoice):
    before = record_counts()
    problem_of(
        clerk_api.post(f"/invoices/{invoice.pk}/charges", {}), 409, "no_saved_payment_method"
    )
    problem_of(
        clerk_api.post(f"/invoices/{invoice.pk}/charges", {"payment_method_id": "999"}),
        409,
        "no_saved_payment_method",
    )
    assert record_counts() == before


def test_a_charge_replays_the_payment_as_it_is_now(clerk_api, clerk):
    invoice = invoice_with_card(clerk)
    first = clerk_api.post(f"/invoices/{invoice.pk}/charges", {}, key="charge-1")
    assert first.status_code == 201
    before = record_counts()
    again = clerk_api.post(f"/invoices/{invoice.pk}/charges", {}, key="charge-1")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert record_counts() == before


def test_voiding_a_payment_needs_a_manager(clerk_api, manager_api, clerk, invoice):
    payment = pay(invoice, clerk, "10.00")
    before = record_counts()
    problem_of(
        clerk_api.post(f"/payments/{payment.pk}/void", {"reason": "x"}), 403, "permission_denied"
    )
    assert record_counts() == before
    response = manager_api.post(f"/payments/{payment.pk}/void", {"reason": "Typed twice"})
    assert response.status_code == 200
    assert response.json()["status"] == "voided" and response.json()["void_reason"] == "Typed twice"
    problem_of(
        manager_api.post(f"/payments/{payment.pk}/void", {"reason": "again"}), 409, "invalid_state"
    )


def test_get_and_list_with_filters_and_cursor(clerk_api, clerk, invoice):
    other = issued_invoice(CustomerFactory(), clerk, "100.00")
    payments = [pay(invoice, clerk, "1.00") for _ in range(3)] + [
        pay(other, clerk, "2.00", method="cheque", details={"cheque_number": "9"})
    ]
    response = clerk_api.get(f"/payments/{payments[0].pk}")
    assert response.status_code == 200 and response.json()["id"] == str(payments[0].pk)

    first = clerk_api.get("/payments", {"limit": 2})
    assert first.status_code == 200
    assert [p["id"] for p in first.json()["data"]] == [str(payments[3].pk), str(payments[2].pk)]
    assert first.json()["has_more"] is True
    rest = clerk_api.get(
        "/payments", {"limit": 2, "starting_after": first.json()["data"][-1]["id"]}
    )
    assert [p["id"] for p in rest.json()["data"]] == [str(payments[1].pk), str(payments[0].pk)]
    assert rest.json()["has_more"] is False

    by_invoice = clerk_api.get("/payments", {"invoice": str(other.pk)}).json()["data"]
    assert [p["id"] for p in by_invoice] == [str(payments[3].pk)]
    by_method = clerk_api.get("/payments", {"method": "cheque"}).json()["data"]
    assert [p["id"] for p in by_method] == [str(payments[3].pk)]
    by_customer = clerk_api.get("/payments", {"customer": str(invoice.customer_id)}).json()["data"]
    assert len(by_customer) == 3


def test_a_list_page_costs_the_same_queries_whatever_its_size(clerk_api, clerk, invoice):
    for _ in range(3):
        pay(invoice, clerk, "1.00")
    clerk_api.get("/payments")  # The key's first use notes it; later ones within a minute do not.
    with CaptureQueriesContext(connection) as small:
        assert clerk_api.get("/payments", {"limit": 1}).status_code == 200
    for _ in range(20):
        pay(invoice, clerk, "1.00")
    newest = str(Payment.objects.latest("pk").pk)
    with CaptureQueriesContext(connection) as large:
        page = clerk_api.get("/payments", {"limit": 20, "starting_after": newest})
    assert page.status_code == 200 and len(page.json()["data"]) == 20
    assert len(large) == len(small)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_identical_posts_at_once_record_once(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    secret = key_for(clerk)[1]

    def work(i):
        response = Api(Client(), secret).post(
            f"/invoices/{invoice.pk}/payments", body("10.00"), key="same-key"
        )
        return response.status_code, response.json()

    results, errors = run_together(10, work)
    assert errors == {}
    statuses = [status for status, _ in results.values()]
    assert set(statuses) <= {201, 409}
    created = [answer for status, answer in results.values() if status == 201]
    assert created and all(answer == created[0] for answer in created)
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("10.00", "USD")
