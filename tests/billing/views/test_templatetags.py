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
