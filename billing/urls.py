"""The back office's pages, under the "billing" namespace (docs/frontend.md)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from bank import views as bank
from billing.views import (
    balances,
    credit_notes,
    customers,
    dashboard,
    documents,
    exports,
    invoices,
    payments,
    refunds,
    schedules,
    stripe_webhooks,
)

app_name = "billing"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("webhooks/stripe", stripe_webhooks.stripe_webhook, name="stripe_webhook"),
    path("invoices/", invoices.invoice_list, name="invoice_list"),
    path("invoices/<int:pk>/", invoices.invoice_detail, name="invoice_detail"),
    path("invoices/new/", invoices.invoice_create, name="invoice_create"),
    path("invoices/<int:pk>/edit/", invoices.invoice_edit, name="invoice_edit"),
    path("invoices/<int:pk>/issue/", invoices.invoice_issue, name="invoice_issue"),
    path(
        "invoices/<int:pk>/issue-and-charge/",
        invoices.invoice_issue_and_charge,
        name="invoice_issue_and_charge",
    ),
    path("invoices/<int:pk>/void/", invoices.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/apply-credit/", invoices.credit_apply, name="credit_apply"),
    path(
        "invoices/<int:pk>/credit-notes/new/",
        credit_notes.credit_note_issue,
        name="credit_note_issue",
    ),
    path("invoices/<int:pk>/schedule/", schedules.invoice_schedule, name="invoice_schedule"),
    path(
        "invoices/<int:pk>/schedule/remove/",
        schedules.invoice_schedule_remove,
        name="invoice_schedule_remove",
    ),
    path("invoices/<int:pk>/payments/new/", payments.payment_record, name="payment_record"),
    path("invoices/<int:pk>/charge/", payments.payment_charge, name="payment_charge"),
    path("invoices/<int:pk>/take-payment/", payments.payment_take, name="payment_take"),
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/new/", customers.customer_create, name="customer_create"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", customers.customer_edit, name="customer_edit"),
    path(
        "customers/<int:pk>/payment-methods/new/",
        customers.payment_method_add,
        name="payment_method_add",
    ),
    path(
        "payment-methods/<int:pk>/make-default/",
        customers.payment_method_make_default,
        name="payment_method_make_default",
    ),
    path(
        "payment-methods/<int:pk>/remove/",
        customers.payment_method_remove,
        name="payment_method_remove",
    ),
    path("customers/<int:pk>/balances/adjust/", balances.balance_adjust, name="balance_adjust"),
    path(
        "customers/<int:pk>/balances/<str:currency>/pay-out/",
        balances.balance_pay_out,
        name="balance_pay_out",
    ),
    path(
        "customers/<int:pk>/balances/<str:currency>/apply/",
        balances.customer_credit_apply,
        name="customer_credit_apply",
    ),
    path("payments/", payments.payment_list, name="payment_list"),
    path("payments/<int:pk>/", payments.payment_detail, name="payment_detail"),
    path("payments/<int:pk>/refund/", refunds.payment_refund, name="payment_refund"),
    path("payments/<int:pk>/void/", payments.payment_void, name="payment_void"),
    path("payments/<int:pk>/retry/", payments.payment_retry, name="payment_retry"),
    path(
        "payments/<int:pk>/check-status/",
        payments.payment_check_status,
        name="payment_check_status",
    ),
    path(
        "payments/<int:pk>/receipt.pdf", documents.payment_receipt_pdf, name="payment_receipt_pdf"
    ),
    path(
        "payments/<int:pk>/receipt/email/",
        documents.payment_receipt_email,
        name="payment_receipt_email",
    ),
    path("refunds/<int:pk>/receipt.pdf", documents.refund_receipt_pdf, name="refund_receipt_pdf"),
    path("invoices/<int:pk>/invoice.pdf", documents.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/email/", documents.invoice_email, name="invoice_email"),
    path("credit-notes/<int:pk>/pdf/", documents.credit_note_pdf, name="credit_note_pdf"),
    path("credit-notes/<int:pk>/email/", documents.credit_note_email, name="credit_note_email"),
    path("payments/export.csv", exports.payment_export, name="payment_export"),
    path("refunds/", refunds.refund_list, name="refund_list"),
    path("refunds/export.csv", exports.refund_export, name="refund_export"),
    path("credit-notes/", credit_notes.credit_note_list, name="credit_note_list"),
    path("credit-notes/export.csv", exports.credit_note_export, name="credit_note_export"),
    path("bank/", bank.bank, name="bank"),
    path("bank/lines/<int:pk>/confirm/", bank.line_confirm, name="bank_line_confirm"),
    path("bank/lines/<int:pk>/match/", bank.line_match, name="bank_line_match"),
    path("bank/lines/<int:pk>/ignore/", bank.line_ignore, name="bank_line_ignore"),
    path("bank/lines/<int:pk>/undo/", bank.line_undo, name="bank_line_undo"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=False),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
