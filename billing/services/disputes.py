"""Disputes (chargebacks) a gateway tells us about.

A dispute moves no money in billing: the gateway holds the disputed amount while
the card network decides, and what staff must do (answer with evidence before
the deadline) happens at the gateway. Billing records that it happened, on the
invoice's timeline, so staff see it on the invoice and the payment.
"""

from django.db import transaction

from billing import locks
from billing.models import GatewayEvent, InvoiceEventKind
from billing.services._common import event


@transaction.atomic(durable=True)
def payment_dispute_record(*, payment, gateway, event_id, event_type, amount, message, actor):
    """Write a ``payment_disputed`` timeline entry on the payment's invoice, once
    per gateway event: the entry and its ``GatewayEvent`` are written together,
    under the invoice's lock, so a second delivery of ``event_id`` (even at the
    same moment) writes nothing. ``amount`` is Money in the invoice's currency,
    or None. Returns ``(invoice event, created)``.
    Locks: invoice.
    """
    invoice = locks.lock_invoice(payment.invoice_id)
    seen = (
        GatewayEvent.objects.filter(gateway=gateway, event_id=event_id)
        .select_related("invoice_event")
        .first()
    )
    if seen is not None:
        return seen.invoice_event, False
    entry = event(
        invoice,
        InvoiceEventKind.PAYMENT_DISPUTED,
        actor,
        amount=amount,
        payment=payment,
        message=message,
    )
    GatewayEvent.objects.create(
        gateway=gateway, event_id=event_id, type=event_type, invoice_event=entry
    )
    return entry, True
