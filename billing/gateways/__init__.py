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

GATEWAY_NAMES = ("sandbox", "stripe")


def get_gateway(name=None):
    """The gateway called ``name`` ("sandbox" or "stripe"), by default the
    ``BILLING_DEFAULT_GATEWAY`` setting.

    A new instance each call, configured from the settings of the moment (so tests
    can override them). Raises ``GatewayUnavailable`` — nothing was attempted — for
    an unknown name, or for Stripe without ``STRIPE_SECRET_KEY``.
    """
    name = name or settings.BILLING_DEFAULT_GATEWAY
    if name == "sandbox":
        from billing.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "stripe":
        api_key = settings.STRIPE_SECRET_KEY
        if not api_key:
            raise GatewayUnavailable(
                "Stripe is not configured: set STRIPE_SECRET_KEY to the account's secret key."
            )
        # Imported on use: the stripe library is large and the sandbox needs none of it.
        from billing.gateways.stripe import StripeGateway

        return StripeGateway(api_key=api_key, timeout=settings.BILLING_GATEWAY_TIMEOUT)
    raise GatewayUnavailable(
        f"There is no payment gateway called {name!r}; the gateways are {', '.join(GATEWAY_NAMES)}."
    )


__all__ = [
    "FAILED",
    "GATEWAY_NAMES",
    "SUCCEEDED",
    "Gateway",
    "GatewayCharge",
    "GatewayError",
    "GatewayRefund",
    "GatewayTimeout",
    "GatewayUnavailable",
    "get_gateway",
]
