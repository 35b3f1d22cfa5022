"""What the tests of the invoice page's payment actions share (test_payment_*.py)."""

import json
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing import permissions, services
from billing.models import Invoice

KEY = "6f1c1a9e-4f8e-4a8e-9c43-2f4d1e0b9a11"
OTHER_KEY = "0b3f5c2e-7d1a-4c6b-9e8f-1a2b3c4d5e6f"


def user_with(*codenames, username="viewer"):
    """Staff holding only ``view_billing`` and the given billing permissions."""
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="billing", codename__in=[permissions.VIEW, *codenames]
        )
    )
    return user


def add_card(customer, actor, token="sandbox_ok", last4="4242", default=True):
    return services.payment_method_add(
        customer=customer,
        gateway="sandbox",
        token=token,
        brand="visa",
        last4=last4,
        exp_month=12,
        exp_year=2030,
        actor=actor,
        default=default,
    )


def text(response):
    """A response's text with tags and runs of white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


def triggers(response):
    return json.loads(response["HX-Trigger"])


def fresh(invoice):
    return Invoice.objects.get(pk=invoice.pk)


def invoice_page(client, invoice):
    return client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()


def form_key(response):
    """The idempotency key the form shows."""
    match = re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode())
    return match.group(1)
