"""Every row lock billing takes, in one place.

Services lock rows before reading them, always in this order, so two
operations never wait on each other in a cycle (no deadlocks):

    idempotency key  ->  invoice  ->  payment(s)  ->  refund  ->  number counter  ->  balance

(The idempotency key's unique-index entry comes first: a request that waits on
it holds nothing else yet.) Payments of one invoice are locked in id order.
One lock is taken elsewhere, in the same place of the order: payment_record's
one statement (services/_one_statement.py) locks the invoice by updating it.

On SQLite ``select_for_update`` is a no-op; there every transaction begins
IMMEDIATE (config.settings), which serialises writers, so the same code is
correct on both databases.
"""

from django.db.models import Model
from moneyed import Money

from billing.errors import BillingError, ErrorCode
from billing.models import (
    Customer,
    DocumentSequence,
    Invoice,
    MoneyBalance,
    Payment,
    PaymentMethod,
    Refund,
)


def _pk(obj):
    return obj.pk if isinstance(obj, Model) else obj


def lock_invoice(invoice):
    """Lock and return a fresh copy of the invoice (an instance or its id)."""
    try:
        return Invoice.objects.select_for_update().get(pk=_pk(invoice))
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise BillingError(
            ErrorCode.INVOICE_NOT_FOUND, f"There is no invoice {invoice}.", field="invoice"
        ) from None


def lock_payment(payment):
    """Lock one payment. Take its invoice's lock first (``lock_invoice``)."""
    return Payment.objects.select_for_update().get(pk=_pk(payment))


def lock_payments(invoice, **filters):
    """Lock the invoice's payments matching ``filters``, in id order."""
    return list(
        Payment.objects.select_for_update().filter(invoice=invoice, **filters).order_by("pk")
    )


def lock_refund(refund):
    """Lock one refund. Take its invoice's and payment's locks first."""
    return Refund.objects.select_for_update().get(pk=_pk(refund))


def next_number(kind, year):
    """Take the next number of a document sequence under its row lock.

    The counter is bumped inside the caller's transaction: if that rolls back
    the number is given back, so issued numbers have no gaps.
    """
    DocumentSequence.objects.bulk_create(
        [DocumentSequence(kind=kind, year=year)], ignore_conflicts=True
    )
    sequence = DocumentSequence.objects.select_for_update().get(kind=kind, year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def lock_balance(customer, currency, *, create=True):
    """Lock the customer's balance in ``currency``, creating an empty one if asked.

    Returns None when it does not exist and ``create`` is false.
    """
    if create:
        MoneyBalance.objects.bulk_create(
            [MoneyBalance(customer_id=_pk(customer), currency=currency, amount=Money(0, currency))],
            ignore_conflicts=True,
        )
    return (
        MoneyBalance.objects.select_for_update()
        .filter(customer_id=_pk(customer), currency=currency)
        .first()
    )


def lock_customer(customer):
    """Lock a customer row: only to change its details or its saved methods' default
    flag, which no money operation touches, so it stands outside the order above."""
    return Customer.objects.select_for_update().get(pk=_pk(customer))


def lock_payment_method(method):
    """Lock a saved method. Take its customer's lock first (``lock_customer``)."""
    return PaymentMethod.objects.select_for_update().get(pk=_pk(method))
