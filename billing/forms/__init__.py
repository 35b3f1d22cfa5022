"""The back office's action forms, one module per area as in billing/views/:
validation and normalisation only, never a save (a view passes the cleaned
data to a service). The views import them from here; the list pages' filters
are in billing/filters.py."""

from billing.forms.balances import BalanceAdjustForm, BalancePayOutForm, CustomerCreditApplyForm
from billing.forms.credit_notes import CreditNoteIssueForm
from billing.forms.invoices import (
    CreditApplyForm,
    InvoiceForm,
    InvoiceIssueAndChargeForm,
    InvoiceIssueForm,
    InvoiceVoidForm,
    invoice_line_formset,
    invoice_line_initial,
)
from billing.forms.payments import (
    PaymentChargeForm,
    PaymentRecordForm,
    PaymentRetryForm,
    PaymentVoidForm,
)
from billing.forms.refunds import PaymentRefundForm

__all__ = [
    "BalanceAdjustForm",
    "BalancePayOutForm",
    "CreditApplyForm",
    "CreditNoteIssueForm",
    "CustomerCreditApplyForm",
    "InvoiceForm",
    "InvoiceIssueAndChargeForm",
    "InvoiceIssueForm",
    "InvoiceVoidForm",
    "PaymentChargeForm",
    "PaymentRecordForm",
    "PaymentRefundForm",
    "PaymentRetryForm",
    "PaymentVoidForm",
    "invoice_line_formset",
    "invoice_line_initial",
]
