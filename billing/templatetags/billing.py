"""Template filters and tags of the back office: ``{% load billing %}``.

Every amount on a page goes through ``money`` (billing.money.format_money), never
``str(Money)``, which rounds for show.

``money_cell`` and ``status_badge`` are tags, not included templates: a list
renders them in every row, and an ``{% include %}`` costs a template render with
its own context each time (about a fifth of the invoice list's time when they
were includes; benchmarks/README.md, "http_pages.py").
"""

import json
from datetime import date, datetime
from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
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


@register.filter(expects_localtime=True)
def ymd(value):
    """``{{ invoice.issue_date|ymd }}`` → "2026-03-14": what ``|date:"Y-m-d"``
    shows (a moment in the current time zone's day), without building a
    formatter for each value, which a list pays twice a row. Nothing for None."""
    return value.isoformat()[:10] if isinstance(value, date) else ""


@register.filter(expects_localtime=True)
def ymd_hm(value):
    """``{{ payment.created_at|ymd_hm }}`` → "2026-03-14 09:05", as
    ``|date:"Y-m-d H:i"`` shows a moment, in the current time zone."""
    return value.isoformat(sep=" ", timespec="minutes")[:16] if isinstance(value, datetime) else ""


@register.simple_tag
def id_url(name, *ids):
    """``{% id_url 'billing:invoice_detail' invoice.pk %}``: ``{% url %}`` for
    the paths whose arguments are ids, as a list's rows link them. ``reverse``
    searches the URL patterns and checks the result against the pattern's
    regular expression on every call (about a tenth of the invoice list when
    each row did it twice); the path of a name is the same whatever the id, so
    it is reversed once (``_id_path``) and the ids are put in its gaps. Any
    other argument goes to ``reverse``."""
    if ids and all(type(pk) is int for pk in ids):
        urlconf = get_urlconf() or settings.ROOT_URLCONF
        pieces = _id_path(name, len(ids), urlconf, get_script_prefix())
        if pieces is not None:
            parts = [pieces[0]]
            for pk, piece in zip(ids, pieces[1:], strict=True):
                parts += (str(pk), piece)
            return "".join(parts)
    return reverse(name, args=ids)


# Stand-ins reversed in the ids' places, then cut out: no path holds these digits.
_ID_MARKERS = (918_273_645_546_372_819, 918_273_645_546_372_828, 918_273_645_546_372_837)


@lru_cache(maxsize=256)
def _id_path(name, count, urlconf, prefix):
    """The path of ``name`` with ``count`` ids, cut where the ids go: [before
    the first, between, ..., after the last]; None when it cannot be cut so
    (more ids than stand-ins, or a stand-in found twice)."""
    if count > len(_ID_MARKERS):
        return None
    path = reverse(name, args=_ID_MARKERS[:count], urlconf=urlconf)
    pieces = []
    for marker in map(str, _ID_MARKERS[:count]):
        before, found, path = path.partition(marker)
        if not found or marker in path:
            return None
        pieces.append(before)
    return (*pieces, path)


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
