"""Customers and their saved methods in the back office (views/customers.py):
create and edit a customer, add a saved method (a sandbox test card, or a
gateway's token), make one the default. Each goes through its service."""

import json

import pytest
from django.test import override_settings
from django.urls import reverse

from billing.models import Customer, PaymentMethod
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, record_counts, saved_card, text, user_with

pytestmark = pytest.mark.django_db

NEW = reverse("billing:customer_create")
KEY = "6f1c2a3e-0000-4000-8000-000000000001"


def edit_url(customer):
    return reverse("billing:customer_edit", args=[customer.pk])


def add_url(customer):
    return reverse("billing:payment_method_add", args=[customer.pk])


def default_url(method):
    return reverse("billing:payment_method_make_default", args=[method.pk])


def page_of(customer):
    return reverse("billing:customer_detail", args=[customer.pk])


def everything():
    """Customers and saved methods as rows, to show a refusal wrote nothing."""
    return (
        record_counts(),
        list(Customer.objects.values_list()),
        list(PaymentMethod.objects.values_list()),
    )


# -- the buttons ---------------------------------------------------------------------


def test_the_buttons_show_with_the_permission(clerk_client, clerk):
    customer = CustomerFactory()
    other = saved_card(customer, clerk, default=False)
    saved_card(customer, clerk, last4="1111")
    assert (
        f'href="{NEW}"' in get_ok(clerk_client, reverse("billing:customer_list")).content.decode()
    )
    page = get_ok(clerk_client, page_of(customer)).content.decode()
    assert f'href="{edit_url(customer)}"' in page
    assert f'href="{add_url(customer)}"' in page
    assert f'href="{default_url(other)}"' in page
    assert page.count(">Make default</a>") == 1  # Not on the default itself.


def test_the_buttons_are_hidden_without_the_permission(client):
    customer = CustomerFactory()
    client.force_login(user_with("record_payment"))
    assert f'href="{NEW}"' not in get_ok(client, reverse("billing:customer_list")).content.decode()
    page = get_ok(client, page_of(customer)).content.decode()
    assert edit_url(customer) not in page and add_url(customer) not in page


def test_the_customer_page_query_count_does_not_grow_with_saved_methods(clerk_client, clerk):
    customer = CustomerFactory()
    saved_card(customer, clerk)
    few = count_queries(clerk_client, page_of(customer))
    for n in range(5):
        saved_card(customer, clerk, default=False, last4=f"100{n}")
    assert count_queries(clerk_client, page_of(customer)) == few


# -- create and edit -------------------------------------------------------------------


def test_a_new_customer_is_created_and_the_browser_goes_to_its_page(clerk_client, clerk):
    response = clerk_client.get(NEW, headers=htmx("modal"))
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<dialog id="modal-dialog"')
    response = clerk_client.post(
        NEW,
        {
            "name": "Bäckerei Müller",
            "email": "b@mueller.example",
            "currency": "EUR",
            "idempotency_key": KEY,
        },
        headers=htmx("modal-form"),
    )
    assert response.status_code == 200
    customer = Customer.objects.get()
    assert response["HX-Redirect"] == page_of(customer)
    assert (customer.name, customer.currency, customer.created_by) == (
        "Bäckerei Müller",
        "EUR",
        clerk,
    )


