"""Reads: balances, lookups and reports. Nothing here writes."""

from billing.errors import BillingError, ErrorCode
from billing.models import Invoice, MoneyBalance
from billing.money import currency_code, zero


def customer_credit(*, customer, currency):
    """The customer's credit in ``currency`` as Money (zero when they have none)."""
    code = currency_code(currency)
    balance = MoneyBalance.objects.filter(customer=customer, currency=code).first()
    return balance.amount if balance is not None else zero(code)


def customer_credits(*, customer):
    """Every non-empty credit balance of a customer, by currency."""
    return [b.amount for b in customer.balances.order_by("currency") if b.amount.amount != 0]


def invoice_get(*, reference):
    """An invoice by its number (``INV-2026-000123``) or id, or ``invoice_not_found``."""
    reference = str(reference).strip()
    lookup = {"pk": int(reference)} if reference.isdigit() else {"number": reference}
    try:
        return Invoice.objects.select_related("customer").get(**lookup)
    except Invoice.DoesNotExist:
        raise BillingError(
            ErrorCode.INVOICE_NOT_FOUND, f"There is no invoice {reference}.", field="invoice"
        ) from None
