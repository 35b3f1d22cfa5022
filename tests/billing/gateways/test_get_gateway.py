import pytest

from billing.gateways import GatewayUnavailable, get_gateway
from billing.gateways.sandbox import SandboxGateway
from billing.gateways.stripe import StripeGateway


def test_the_sandbox_is_the_default_gateway():
    assert isinstance(get_gateway(), SandboxGateway)
    assert isinstance(get_gateway("sandbox"), SandboxGateway)


def test_the_default_follows_the_setting(settings):
    settings.BILLING_DEFAULT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    gateway = get_gateway()
    assert isinstance(gateway, StripeGateway)
    assert gateway.name == "stripe"


def test_stripe_without_a_secret_key_is_unavailable(settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(GatewayUnavailable) as raised:
        get_gateway("stripe")
    assert raised.value.message == (
        "Stripe is not configured: set STRIPE_SECRET_KEY to the account's secret key."
    )
    assert not raised.value.money_may_have_moved


@pytest.mark.parametrize("name", ["paypal", "Sandbox", "stripe "])
def test_an_unknown_gateway_is_unavailable_and_named(name):
    with pytest.raises(GatewayUnavailable) as raised:
        get_gateway(name)
    assert raised.value.message == (
        f"There is no payment gateway called {name!r}; the gateways are sandbox, stripe."
    )
