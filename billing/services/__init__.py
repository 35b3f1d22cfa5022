"""Every operation that writes billing records (docs/design.md, "Operations").

Each public function takes keyword arguments only, checks the actor's
permission, runs in one durable transaction, locks rows in the order of
billing.locks, writes its audit rows, returns the record it made, and raises
BillingError (writing nothing) when it refuses.
"""

from billing.services.balances import balance_adjust, balance_pay_out, credit_apply
from billing.services.charges import (
    IssuedAndCharged,
    invoice_issue_and_charge,
    payment_charge,
    payment_retry,
)
from billing.services.credit_notes import CreditNoteIssued, credit_note_issue
from billing.services.customers import (
    customer_create,
    customer_update,
    payment_method_add,
    payment_method_remove,
    payment_method_update,
    sandbox_test_cards_add,
)
from billing.services.documents import (
    document_email,
    outbox_drain,
    outbox_handle,
    outbox_sweep,
    receipt_issue,
)
from billing.services.invoices import (
    invoice_create,
    invoice_issue,
    invoice_update_lines,
    invoice_void,
)
from billing.services.payments import payment_record, payment_record_check, payment_void
from billing.services.reconcile import payment_check_status, reconcile_pending
from billing.services.refunds import payment_refund
from billing.services.schedules import schedule_preview, schedule_remove, schedule_set

__all__ = [
    "CreditNoteIssued",
    "IssuedAndCharged",
    "balance_adjust",
    "balance_pay_out",
    "credit_apply",
    "credit_note_issue",
    "customer_create",
    "customer_update",
    "document_email",
    "invoice_create",
    "invoice_issue",
    "invoice_issue_and_charge",
    "invoice_update_lines",
    "invoice_void",
    "outbox_drain",
    "outbox_handle",
    "outbox_sweep",
    "payment_charge",
    "payment_check_status",
    "payment_method_add",
    "payment_method_remove",
    "payment_method_update",
    "payment_record",
    "payment_record_check",
    "payment_refund",
    "payment_retry",
    "payment_void",
    "receipt_issue",
    "reconcile_pending",
    "sandbox_test_cards_add",
    "schedule_preview",
    "schedule_remove",
    "schedule_set",
]
