"""Assert that a refused operation raised the right code and wrote nothing."""

import datetime

import pytest

from billing.errors import BillingError
from billing.models import Allocation, Instalment, Invoice, MoneyBalance, Payment
from tests.helpers import record_counts

TODAY = datetime.date.today()


def snapshot():
    """Every money record count plus every running total that a refusal must not move."""
    return {
        "counts": record_counts(),
        "invoices": list(
            Invoice.objects.order_by("pk").values_list(
                "pk",
                "status",
                "number",
                "total",
                "amount_paid",
                "amount_credited",
                "amount_due",
                "amount_pending",
                "has_schedule",
            )
        ),
        "payments": list(
            Payment.objects.order_by("pk").values_list(
                "pk", "status", "amount_refunded", "amount_to_credit"
            )
        ),
        "balances": list(MoneyBalance.objects.order_by("pk").values_list("pk", "amount")),
        "instalments": list(
            Instalment.objects.order_by("pk").values_list("pk", "due_date", "amount", "amount_paid")
        ),
        "allocations": list(
            Allocation.objects.order_by("pk").values_list("pk", "amount", "amount_released")
        ),
    }


def assert_refused(code, operation, /, *, watch=None, **kwargs):
    """Call ``operation(**kwargs)``; it must raise ``code`` and change nothing.

    The invoice passed (or ``watch``) is refreshed to check its amounts and status held.
    """
    invoice = watch if watch is not None else kwargs.get("invoice")
    if not isinstance(invoice, Invoice):
        invoice = None
    before = snapshot()
    if invoice is not None:
        invoice.refresh_from_db()
        amounts = (
            invoice.status,
            invoice.total,
            invoice.amount_paid,
            invoice.amount_credited,
            invoice.amount_due,
        )
    with pytest.raises(BillingError) as error:
        operation(**kwargs)
    assert error.value.code == code, error.value.message
    assert snapshot() == before
    if invoice is not None:
        invoice.refresh_from_db()
        assert (
            invoice.status,
            invoice.total,
            invoice.amount_paid,
            invoice.amount_credited,
            invoice.amount_due,
        ) == amounts
    return error.value
