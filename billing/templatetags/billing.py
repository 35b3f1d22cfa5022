"""Template filters of the back office: ``{% load billing %}``.

Every amount on a page goes through ``money`` (billing.money.format_money), never
``str(Money)``, which rounds for show.
"""

from django import template
from django.utils import timezone

from billing.models.customers import brand_label, card_label
from billing.money import format_money

register = template.Library()


@register.filter
def money(amount):
    """``{{ invoice.total|money }}`` → "1,250.00 USD", "48,000 JPY", "375.125 KWD"."""
    return format_money(amount)


@register.filter
def number(value):
    """A Decimal as people write it: ``{{ line.quantity|number }}`` → "2", "0.5",
    "100" (``Decimal.normalize`` alone shows 100 as "1E+2")."""
    if value is None or value == "":
        return ""
    return f"{value.normalize():f}"


@register.filter
def card_brand(brand):
    """A gateway's brand code as people write it: "visa" → "Visa", "jcb" → "JCB"."""
    return brand_label(brand)


@register.filter
def card(brand, last4):
    """``{{ method.brand|card:method.last4 }}`` → "Visa •••• 4242"."""
    return card_label(brand, last4)


@register.filter
def payment_method(payment):
    """How a payment was made (``Payment.method_description``): "Cheque #123",
    "Card terminal: Visa •••• 4242", "Bank transfer (ref TRX-1)"."""
    return payment.method_description


@register.filter
def card_expired(method):
    """A saved card is expired after the last day of its expiry month."""
    today = timezone.localdate()
    return (method.exp_year, method.exp_month) < (today.year, today.month)


@register.filter
def lookup(mapping, key):
    """``{{ outstanding|lookup:customer.pk }}``: a dict's value, or nothing."""
    return mapping.get(key) if mapping else None
