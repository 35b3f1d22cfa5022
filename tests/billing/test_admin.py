from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from moneyed import Money

from billing import permissions, services
from billing.gateways.sandbox import TEST_CARDS
from billing.models import BalanceEntry, Customer, Invoice, InvoiceEvent, Payment, PaymentMethod
from tests.factories import CustomerFactory
from tests.helpers import ADMIN_MODELS as ALL_MODELS
from tests.helpers import get_ok, issued_invoice, pay, record_counts, saved_card

pytestmark = pytest.mark.django_db


def admin_url(model, view, *args):
    return reverse(f"admin:billing_{model._meta.model_name}_{view}", args=args)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def records(superuser):
    """One of every kind of record, made through the real services."""
    customer = CustomerFactory()
    saved_card(customer, superuser, "tok_visa")
    invoice = issued_invoice(customer, superuser, "100.00")
    payment = pay(invoice, superuser, "100.00", idempotency_key="admin-test")
    services.credit_note_issue(
        invoice=invoice,
        actor=superuser,
        reason="goodwill",
        to_credit=Money("10.00", "USD"),
        refund=Money("5.00", "USD"),
        refund_payment=payment,
    )
    assert all(model.objects.exists() for model in ALL_MODELS), {
        model.__name__: model.objects.count() for model in ALL_MODELS
    }
    return invoice


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_page_return_200(admin_client, records, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    obj = model.objects.first()
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200


def test_changelist_search_by_invoice_number_and_customer(admin_client, records):
    response = admin_client.get(admin_url(Invoice, "changelist"), {"q": records.number})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [records]
    email = records.customer.email
    response = admin_client.get(admin_url(Payment, "changelist"), {"q": email})
    assert response.context["cl"].result_count == 1


def test_money_columns_are_formatted(admin_client, records):
    response = admin_client.get(admin_url(Invoice, "changelist"))
    assert "100.00 USD" in response.content.decode()


def test_money_records_cannot_be_added_or_deleted(admin_client, records):
    payment = Payment.objects.get()
    assert admin_client.get(admin_url(Payment, "delete", payment.pk)).status_code == 403
    assert admin_client.get(admin_url(Payment, "add")).status_code == 403
    assert admin_client.get(admin_url(Invoice, "delete", records.pk)).status_code == 403
    assert admin_client.get(admin_url(Customer, "delete", records.customer_id)).status_code == 403


def test_delete_selected_action_is_not_offered(admin_client, records):
    for model in ALL_MODELS:
        response = get_ok(admin_client, admin_url(model, "changelist"))
        assert "delete_selected" not in response.content.decode(), model.__name__


def test_posting_a_change_to_a_payment_changes_nothing(admin_client, records):
    payment = Payment.objects.get()
    response = admin_client.post(
        admin_url(Payment, "change", payment.pk), {"notes": "tampered", "amount_0": "1"}
    )
    assert response.status_code == 403
    payment.refresh_from_db()
    assert payment.notes == ""
    assert payment.amount == Money("100.00", "USD")


def test_customer_can_be_added_in_the_admin(admin_client, superuser):
    response = admin_client.post(
        admin_url(Customer, "add"),
        {
            "name": "Acme",
            "email": "billing@acme.example",
            "currency": "eur",
            "external_ref": "",
            "payment_methods-TOTAL_FORMS": "0",
            "payment_methods-INITIAL_FORMS": "0",
            "balances-TOTAL_FORMS": "0",
            "balances-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get(name="Acme")
    assert customer.currency == "EUR"
    assert customer.created_by == superuser


def test_issue_action_issues_a_draft(admin_client, superuser):
    draft = services.invoice_create(
        customer=CustomerFactory(),
        currency="USD",
        lines=[{"description": "Work", "quantity": Decimal(1), "unit_price": Money("50", "USD")}],
        actor=superuser,
    )
    response = admin_client.post(
        admin_url(Invoice, "changelist"),
        {"action": "issue_drafts", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == "open"
    assert draft.number
    assert "Issued 1 invoice(s)." in messages_of(response)


def test_void_action_without_permission_shows_the_error_and_writes_nothing(
    client, clerk, superuser
):
    invoice = issued_invoice(CustomerFactory(), superuser, "100.00")
    client.force_login(clerk)
    before = record_counts()
    response = client.post(
        admin_url(Invoice, "changelist"),
        {"action": "void_invoices", "_selected_action": [invoice.pk]},
        follow=True,
    )
    assert response.status_code == 200
    shown = messages_of(response)
    assert any(m.startswith(f"{invoice.number}: clerk may not void invoices") for m in shown), shown
    assert record_counts() == before
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_payment_void_action_without_permission_shows_the_error(client, clerk, superuser):
    invoice = issued_invoice(CustomerFactory(), superuser, "100.00")
    payment = pay(invoice, superuser, "40.00")
    client.force_login(clerk)
    before = record_counts()
    response = client.post(
        admin_url(Payment, "changelist"),
        {"action": "void_payments", "_selected_action": [payment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("may not void payments" in m for m in messages_of(response))
    assert record_counts() == before
    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_void_action_on_a_paid_invoice_shows_the_billing_error(admin_client, superuser):
    invoice = issued_invoice(CustomerFactory(), superuser, "100.00")
    pay(invoice, superuser, "100.00")
    before = record_counts()
    response = admin_client.post(
        admin_url(Invoice, "changelist"),
        {
            "action": "void_invoices",
            "_selected_action": [invoice.pk],
            "post": "yes",
            "reason": "Sent twice",
        },
        follow=True,
    )
    assert response.status_code == 200
    shown = messages_of(response)
    assert len(shown) == 1 and shown[0].startswith(f"{invoice.number}: "), shown
    assert record_counts() == before
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_payment_void_action_voids_an_external_payment(admin_client, superuser):
    invoice = issued_invoice(CustomerFactory(), superuser, "100.00")
    payment = pay(invoice, superuser, "40.00")
    response = admin_client.post(
        admin_url(Payment, "changelist"),
        {
            "action": "void_payments",
            "_selected_action": [payment.pk],
            "post": "yes",
            "reason": "Recorded twice",
        },
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == "voided"
    assert payment.void_reason == "Recorded twice"


def test_changelist_queries_do_not_grow_with_rows(admin_client, superuser):
    customer = CustomerFactory()
    for _ in range(2):
        pay(issued_invoice(customer, superuser, "10.00"), superuser, "10.00")
    for model in (Invoice, Payment, InvoiceEvent, BalanceEntry):
        admin_client.get(admin_url(model, "changelist"))  # warm up (session, content types)
    counts = {}
    for model in (Invoice, Payment, InvoiceEvent):
        with CaptureQueriesContext(connection) as few:
            admin_client.get(admin_url(model, "changelist"))
        counts[model] = len(few)
    for _ in range(5):
        pay(issued_invoice(CustomerFactory(), superuser, "10.00"), superuser, "10.00")
    for model in (Invoice, Payment, InvoiceEvent):
        with CaptureQueriesContext(connection) as many:
            admin_client.get(admin_url(model, "changelist"))
        assert len(many) == counts[model], model.__name__


# Sandbox test cards ------------------------------------------------------------------


def add_test_cards(client, *customers):
    return client.post(
        admin_url(Customer, "changelist"),
        {"action": "add_sandbox_test_cards", "_selected_action": [c.pk for c in customers]},
        follow=True,
    )


def test_add_sandbox_test_cards_saves_one_method_per_token_with_sandbox_ok_default(
    admin_client, superuser
):
    customer = CustomerFactory()
    response = add_test_cards(admin_client, customer)
    assert "Added the sandbox test cards to 1 customer(s)." in messages_of(response)
    methods = PaymentMethod.objects.filter(customer=customer)
    assert sorted(methods.values_list("token", flat=True)) == sorted(t for t, _, _ in TEST_CARDS)
    assert set(methods.values_list("gateway", flat=True)) == {"sandbox"}
    assert methods.get(is_default=True).token == "sandbox_ok"
    assert set(methods.values_list("created_by", flat=True)) == {superuser.pk}


def test_add_sandbox_test_cards_keeps_an_existing_default_and_adds_nothing_twice(
    admin_client, superuser
):
    customer = CustomerFactory()
    own = saved_card(customer, superuser, "sandbox_declined", last4="0002")
    add_test_cards(admin_client, customer)
    add_test_cards(admin_client, customer)
    methods = PaymentMethod.objects.filter(customer=customer)
    assert methods.count() == 7
    assert methods.get(is_default=True) == own
    assert methods.filter(token="sandbox_declined").count() == 1


def test_add_sandbox_test_cards_is_offered_only_with_the_sandbox_gateway(admin_client, settings):
    customer = CustomerFactory()
    page = admin_client.get(admin_url(Customer, "changelist"))
    assert "add_sandbox_test_cards" in page.content.decode()

    settings.BILLING_DEFAULT_GATEWAY = "stripe"
    page = get_ok(admin_client, admin_url(Customer, "changelist"))
    assert "add_sandbox_test_cards" not in page.content.decode()
    add_test_cards(admin_client, customer)
    assert not PaymentMethod.objects.filter(customer=customer).exists()


def test_add_sandbox_test_cards_needs_the_permission_to_manage_customers(client, nobody):
    nobody.user_permissions.add(Permission.objects.get(codename=permissions.VIEW))
    client.force_login(nobody)
    customer = CustomerFactory()
    page = client.get(admin_url(Customer, "changelist"))
    assert page.status_code == 200
    assert "add_sandbox_test_cards" not in page.content.decode()
    add_test_cards(client, customer)
    assert not PaymentMethod.objects.filter(customer=customer).exists()


# Saves through the services, and tampered posts -----------------------------------------


def card_post(customer, **fields):
    return {
        "customer": customer.pk,
        "gateway": "sandbox",
        "token": "sandbox_ok",
        "brand": "Visa",
        "last4": "1111",
        "exp_month": "12",
        "exp_year": "2031",
        "is_default": "on",
        **fields,
    }


def test_adding_a_default_card_in_the_admin_takes_the_flag_from_the_old_default(
    admin_client, superuser
):
    customer = CustomerFactory()
    old = saved_card(customer, superuser, token="tok_old")
    response = admin_client.post(admin_url(PaymentMethod, "add"), card_post(customer))
    assert response.status_code == 302, response.content.decode()[:2000]
    new = PaymentMethod.objects.get(last4="1111")
    assert new.is_default
    assert new.created_by == superuser
    old.refresh_from_db()
    assert not old.is_default


def test_making_a_card_the_default_in_the_admin_moves_the_flag(admin_client, superuser):
    customer = CustomerFactory()
    first = saved_card(customer, superuser, token="tok_1", last4="1111")
    second = saved_card(customer, superuser, token="tok_2", last4="2222")
    first.refresh_from_db()
    assert not first.is_default and second.is_default
    response = admin_client.post(
        admin_url(PaymentMethod, "change", first.pk),
        {
            "brand": "Visa",
            "last4": "1111",
            "exp_month": "1",
            "exp_year": "2032",
            "is_default": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_default and first.exp_year == 2032
    assert not second.is_default


def test_a_card_the_service_refuses_is_a_form_error_in_the_admin(admin_client):
    customer = CustomerFactory()
    response = admin_client.post(
        admin_url(PaymentMethod, "add"), card_post(customer, exp_year="1999")
    )
    assert response.status_code == 200
    assert "The expiry month and year are not valid." in response.content.decode()
    assert not PaymentMethod.objects.exists()


@pytest.mark.parametrize("customer", ["abc", "9" * 40, "0x1"])
def test_a_card_for_a_customer_that_is_not_an_id_is_a_400(admin_client, customer):
    CustomerFactory()
    response = admin_client.post(
        admin_url(PaymentMethod, "add"), {**card_post(Customer.objects.get()), "customer": customer}
    )
    assert response.status_code == 400
    assert not PaymentMethod.objects.exists()


def test_changing_a_customer_in_the_admin_goes_through_the_service(admin_client, superuser):
    customer = CustomerFactory(external_ref="A-1")
    CustomerFactory(external_ref="B-2")
    url = admin_url(Customer, "change", customer.pk)
    data = {
        "name": "Renamed",
        "email": "",
        "currency": "jpy",
        "external_ref": "B-2",
        "payment_methods-TOTAL_FORMS": "0",
        "payment_methods-INITIAL_FORMS": "0",
        "balances-TOTAL_FORMS": "0",
        "balances-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "already" in response.content.decode()
    response = admin_client.post(url, {**data, "external_ref": "A-1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    customer.refresh_from_db()
    assert (customer.name, customer.currency) == ("Renamed", "JPY")


@pytest.mark.parametrize(
    ("model", "action"),
    [
        (Invoice, "issue_drafts"),
        (Invoice, "void_invoices"),
        (Invoice, "apply_customer_credit"),
        (Payment, "void_payments"),
        (Customer, "add_sandbox_test_cards"),
    ],
)
@pytest.mark.parametrize("selected", ["0x1", "9" * 40, "abc", "-1"])
def test_an_admin_action_on_ids_that_are_not_ids_is_a_400(
    admin_client, records, model, action, selected
):
    before = record_counts()
    response = admin_client.post(
        admin_url(model, "changelist"), {"action": action, "_selected_action": [selected]}
    )
    assert response.status_code == 400
    assert record_counts() == before
