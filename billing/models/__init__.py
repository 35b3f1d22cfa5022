from billing.models._base import MAX_ID, NOTE_MAX_LENGTH
from billing.models.balances import BalanceEntry, BalanceEntryKind, MoneyBalance
from billing.models.credit_notes import CreditNote, CreditNoteReason
from billing.models.customers import Customer, GatewayName, PaymentMethod
from billing.models.documents import DocumentKind, OutboxMessage, OutboxTopic, Receipt
from billing.models.events import (
    INTERMEDIATE_EVENT_KINDS,
    GatewayEvent,
    InvoiceEvent,
    InvoiceEventKind,
)
from billing.models.idempotency import IdempotencyKey
from billing.models.invoices import (
    ISSUED_STATUSES,
    PAYABLE_STATUSES,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    invoice_status,
)
from billing.models.payments import (
    EXTERNAL_METHODS,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
)
from billing.models.refunds import Refund, RefundDestination, RefundReason, RefundStatus
from billing.models.sandbox import SandboxCharge, SandboxRefund, SandboxStatus
from billing.models.schedules import (
    Allocation,
    Instalment,
    InstalmentStatus,
    instalment_status,
)

__all__ = [
    "EXTERNAL_METHODS",
    "INTERMEDIATE_EVENT_KINDS",
    "ISSUED_STATUSES",
    "MAX_ID",
    "NOTE_MAX_LENGTH",
    "PAYABLE_STATUSES",
    "Allocation",
    "BalanceEntry",
    "BalanceEntryKind",
    "CreditNote",
    "CreditNoteReason",
    "Customer",
    "DocumentKind",
    "DocumentSequence",
    "GatewayEvent",
    "GatewayName",
    "IdempotencyKey",
    "Instalment",
    "InstalmentStatus",
    "Invoice",
    "InvoiceEvent",
    "InvoiceEventKind",
    "InvoiceLine",
    "InvoiceStatus",
    "MoneyBalance",
    "OutboxMessage",
    "OutboxTopic",
    "Payment",
    "PaymentMethod",
    "PaymentMethodKind",
    "PaymentStatus",
    "Receipt",
    "Refund",
    "RefundDestination",
    "RefundReason",
    "RefundStatus",
    "SandboxCharge",
    "SandboxRefund",
    "SandboxStatus",
    "instalment_status",
    "invoice_status",
]
