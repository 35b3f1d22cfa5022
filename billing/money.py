"""Money rules: fields, per-currency minor units, parsing and rounding.

Every amount crossing a function boundary is a ``moneyed.Money``. Amounts are
stored as DECIMAL(19, 4) with their own currency column (``default_currency=None``
so django-money never fills in a currency by itself), which holds JPY, USD, KWD and
CLF alike. An input with more decimals than its currency's minor unit is refused
(``invalid_amount``), never rounded; only computed amounts (line totals, tax) are
rounded, half away from zero, once, where they are computed.
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.formats import get_format
from djmoney.models.fields import MoneyField
from moneyed import Currency, Money, get_currency
from moneyed.classes import CurrencyDoesNotExist

from billing.errors import BillingError, ErrorCode

MAX_DIGITS = 19
DECIMAL_PLACES = 4
# 15 significant digits: exact in PostgreSQL's numeric and in SQLite's REAL alike.
MAX_AMOUNT = Decimal("99999999999.9999")


def money_field(verbose_name=None, **kwargs):
    """A MoneyField with the project's storage: DECIMAL(19, 4), own currency column."""
    kwargs.setdefault("max_digits", MAX_DIGITS)
    kwargs.setdefault("decimal_places", DECIMAL_PLACES)
    kwargs.setdefault("default_currency", None)
    return MoneyField(verbose_name, **kwargs)


def currency_code(currency):
    """Validate a currency (code or Currency) and return its ISO 4217 code."""
    code = currency.code if isinstance(currency, Currency) else str(currency or "").upper()
    try:
        get_currency(code)
    except CurrencyDoesNotExist:
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"{currency!r} is not a known currency.", field="currency"
        ) from None
    return code


def minor_unit(currency):
    """Number of decimals of a currency: USD 2, JPY 0, KWD 3, CLF 4."""
    sub_unit = get_currency(currency_code(currency)).sub_unit or 1
    return len(str(sub_unit)) - 1


def quantum(currency):
    return Decimal(1).scaleb(-minor_unit(currency))


def quantize(amount, currency=None):
    """Round a computed amount half-up (away from zero) to its currency's minor unit."""
    if isinstance(amount, Money):
        currency = amount.currency.code
        amount = amount.amount
    value = Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return Money(value, currency)


AMOUNT_EXAMPLE = "1,250.00"


def _amount_pattern():
    """The active locale's way of writing an amount: ASCII digits, its grouping
    separator between groups of its grouping size (optional), one decimal
    separator and an optional leading minus (``en-us``: ``-1,250.00``)."""
    group = re.escape(get_format("THOUSAND_SEPARATOR"))
    point = re.escape(get_format("DECIMAL_SEPARATOR"))
    size = get_format("NUMBER_GROUPING")
    size = size if isinstance(size, int) and size > 0 else 3
    whole = rf"(?:[0-9]{{1,{size}}}(?:{group}[0-9]{{{size}}})+|[0-9]+)"
    return re.compile(rf"(?P<minus>-?)(?P<whole>{whole})(?:{point}(?P<fraction>[0-9]+))?")


def _text_to_decimal(text, field):
    match = _amount_pattern().fullmatch(text.strip())
    if match is None:
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            f"{text[:40]!r} is not an amount: write the amount with digits and one "
            f"decimal point, like {AMOUNT_EXAMPLE}.",
            field=field,
        )
    whole = re.sub("[^0-9]", "", match["whole"])
    return Decimal(f"{match['minus']}{whole}.{match['fraction'] or '0'}")


def _as_decimal(value, field):
    if isinstance(value, float | bool):
        # A float has already lost the cents it claims to carry.
        raise BillingError(
            ErrorCode.INVALID_AMOUNT, "Amounts must be exact, not floats.", field=field
        )
    if isinstance(value, str):
        return _text_to_decimal(value, field)
    try:
        decimal = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise BillingError(
            ErrorCode.INVALID_AMOUNT, f"{value!r} is not an amount.", field=field
        ) from None
    if not decimal.is_finite():
        raise BillingError(ErrorCode.INVALID_AMOUNT, f"{value!r} is not an amount.", field=field)
    return decimal


def parse_amount(value, *, allow_zero=False, allow_negative=False, field="amount"):
    """An amount's number, or ``invalid_amount``: the checks of ``parse_money``
    that need no currency (format, zero, sign, size).

    Text is written the active locale's way (``_amount_pattern``: ASCII digits,
    grouping in the right places, one decimal separator); exponents,
    underscores, other scripts' digits, NaN and Infinity are refused. Decimal and
    int values are taken as they are. The size is checked before anything
    rounds, so no input is too large to refuse.
    """
    decimal = _as_decimal(value, field)
    if decimal == 0 and not allow_zero:
        raise BillingError(ErrorCode.INVALID_AMOUNT, "The amount must not be zero.", field=field)
    if decimal.is_signed() and decimal != 0 and not allow_negative:
        raise BillingError(ErrorCode.INVALID_AMOUNT, "The amount must be positive.", field=field)
    if abs(decimal) > MAX_AMOUNT:
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            f"The amount is larger than the largest allowed ({MAX_AMOUNT:,}).",
            field=field,
        )
    # -0 is 0.
    return decimal.copy_abs() if decimal == 0 else decimal


def parse_money(value, currency, *, allow_zero=False, allow_negative=False, field="amount"):
    """Turn user or caller input into an exact Money in ``currency``, or refuse.

    Accepts Money (whose currency must be ``currency``), Decimal, int or str
    (``parse_amount``). Refuses floats, non-numbers, zero and negatives (unless
    allowed), amounts beyond MAX_AMOUNT and more decimals than the currency has.
    """
    code = currency_code(currency)
    if isinstance(value, Money):
        if value.currency.code != code:
            raise BillingError(
                ErrorCode.CURRENCY_MISMATCH,
                f"The amount is in {value.currency.code} but this is in {code}.",
                field=field,
            )
        value = value.amount
    decimal = parse_amount(value, allow_zero=allow_zero, allow_negative=allow_negative, field=field)
    places = minor_unit(code)
    if decimal != decimal.quantize(quantum(code), rounding=ROUND_HALF_UP):
        unit = "no decimals" if places == 0 else f"at most {places} decimals"
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            f"{code} amounts have {unit}; {str(value)[:40]} has more.",
            field=field,
        )
    return Money(decimal.quantize(quantum(code)), code)


def zero(currency):
    return Money(Decimal(0).quantize(quantum(currency)), currency_code(currency))


def normalize(money):
    """The same amount at its currency's minor unit (storage keeps four decimals)."""
    return Money(money.amount.quantize(quantum(money.currency.code)), money.currency.code)


def format_money(money):
    """Money for people: grouped digits, the currency's own decimals, its code.

    ``str(Money)`` rounds for show; this never drops a digit the amount has.
    """
    if money is None:
        return ""
    code = money.currency.code
    amount = money.amount
    exponent = amount.normalize().as_tuple().exponent
    places = max(minor_unit(code), -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,.{places}f} {code}"