def test_without_javascript_a_new_customer_redirects_to_its_page(clerk_client):
    assert "<html" in get_ok(clerk_client, NEW).content.decode()
    response = clerk_client.post(NEW, {"name": "Acme", "currency": "USD", "idempotency_key": KEY})
    assert response.status_code == 302
    assert response["Location"] == page_of(Customer.objects.get())


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": " ", "currency": "USD"}, "name", "required"),
        ({"name": "Acme", "currency": "XXX"}, "currency", "valid choice"),
        ({"name": "Acme", "currency": "USD", "email": "not-an-address"}, "email", "e-mail"),
        ({"name": "Acme", "currency": "USD", "external_ref": "TAKEN"}, "external_ref", "already"),
    ],
)
def test_a_refused_customer_shows_the_form_again_and_writes_nothing(
    clerk_client, fields, field, message
):
    CustomerFactory(external_ref="TAKEN")
    before = everything()
    response = clerk_client.post(
        NEW, {**fields, "idempotency_key": KEY}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="modal-form"')
    assert message in content
    assert everything() == before


def test_editing_a_customer_saves_through_customer_update(clerk_client):
    customer = CustomerFactory(name="Acme", currency="USD")
    form = get_ok(clerk_client, edit_url(customer), headers=htmx("modal")).content.decode()
    assert 'value="Acme"' in form
    response = clerk_client.post(
        edit_url(customer),
        {"name": "Acme Corporation", "currency": "JPY", "external_ref": "ACME-7"},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    assert list(json.loads(response["HX-Trigger"])) == [
        "customer-changed",
        "showMessage",
        "closeModal",
    ]
    customer.refresh_from_db()
    assert (customer.name, customer.currency, customer.external_ref) == (
        "Acme Corporation",
        "JPY",
        "ACME-7",
    )


def test_editing_needs_manage_invoices_and_writes_nothing_without_it(client):
    customer = CustomerFactory(name="Acme")
    client.force_login(user_with("record_payment"))
    before = everything()
    response = client.post(
        edit_url(customer), {"name": "Hacked", "currency": "USD"}, headers=htmx()
    )
    assert response.status_code == 403
    assert everything() == before


# -- saved methods -------------------------------------------------------------------------


def test_a_sandbox_test_card_is_saved_as_the_default(clerk_client, clerk):
    customer = CustomerFactory()
    old = saved_card(customer, clerk)
    form = get_ok(clerk_client, add_url(customer), headers=htmx("modal")).content.decode()
    assert "Test declined •••• 0002" in form
    response = clerk_client.post(
        add_url(customer),
        {"test_card": "sandbox_declined", "default": "on", "idempotency_key": KEY},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    method = PaymentMethod.objects.exclude(pk=old.pk).get()
    assert (method.gateway, method.token, method.last4, method.is_default) == (
        "sandbox",
        "sandbox_declined",
        "0002",
        True,
    )
    old.refresh_from_db()
    assert not old.is_default


def test_a_gateway_token_is_saved_with_its_card_details(clerk_client):
    customer = CustomerFactory()
    response = clerk_client.post(
        add_url(customer),
        {
            "test_card": "",
            "gateway": "stripe",
            "token": "pm_1Abc",
            "brand": "visa",
            "last4": "4242",
            "exp_month": "12",
            "exp_year": "2031",
            "idempotency_key": KEY,
        },
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    method = PaymentMethod.objects.get()
    assert (method.gateway, method.token, method.exp_year, method.is_default) == (
        "stripe",
        "pm_1Abc",
        2031,
        False,
    )


@override_settings(BILLING_DEFAULT_GATEWAY="stripe")
def test_without_the_sandbox_no_test_cards_are_offered(clerk_client):
    form = get_ok(clerk_client, add_url(CustomerFactory()), headers=htmx("modal")).content.decode()
    assert "Test card" not in form and 'name="token"' in form


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"test_card": "", "gateway": "sandbox", "token": "4242 4242 4242 4242"}, "card number"),
        ({"test_card": ""}, "required without a test card"),
        ({"test_card": "sandbox_nonsense"}, "valid choice"),
        (
            {
                "test_card": "",
                "gateway": "sandbox",
                "token": "tok",
                "brand": "Visa",
                "last4": "42a2",
                "exp_month": "1",
                "exp_year": "2030",
            },
            "four digits",
        ),
    ],
)
def test_a_refused_method_writes_nothing(clerk_client, fields, message):
    customer = CustomerFactory()
    base = {
        **{"brand": "Visa", "last4": "4242", "exp_month": "1", "exp_year": "2030"},
        "idempotency_key": KEY,
    }
    before = everything()
    response = clerk_client.post(add_url(customer), {**base, **fields}, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert everything() == before


def test_make_default_moves_the_flag(clerk_client, clerk):
    customer = CustomerFactory()
    first = saved_card(customer, clerk)
    second = saved_card(customer, clerk, default=False, last4="1111")
    assert "1111" in text(get_ok(clerk_client, default_url(second), headers=htmx("modal")))
    response = clerk_client.post(default_url(second), {}, headers=htmx("modal-form"))
    assert response.status_code == 204
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_make_default_of_no_such_method_is_404(clerk_client):
    assert (
        clerk_client.post(reverse("billing:payment_method_make_default", args=[999])).status_code
        == 404
    )


def remove_url(method):
    return reverse("billing:payment_method_remove", args=[method.pk])


def test_remove_asks_first_then_hides_the_method(clerk_client, clerk):
    customer = CustomerFactory()
    card = saved_card(customer, clerk)
    dialog = text(get_ok(clerk_client, remove_url(card), headers=htmx("modal")))
    assert "It is the default method" in dialog
    response = clerk_client.post(remove_url(card), {}, headers=htmx("modal-form"))
    assert response.status_code == 204
    assert "no default method now" in response["HX-Trigger"]
    page = get_ok(clerk_client, page_of(customer)).content.decode()
    assert remove_url(card) not in page
    assert "No saved payment methods." in page


def test_removing_a_removed_method_is_refused_and_writes_nothing(clerk_client, clerk):
    card = saved_card(CustomerFactory(), clerk)
    assert clerk_client.post(remove_url(card), {}, headers=htmx("modal-form")).status_code == 204
    before = everything()
    response = clerk_client.post(remove_url(card), {}, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert 'data-code="invalid_state"' in response.content.decode()
    assert everything() == before


def test_a_double_submit_makes_one_customer_and_one_card(clerk_client):
    """One opened form, submitted twice (a double click, a retried request),
    acts once: the form's idempotency key reaches the service."""
    fields = {"name": "Acme", "currency": "USD", "idempotency_key": KEY}
    for _ in range(2):
        response = clerk_client.post(NEW, fields, headers=htmx("modal-form"))
        assert response.status_code == 200
    customer = Customer.objects.get()
    card = {"test_card": "sandbox_ok", "default": "on", "idempotency_key": KEY}
    for _ in range(2):
        response = clerk_client.post(add_url(customer), card, headers=htmx("modal-form"))
        assert response.status_code == 204
    assert PaymentMethod.objects.filter(customer=customer).count() == 1
