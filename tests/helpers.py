"""Building states through the real services, running them side by side, and
reading the pages the views answer with."""

import datetime
import json
import re
import threading
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from moneyed import Money

from billing import permissions, services
from billing.models import (
    Allocation,
    BalanceEntry,
    CreditNote,
    Customer,
    DocumentSequence,
    IdempotencyKey,
    Instalment,
    Invoice,
    InvoiceEvent,
    MoneyBalance,
    OutboxMessage,
    Payment,
    PaymentMethod,
    Receipt,
    Refund,
)
from tests.factories import CustomerFactory

MONEY_MODELS = (
    Payment,
    Refund,
    CreditNote,
    BalanceEntry,
    InvoiceEvent,
    IdempotencyKey,
    OutboxMessage,
    Receipt,
    Instalment,
    Allocation,
)
# Every billing model the admin shows (invoice lines are inlines of their invoice).
ADMIN_MODELS = (
    Customer,
    PaymentMethod,
    Invoice,
    Payment,
    Refund,
    CreditNote,
    MoneyBalance,
    BalanceEntry,
    InvoiceEvent,
    IdempotencyKey,
    DocumentSequence,
)


def issued_invoice(customer, actor, amount="100.00", currency=None, apply_credit=True):
    currency = currency or customer.currency
    draft = services.invoice_create(
        customer=customer,
        currency=currency,
        lines=[
            {
                "description": "Service",
                "quantity": Decimal(1),
                "unit_price": Money(amount, currency),
            }
        ],
        actor=actor,
    )
    return services.invoice_issue(invoice=draft, actor=actor, apply_credit=apply_credit)


def invoice_with_card(actor, token="sandbox_ok", amount="100.00"):
    """An issued invoice of a new customer whose default method is a sandbox card."""
    customer = CustomerFactory()
    saved_card(customer, actor, token)
    return issued_invoice(customer, actor, amount)


def pay(invoice, actor, amount, **kwargs):
    kwargs.setdefault("method", "cash")
    kwargs.setdefault("paid_at", datetime.date.today())
    return services.payment_record(
        invoice=invoice, amount=Money(amount, invoice.currency), actor=actor, **kwargs
    )


def refund_to_card(payment, actor, amount):
    """Refund ``amount`` of a charge back through its gateway."""
    return services.payment_refund(
        payment=payment,
        amount=Money(amount, payment.currency),
        destination="original_method",
        actor=actor,
        reason="requested_by_customer",
    )


def saved_card(customer, actor, token="sandbox_ok", **details):
    """Save a card for ``customer`` at the sandbox gateway, as the default method.

    ``token`` says how the sandbox answers (billing/gateways/sandbox.py); ``details``
    override the card's brand, last4, expiry, gateway or ``default``.
    """
    card = {
        "gateway": "sandbox",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2040,
        "default": True,
        **details,
    }
    return services.payment_method_add(customer=customer, token=token, actor=actor, **card)


def user_with(*codenames, username="viewer"):
    """Staff holding only ``view_billing`` and the given billing permissions."""
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="billing", codename__in=[permissions.VIEW, *codenames]
        )
    )
    return user


def record_counts():
    """How many money records exist, to assert a refusal wrote nothing."""
    return {model.__name__: model.objects.count() for model in MONEY_MODELS}


def run_together(count, work):
    """Run ``work(i)`` in ``count`` threads released together.

    Returns (results, errors): what each call returned or raised, by index.
    """
    barrier = threading.Barrier(count)
    results, errors = {}, {}

    def target(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected; the test asserts on them
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


# -- pages -------------------------------------------------------------------------


def get_ok(client, url, data=None, **kwargs):
    """GET ``url``, asserting it answered 200: a 403 or 404 page lacks every button
    too, so a test that a page leaves something out must first know it is the page."""
    response = client.get(url, data, **kwargs)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response


def invoice_page(client, invoice):
    """The invoice page's HTML, once it answered 200."""
    return get_ok(client, reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()


def text(response):
    """A response's text with tags and runs of white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


def triggers(response):
    """The events an htmx response asks the page to fire (its HX-Trigger header)."""
    return json.loads(response["HX-Trigger"])


def take_payment_sources(client, invoice):
    """{source key: its action's URL} that the invoice's "Take payment" dialog
    offers ``client``'s user; empty when the page shows no "Take payment"."""
    page = invoice_page(client, invoice)
    take_url = reverse("billing:payment_take", args=[invoice.pk])
    if f'href="{take_url}"' not in page:
        return {}
    dialog = get_ok(client, take_url, headers={"HX-Request": "true", "HX-Target": "modal"})
    return dict(
        re.findall(
            r'name="source" value="([a-z]+)"[^>]*\s+hx-get="([^"]+)"', dialog.content.decode()
        )
    )
