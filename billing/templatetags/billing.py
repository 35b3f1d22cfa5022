"""Template filters and tags of the back office: ``{% load billing %}``.

Every amount on a page goes through ``money`` (billing.money.format_money), never
``str(Money)``, which rounds for show.

``money_cell`` and ``status_badge`` are tags, not included templates: a list
renders them in every row, and an ``{% include %}`` costs a template render with
its own context each time (about a fifth of the invoice list's time when they
were includes; benchmarks/README.md, "http_pages.py").
"""

import json

from django import template
from django.utils import timezone
from django.utils.html import format_html

from billing.models.customers import brand_label, card_label
from billing.money import format_money

register = template.Library()


@register.filter
def money(amount):
    """``{{ invoice.total|money }}`` → "1,250.00 USD", "48,000 JPY", "375.125 KWD"."""
    return format_money(amount)


@register.simple_tag
def money_cell(amount, muted=False):
    """A table cell with an amount, right-aligned in tabular figures:
    ``{% money_cell payment.amount %}``. ``muted=True`` greys out an amount that is
    zero; a negative amount is marked."""
    value = getattr(amount, "amount", None)
    if value is not None and value < 0:
        css = "num neg"
    elif muted and not value:
        css = "num muted"
    else:
        css = "num"
    return format_html('<td class="{}">{}</td>', css, format_money(amount))


@register.simple_tag
def status_badge(status, label, overdue=False):
    """A status as a coloured label: ``{% status_badge invoice.status
    invoice.get_status_display overdue=invoice.is_overdue %}``; ``overdue`` adds
    the shown-not-stored Overdue label next to it."""
    badge = format_html('<span class="badge badge--{}">{}</span>', status, label)
    if overdue:
        badge += format_html(' <span class="badge badge--{}">Overdue</span>', "overdue")
    return badge


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


@register.filter
def as_json(value):
    """An integration's meta as the JSON it sent (escaped like any text)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
