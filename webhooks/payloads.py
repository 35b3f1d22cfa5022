"""What an event's ``data.object`` is: the API's own representation of the
record (api/), built by the API's functions so the two never differ. Receipts
have no API resource yet: ``receipt_out`` is their one representation.
"""

from api.customers import entry_out
from api.invoices import invoice_out
from api.payments import payment_out
from api.refunds import credit_note_out, refund_out
from api.schemas import iso, money_out, sid

# The representation of each record a timeline event names.
OUT = {
    "invoice": invoice_out,
    "payment": payment_out,
    "refund": refund_out,
    "credit_note": credit_note_out,
}


def balance_entry(entry):
    return {**entry_out(entry), "customer_id": sid(entry.balance.customer_id)}


def receipt_out(receipt):
    record = receipt.payment or receipt.refund
    return {
        "id": sid(receipt.pk),
        "object": "receipt",
        "number": receipt.number,
        "payment_id": sid(receipt.payment_id),
        "refund_id": sid(receipt.refund_id),
        "invoice_id": sid(receipt.invoice.pk),
        "amount": money_out(record.amount),
        "created_at": iso(receipt.created_at),
    }
