"""The site's URLs plus the benchmark's baseline: a bare view that runs the raw SQL
of one payment. Only benchmarks/http_settings.py mounts it; config/urls.py never does."""

import os
import uuid

from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as site_urlpatterns

# What a payment is in SQL: lock the invoice, insert the payment, move the
# invoice's amounts (benchmarks/payment_record.py's "raw SQL", at 0.01).
LOCK = "SELECT id, amount_paid, amount_due FROM billing_invoice WHERE id = %s FOR UPDATE"
INSERT = """INSERT INTO billing_payment (invoice_id, currency, amount, amount_currency, status,
    method, cheque_number, card_brand, card_last4, bank_reference, paid_at, reference,
    notes, gateway_key, gateway_charge_id, failure_reason, amount_refunded,
    amount_refunded_currency, amount_to_credit, amount_to_credit_currency, void_reason,
    created_at, created_by_id)
   VALUES (%s, 'USD', 0.01, 'USD', 'succeeded', 'cash', '', '', '', '', CURRENT_DATE, '',
    '', %s, '', '', 0, 'USD', 0, 'USD', '', now(), %s)"""
# The payments are the bench user's (benchmarks/http_pages.py passes its id).
ACTOR = int(os.environ.get("HTTP_BENCH_USER_ID", 0))
UPDATE = """UPDATE billing_invoice SET amount_paid = amount_paid + 0.01,
    amount_due = amount_due - 0.01, status = 'partially_paid' WHERE id = %s"""


@csrf_exempt
def bare_payment(request, pk):
    """No session, no user, no form, no template: the floor a page is compared to."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK, [pk])
        cursor.fetchone()
        cursor.execute(INSERT, [pk, str(uuid.uuid4()), ACTOR])
        cursor.execute(UPDATE, [pk])
    return HttpResponse(status=204)


urlpatterns = [
    path("bench/bare-payment/<int:pk>/", bare_payment),
    *site_urlpatterns,
]
