"""Customers and their saved payment methods."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.gateways import sandbox
from billing.models import Customer, GatewayName, PaymentMethod
from billing.money import currency_code
from billing.services._common import require_choice, require_text

CARD_NUMBER = re.compile(r"^[\d\s-]{12,}$")


@transaction.atomic(durable=True)
def customer_create(*, name, currency, actor, email="", external_ref=""):
    """Create a customer. ``currency`` is the default of their new invoices.

    Raises ``invalid_value`` for a missing name, unknown currency, malformed
    e-mail or an external reference another customer has.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    name = require_text(name, "name", "A name")
    currency = currency_code(currency)
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise BillingError(
                ErrorCode.INVALID_VALUE, f"{email!r} is not an e-mail address.", field="email"
            ) from None
    external_ref = (external_ref or "").strip()
    if external_ref and Customer.objects.filter(external_ref=external_ref).exists():
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"Another customer already has the external reference {external_ref!r}.",
            field="external_ref",
        )
    return Customer.objects.create(
        name=name, currency=currency, email=email, external_ref=external_ref, created_by=actor
    )


@transaction.atomic(durable=True)
def payment_method_add(
    *, customer, gateway, token, brand, last4, exp_month, exp_year, actor, default=True
):
    """Save a customer's method at a gateway: its token and what identifies it.

    Refuses (``invalid_value``) anything that looks like a card number in place
    of a token, so card data can never be stored. A new default method takes the
    default flag from the customer's previous one.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    require_choice(gateway, GatewayName, "gateway", "gateway")
    token = require_text(token, "token", "The gateway's token")
    if CARD_NUMBER.match(token):
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "That looks like a card number. Save the gateway's token, never card data.",
            field="token",
        )
    brand = require_text(brand, "brand", "The card brand")
    last4 = str(last4 or "").strip()
    if not re.fullmatch(r"\d{4}", last4):
        raise BillingError(
            ErrorCode.INVALID_VALUE, "The last 4 digits must be four digits.", field="last4"
        )
    try:
        exp_month, exp_year = int(exp_month), int(exp_year)
    except (TypeError, ValueError):
        exp_month = exp_year = 0
    if not (1 <= exp_month <= 12 and 2000 <= exp_year <= 2100):
        raise BillingError(
            ErrorCode.INVALID_VALUE, "The expiry month and year are not valid.", field="exp_month"
        )
    customer = locks.lock_customer(customer)
    if default:
        # Not a money column, so a plain UPDATE is fine here.
        PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False)
    return PaymentMethod.objects.create(
        customer=customer,
        gateway=gateway,
        token=token,
        brand=brand,
        last4=last4,
        exp_month=exp_month,
        exp_year=exp_year,
        is_default=bool(default),
        created_by=actor,
    )


def sandbox_test_cards_add(*, customer, actor):
    """Give ``customer`` one saved sandbox method per test token it lacks
    (``billing.gateways.sandbox.TEST_CARDS``), for trying every gateway outcome.

    Each goes through ``payment_method_add`` (its permission check applies).
    ``sandbox_ok`` becomes the default only if the customer has no default
    method. Idempotent: tokens the customer already has are skipped. Returns
    the methods added.
    """
    existing = set(
        customer.payment_methods.filter(gateway=GatewayName.SANDBOX).values_list("token", flat=True)
    )
    has_default = customer.payment_methods.filter(is_default=True).exists()
    return [
        payment_method_add(
            customer=customer,
            gateway=GatewayName.SANDBOX,
            token=token,
            brand=brand,
            last4=last4,
            exp_month=12,
            exp_year=2099,
            actor=actor,
            default=token == sandbox.OK and not has_default,
        )
        for token, brand, last4 in sandbox.TEST_CARDS
        if token not in existing
    ]
