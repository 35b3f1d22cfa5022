"""Payment gateways: the interface (``base``), the built-in sandbox and Stripe.

``get_gateway(name)`` turns a saved method's ``gateway`` into a ready gateway.
See docs/gateways.md for the interface, the sandbox's test tokens and settings.
"""

from django.conf import settings

from billing.gateways.base import (
    FAILED,
    SUCCEEDED,
    Gateway,
    GatewayCharge,
    GatewayError,
    GatewayRefund,
    GatewayTimeout,
    GatewayUnavailable,
)
from billing.models import GatewayName


def get_gateway(name=None):
    """The gateway called ``name`` ("sandbox" or "stripe"), by default the
    ``BILLING_DEFAULT_GATEWAY`` setting.

    A new instance each call, configured from the settings of the moment (so tests
    can override them). Raises ``GatewayUnavailable`` — nothing was attempted — for
    an unknown name, or for Stripe without ``STRIPE_SECRET_KEY``.
    """
    name = name or settings.BILLING_DEFAULT_GATEWAY
    if name == GatewayName.SANDBOX:
        from billing.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == GatewayName.STRIPE:
        api_key = settings.STRIPE_SECRET_KEY
        if not api_key:
            raise GatewayUnavailable(
                "Stripe is not configured: set STRIPE_SECRET_KEY to the account's secret key."
            )
        # Imported on use: the stripe library is large and the sandbox needs none of it.
        from billing.gateways.stripe import StripeGateway

        return StripeGateway(api_key=api_key, timeout=settings.BILLING_GATEWAY_TIMEOUT)
    raise GatewayUnavailable(
        f"There is no payment gateway called {name!r}; "
        f"the gateways are {', '.join(GatewayName.values)}."
    )


__all__ = [
    "FAILED",
    "SUCCEEDED",
    "Gateway",
    "GatewayCharge",
    "GatewayError",
    "GatewayRefund",
    "GatewayTimeout",
    "GatewayUnavailable",
    "get_gateway",
]
