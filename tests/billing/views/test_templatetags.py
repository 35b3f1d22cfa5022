import datetime

import pytest
from django.template import Context, Template, engines
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import timezone
from moneyed import Money

from billing import urls as billing_urls
from billing.models import Payment, PaymentMethod
from billing.templatetags.billing import id_url
from tests.helpers import user_with


def render(source, **context):
    return Template("{% load billing %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("money", "shown"),
    [
        (Money("1250", "USD"), "1,250.00 USD"),
        (Money("1250.5000", "USD"), "1,250.50 USD"),
        (Money("48000.0000", "JPY"), "48,000 JPY"),
        (Money("375.1250", "KWD"), "375.125 KWD"),
        (Money("0.0001", "CLF"), "0.0001 CLF"),
        (Money("-5", "USD"), "-5.00 USD"),
        (None, ""),
    ],
)
def test_the_money_filter_shows_each_currency_s_own_decimals(money, shown):
    assert render("{{ amount|money }}", amount=money) == shown


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"method": "cash"}, "Cash"),
        ({"method": "cheque", "cheque_number": "123"}, "Cheque #123"),
        (
            {"method": "card", "card_brand": "visa", "card_last4": "4242"},
            "Card terminal: Visa •••• 4242",
        ),
        ({"method": "bank_transfer", "bank_reference": "TRX-1"}, "Bank transfer (ref TRX-1)"),
        ({"method": "bank_transfer"}, "Bank transfer"),
        ({"method": "customer_credit"}, "Customer credit"),
    ],
)
def test_payment_method_names_the_detail_a_clerk_knows_it_by(fields, label):
    assert render("{{ p|payment_method }}", p=Payment(**fields)) == label


def test_a_saved_method_payment_shows_the_card():
    saved = PaymentMethod(id=1, brand="mastercard", last4="4444")
    payment = Payment(method="saved_method", payment_method=saved)
    assert render("{{ p|payment_method }}", p=payment) == "Mastercard •••• 4444"


def test_card_brands_are_written_as_people_write_them():
    assert render("{{ b|card:'0505' }}", b="jcb") == "JCB •••• 0505"
    assert render("{{ b|card_brand }}", b="SomeNewBrand") == "SomeNewBrand"


@pytest.mark.parametrize(
    ("money", "muted", "cell"),
    [
        (Money("1250", "USD"), False, '<td class="num">1,250.00 USD</td>'),
        (Money("-5", "USD"), False, '<td class="num neg">-5.00 USD</td>'),
        (Money("-5", "USD"), True, '<td class="num neg">-5.00 USD</td>'),
        (Money("0", "USD"), False, '<td class="num">0.00 USD</td>'),
        (Money("0", "USD"), True, '<td class="num muted">0.00 USD</td>'),
        (Money("3", "JPY"), True, '<td class="num">3 JPY</td>'),
        (None, True, '<td class="num muted"></td>'),
    ],
)
def test_money_cell_renders_what_its_component_template_did(money, muted, cell):
    """The tag replaced ``{% include "components/money_cell.html" %}`` for speed;
    the cell is the same, and the component renders the tag."""
    assert render("{% money_cell amount muted=muted %}", amount=money, muted=muted) == cell
    included = render(
        '{% include "components/money_cell.html" with amount=amount muted=muted %}',
        amount=money,
        muted=muted,
    )
    assert included.strip() == cell


def test_status_badge_escapes_and_adds_overdue():
    assert (
        render("{% status_badge 'paid' 'Paid' %}") == '<span class="badge badge--paid">Paid</span>'
    )
    assert render("{% status_badge status label overdue=True %}", status="open", label="<b>") == (
        '<span class="badge badge--open">&lt;b&gt;</span>'
        ' <span class="badge badge--overdue">Overdue</span>'
    )


ID_PATHS = [
    f"billing:{pattern.name}"
    for pattern in billing_urls.urlpatterns
    if list(pattern.pattern.converters) == ["pk"]
]


@pytest.mark.parametrize("name", ID_PATHS)
def test_id_url_gives_what_reverse_gives(name):
    for pk in (1, 7, 28, 918_273, 2**63 - 1):
        assert id_url(name, pk) == reverse(name, args=[pk])
    rendered = render(f"{{% id_url '{name}' pk as link %}}<a href=\"{{{{ link }}}}\">", pk=42)
    assert rendered == f'<a href="{reverse(name, args=[42])}">'


def test_id_url_follows_the_script_prefix_and_hands_other_arguments_to_reverse():
    assert len(ID_PATHS) > 20
    try:
        set_script_prefix("/office/")
        assert id_url("billing:invoice_detail", 5) == "/office/invoices/5/"
    finally:
        set_script_prefix("/")
    assert id_url("billing:invoice_detail", 5) == "/invoices/5/"
    pay_out = reverse("billing:balance_pay_out", args=[3, "EUR"])
    assert id_url("billing:balance_pay_out", 3, "EUR") == pay_out
    with pytest.raises(NoReverseMatch):
        id_url("billing:invoice_detail", "not-an-id")


@pytest.mark.parametrize(
    "value",
    [
        datetime.date(2026, 3, 14),
        datetime.date(999, 1, 2),
        # 23:30 UTC is the next day in Europe/Berlin, 18:30 the same day in New York.
        datetime.datetime(2026, 3, 14, 23, 30, 59, tzinfo=datetime.UTC),
        datetime.datetime(2026, 12, 31, 23, 5, tzinfo=datetime.UTC),
        None,
        "",
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_ymd_and_ymd_hm_show_what_the_date_filter_shows(value, zone):
    with timezone.override(zone):
        assert render("{{ v|ymd }}", v=value) == render('{{ v|date:"Y-m-d" }}', v=value)
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            shown = render('{{ v|date:"Y-m-d H:i" }}', v=value)
            assert render("{{ v|ymd_hm }}", v=value) == shown


@pytest.mark.django_db
def test_perms_asks_each_permission_once_a_page(rf, monkeypatch):
    user = user_with("record_payment")
    asked = []
    has_perm = type(user).has_perm
    monkeypatch.setattr(
        type(user),
        "has_perm",
        lambda self, perm, obj=None: asked.append(perm) or has_perm(self, perm, obj),
    )
    request = rf.get("/")
    request.user = user
    source = (
        "{% for n in rows %}{{ perms.billing.record_payment }} {{ perms.billing.void_payment }} "
        "{% endfor %}"
    )
    shown = engines["django"].from_string(source).render({"rows": range(3)}, request)
    assert shown.split() == ["True", "False"] * 3
    assert sorted(asked) == ["billing.record_payment", "billing.void_payment"]
