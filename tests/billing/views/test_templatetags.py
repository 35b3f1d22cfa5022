import pytest
from django.template import Context, Template
from moneyed import Money

from billing.models import Payment, PaymentMethod


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
