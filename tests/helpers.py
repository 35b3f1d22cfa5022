"""Building states through the real services, and running them side by side."""

import datetime
import threading
from decimal import Decimal

from django.db import connection
from moneyed import Money

from billing import services
from billing.models import BalanceEntry, CreditNote, IdempotencyKey, InvoiceEvent, Payment, Refund

MONEY_MODELS = (Payment, Refund, CreditNote, BalanceEntry, InvoiceEvent, IdempotencyKey)


def issued_invoice(customer, actor, amount="100.00", currency=None, apply_credit=True):
    currency = currency or customer.currency
    draft = services.invoice_create(
        customer=customer,
        currency=currency,
        lines=[
            {
                "description": "Service",
                "quantity": Decimal(1),
                "unit_price": Money(amount, currency),
            }
        ],
        actor=actor,
    )
    return services.invoice_issue(invoice=draft, actor=actor, apply_credit=apply_credit)


def pay(invoice, actor, amount, **kwargs):
    kwargs.setdefault("method", "cash")
    kwargs.setdefault("paid_at", datetime.date.today())
    return services.payment_record(
        invoice=invoice, amount=Money(amount, invoice.currency), actor=actor, **kwargs
    )


def record_counts():
    """How many money records exist, to assert a refusal wrote nothing."""
    return {model.__name__: model.objects.count() for model in MONEY_MODELS}


def run_together(count, work):
    """Run ``work(i)`` in ``count`` threads released together.

    Returns (results, errors): what each call returned or raised, by index.
    """
    barrier = threading.Barrier(count)
    results, errors = {}, {}

    def target(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected; the test asserts on them
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors
