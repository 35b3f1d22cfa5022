import pytest

from billing import services
from billing.errors import BillingError
from billing.models import Customer, PaymentMethod
from tests.billing.services._refusals import assert_refused
from tests.factories import CustomerFactory
from tests.helpers import saved_card

pytestmark = pytest.mark.django_db


def test_customer_create_makes_a_customer_with_a_currency(clerk):
    customer = services.customer_create(
        name="  Acme Ltd ",
        currency="eur",
        actor=clerk,
        email=" billing@acme.test ",
        external_ref="CRM-1",
    )
    customer.refresh_from_db()
    assert customer.name == "Acme Ltd"
    assert customer.currency == "EUR"
    assert customer.email == "billing@acme.test"
    assert customer.external_ref == "CRM-1"
    assert customer.created_by == clerk


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": " "},
        {"currency": "XXY"},
        {"email": "not-an-address"},
        {"external_ref": "CRM-TAKEN"},
        # Longer than the columns hold: refused, never cut or a database error.
        {"name": "A" * 201},
        {"external_ref": "R" * 101},
    ],
)
def test_customer_create_refuses_invalid_values(clerk, kwargs):
    CustomerFactory(external_ref="CRM-TAKEN")
    before = Customer.objects.count()
    arguments = {"name": "Acme", "currency": "USD", "actor": clerk, **kwargs}
    assert_refused("invalid_value", services.customer_create, **arguments)
    assert Customer.objects.count() == before


def test_customer_create_refuses_a_user_without_permission(nobody):
    assert_refused(
        "permission_denied", services.customer_create, name="Acme", currency="USD", actor=nobody
    )
    assert not Customer.objects.exists()


def method_args(customer, actor, **overrides):
    return {
        "customer": customer,
        "gateway": "sandbox",
        "token": "sandbox_ok",
        "brand": "Visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
        "actor": actor,
        **overrides,
    }


def test_payment_method_add_saves_a_token_and_moves_the_default(clerk):
    customer = CustomerFactory()
    first = services.payment_method_add(**method_args(customer, clerk))
    assert first.is_default
    assert first.token == "sandbox_ok"
    second = services.payment_method_add(**method_args(customer, clerk, token="sandbox_declined"))
    first.refresh_from_db()
    assert second.is_default
    assert not first.is_default
    third = services.payment_method_add(
        **method_args(customer, clerk, token="sandbox_refund_fails", default=False)
    )
    second.refresh_from_db()
    assert not third.is_default
    assert second.is_default


@pytest.mark.parametrize(
    "overrides",
    [
        {"gateway": "paypal"},
        {"token": ""},
        {"token": "4242 4242 4242 4242"},
        {"token": "4242-4242-4242-4242"},
        {"brand": ""},
        {"last4": "42"},
        {"exp_month": 13},
        {"exp_year": 1999},
        {"exp_month": "soon"},
        {"brand": "B" * 31},
        {"token": "t" * 256},
    ],
)
def test_payment_method_add_refuses_card_data_and_invalid_values(clerk, overrides):
    customer = CustomerFactory()
    assert_refused(
        "invalid_value", services.payment_method_add, **method_args(customer, clerk, **overrides)
    )
    assert not PaymentMethod.objects.exists()


def test_payment_method_add_refuses_a_user_without_permission(nobody):
    assert_refused(
        "permission_denied",
        services.payment_method_add,
        **method_args(CustomerFactory(), nobody),
    )
    assert not PaymentMethod.objects.exists()


def make_default(card, actor, brand="Visa"):
    return services.payment_method_update(
        payment_method=card,
        brand=brand,
        last4=card.last4,
        exp_month=1,
        exp_year=2031,
        default=True,
        actor=actor,
    )


def test_payment_method_update_moves_the_default_flag(clerk):
    customer = CustomerFactory()
    first = saved_card(customer, clerk, "tok_1", last4="1111")
    second = saved_card(customer, clerk, "tok_2", last4="2222")
    updated = make_default(first, clerk, brand="Mastercard")
    second.refresh_from_db()
    assert updated.is_default and updated.brand == "Mastercard"
    assert not second.is_default


def test_payment_method_update_and_customer_update_need_the_permission(nobody, clerk):
    customer = CustomerFactory()
    card = saved_card(customer, clerk)
    with pytest.raises(BillingError) as error:
        make_default(card, nobody)
    assert error.value.code == "permission_denied"
    with pytest.raises(BillingError) as error:
        services.customer_update(customer=customer, name="X", currency="USD", actor=nobody)
    assert error.value.code == "permission_denied"


def test_customer_update_refuses_another_customers_external_reference(clerk):
    customer = CustomerFactory(external_ref="A-1")
    CustomerFactory(external_ref="B-2")
    with pytest.raises(BillingError) as error:
        services.customer_update(
            customer=customer, name="X", currency="USD", external_ref="B-2", actor=clerk
        )
    assert (error.value.code, error.value.field) == ("invalid_value", "external_ref")
    kept = services.customer_update(
        customer=customer, name=" Acme ", currency="eur", external_ref="A-1", actor=clerk
    )
    assert (kept.name, kept.currency, kept.external_ref) == ("Acme", "EUR", "A-1")
