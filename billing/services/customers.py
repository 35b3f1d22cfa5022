"""Customers and their saved payment methods."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.gateways import sandbox
from billing.models import Customer, GatewayName, PaymentMethod
from billing.money import currency_code
from billing.services._common import Idempotency, limit_text, require_choice, require_text

CARD_NUMBER = re.compile(r"^[\d\s-]{12,}$")


def clean_customer_fields(name, currency, email, external_ref, *, customer=None):
    """customer_create's and customer_update's checks (a form may ask them first):
    the cleaned fields, or ``invalid_value``."""
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
    others = Customer.objects.exclude(pk=customer.pk) if customer else Customer.objects
    if external_ref and others.filter(external_ref=external_ref).exists():
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"Another customer already has the external reference {external_ref!r}.",
            field="external_ref",
        )
    limit_text(Customer, name=name, email=email, external_ref=external_ref)
    return dict(name=name, currency=currency, email=email, external_ref=external_ref)


@transaction.atomic(durable=True)
def customer_create(*, name, currency, actor, email="", external_ref="", idempotency_key=None):
    """Create a customer. ``currency`` is the default of their new invoices.

    Raises ``invalid_value`` for a missing name, unknown currency, malformed
    e-mail or an external reference another customer has.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    fields = clean_customer_fields(name, currency, email, external_ref)
    key = Idempotency("customer_create", idempotency_key, fields, actor)
    if key.claim():
        return key.replay
    return key.finish(Customer.objects.create(**fields, created_by=actor))


@transaction.atomic(durable=True)
def customer_update(*, customer, name, currency, actor, email="", external_ref=""):
    """Change a customer's details, with ``customer_create``'s checks. Locks the
    customer."""
    permissions.require(actor, permissions.MANAGE_INVOICES)
    customer = locks.lock_customer(customer)
    fields = clean_customer_fields(name, currency, email, external_ref, customer=customer)
    for field, value in fields.items():
        setattr(customer, field, value)
    customer.save(update_fields=list(fields))
    return customer


def clean_card_fields(brand, last4, exp_month, exp_year):
    """What identifies a saved card, checked as payment_method_add and
    payment_method_update check it (a form may ask first): the cleaned fields,
    or ``invalid_value``."""
    brand = require_text(
        brand,
        "brand",
        "The card brand",
        max_length=PaymentMethod._meta.get_field("brand").max_length,
    )
    last4 = str(last4 or "").strip()
    if not re.fullmatch(r"[0-9]{4}", last4):
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
    return dict(brand=brand, last4=last4, exp_month=exp_month, exp_year=exp_year)


def _take_default(customer):
    # Not a money column, so a plain UPDATE is fine here.
    PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False)


@transaction.atomic(durable=True)
def payment_method_add(
    *,
    customer,
    gateway,
    token,
    brand,
    last4,
    exp_month,
    exp_year,
    actor,
    default=True,
    idempotency_key=None,
):
    """Save a customer's method at a gateway: its token and what identifies it.

    Refuses (``invalid_value``) anything that looks like a card number in place
    of a token, so card data can never be stored. A new default method takes the
    default flag from the customer's previous one.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    require_choice(gateway, GatewayName, "gateway", "gateway")
    token = require_text(
        token,
        "token",
        "The gateway's token",
        max_length=PaymentMethod._meta.get_field("token").max_length,
    )
    if CARD_NUMBER.match(token):
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "That looks like a card number. Save the gateway's token, never card data.",
            field="token",
        )
    fields = clean_card_fields(brand, last4, exp_month, exp_year)
    key = Idempotency(
        "payment_method_add",
        idempotency_key,
        dict(
            customer=getattr(customer, "pk", customer),
            gateway=gateway,
            token=token,
            default=bool(default),
            **fields,
        ),
        actor,
    )
    if key.claim():
        return key.replay
    customer = locks.lock_customer(customer)
    if default:
        _take_default(customer)
    return key.finish(
        PaymentMethod.objects.create(
            customer=customer,
            gateway=gateway,
            token=token,
            is_default=bool(default),
            created_by=actor,
            **fields,
        )
    )


@transaction.atomic(durable=True)
def payment_method_update(*, payment_method, brand, last4, exp_month, exp_year, default, actor):
    """Change what identifies a saved method and whether it is the default (its
    customer, gateway and token are fixed). Made the default, it takes the flag
    from the customer's previous default. Locks the customer, then the method."""
    permissions.require(actor, permissions.MANAGE_INVOICES)
    fields = clean_card_fields(brand, last4, exp_month, exp_year)
    customer = locks.lock_customer(payment_method.customer_id)
    method = locks.lock_payment_method(payment_method)
    _refuse_removed(method)
    if default and not method.is_default:
        _take_default(customer)
    fields["is_default"] = bool(default)
    for field, value in fields.items():
        setattr(method, field, value)
    method.save(update_fields=list(fields))
    return method


def _refuse_removed(method):
    if method.is_removed:
        raise BillingError(
            ErrorCode.INVALID_STATE, f"{method} was removed from the customer's saved methods."
        )


@transaction.atomic(durable=True)
def payment_method_remove(*, payment_method, actor):
    """Remove a saved method from its customer's: it is kept (payments name it)
    but never charged, offered or made the default again. Removing the default
    leaves the customer without one until another is made the default; nothing
    is chosen for them. Raises ``invalid_state`` for a method already removed.
    Locks the customer, then the method."""
    permissions.require(actor, permissions.MANAGE_INVOICES)
    locks.lock_customer(payment_method.customer_id)
    method = locks.lock_payment_method(payment_method)
    _refuse_removed(method)
    method.removed_at = timezone.now()
    method.is_default = False
    method.save(update_fields=["removed_at", "is_default"])
    return method


def sandbox_test_cards_add(*, customer, actor):
    """Give ``customer`` one saved sandbox method per test token it lacks
    (``billing.gateways.sandbox.TEST_CARDS``), for trying every gateway outcome.

    Each goes through ``payment_method_add`` (its permission check applies).
    ``sandbox_ok`` becomes the default only if the customer has no default
    method. Idempotent: tokens the customer already has (and has not removed)
    are skipped. Returns the methods added.
    """
    existing = set(
        customer.payment_methods.filter(
            gateway=GatewayName.SANDBOX, removed_at__isnull=True
        ).values_list("token", flat=True)
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
