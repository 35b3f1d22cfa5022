"""parse_money, the one parser of amounts: what it takes and what it refuses
(the services and every amount field of the forms go through it)."""

from decimal import Decimal

import pytest
from moneyed import Money

from billing import services
from billing.errors import BillingError
from billing.money import parse_money
from tests.billing.services._refusals import TODAY
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1250", "USD", "1250.00"),
        ("1,250.00", "USD", "1250.00"),
        ("1,000,000.5", "USD", "1000000.50"),
        (" 12.5 ", "USD", "12.50"),
        ("48,000", "JPY", "48000"),
        ("375.125", "KWD", "375.125"),
        ("99,999,999,999.9999", "CLF", "99999999999.9999"),
    ],
)
def test_plain_digits_with_the_locales_grouping_are_amounts(text, currency, expected):
    assert parse_money(text, currency) == Money(expected, currency)


@pytest.mark.parametrize(
    "value",
    [Decimal("1E+2"), Decimal("100"), 100, Money("100", "USD")],
    ids=["decimal-exponent", "decimal", "int", "money"],
)
def test_services_may_pass_decimals_ints_and_money(value):
    assert parse_money(value, "USD") == Money("100.00", "USD")


@pytest.mark.parametrize(
    "text",
    [
        "1e2",
        "1E2",
        "1_000",
        "1__0",
        "1,00",
        "10,00.00",
        ",100",
        "1.2.3",
        "1.",
        "+5",
        "٣",  # Arabic-Indic three
        "１２",  # full-width twelve
        "𝟏𝟐",  # mathematical bold twelve
        "NaN",
        "sNaN",
        "Infinity",
        "12 USD",
    ],
)
def test_careless_amounts_are_refused_with_a_sentence(text):
    with pytest.raises(BillingError) as error:
        parse_money(text, "USD")
    assert error.value.code == "invalid_amount"
    assert "with digits and one decimal point, like 1,250.00" in error.value.message


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("1" + "0" * 26, "USD"),
        ("1" + "0" * 25, "KWD"),
        ("1" + "0" * 28, "JPY"),
        ("1" + "0" * 24, "CLF"),
        ("9" * 28, "USD"),
        ("9" * 41, "USD"),
        (Decimal("1E+26"), "USD"),
        (Decimal("1E+25"), "KWD"),
        (Decimal("1E+28"), "JPY"),
        (Decimal("1E+24"), "CLF"),
        (10**40, "USD"),
        (Money(Decimal("1E+26"), "USD"), "USD"),
    ],
)
def test_amounts_too_large_to_round_are_refused_not_crashed(value, currency):
    with pytest.raises(BillingError) as error:
        parse_money(value, currency)
    assert error.value.code == "invalid_amount"
    assert "larger than the largest allowed" in error.value.message


def test_a_minus_only_where_negatives_are_allowed():
    assert parse_money("-1,250.50", "USD", allow_negative=True) == Money("-1250.50", "USD")
    with pytest.raises(BillingError) as error:
        parse_money("-1,250.50", "USD")
    assert error.value.code == "invalid_amount"
    assert parse_money("-0", "USD", allow_zero=True) == Money("0.00", "USD")


def test_payment_record_takes_a_grouped_amount_from_an_api(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "2000.00")
    payment = services.payment_record(
        invoice=invoice, amount="1,000.00", method="cash", paid_at=TODAY, actor=clerk
    )
    assert payment.amount == Money("1000.00", "USD")
