"""What the tests of the invoice page's payment actions share (test_payment_*.py);
helpers every view test uses are in tests/helpers.py."""

import re

from billing.models import Invoice

KEY = "6f1c1a9e-4f8e-4a8e-9c43-2f4d1e0b9a11"
OTHER_KEY = "0b3f5c2e-7d1a-4c6b-9e8f-1a2b3c4d5e6f"


def fresh(invoice):
    return Invoice.objects.get(pk=invoice.pk)


def form_key(response):
    """The idempotency key the form shows."""
    match = re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode())
    return match.group(1)
