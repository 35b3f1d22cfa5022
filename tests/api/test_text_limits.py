"""Text one character longer than its column is refused by the API itself
(422 invalid_value naming the field) and writes nothing; the limits are read
from the models' columns (api.schemas.column_length), so they cannot drift."""

import pytest
from moneyed import Money

from billing.models import BalanceEntry, CreditNote, InvoiceEvent, InvoiceLine, Refund
from tests.api.conftest import problem_of
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db

USD = {"amount": "1.00", "currency": "USD"}


def too_long(model, name):
    return "x" * (model._meta.get_field(name).max_length + 1)


def cases(customer, invoice, payment):
    return [
        (
            "/invoices",
            {
                "customer_id": str(customer.pk),
                "lines": [{"description": too_long(InvoiceLine, "description"), "unit_price": USD}],
            },
            "lines.0.description",
        ),
        (
            f"/invoices/{invoice.pk}/void",
            {"reason": too_long(InvoiceEvent, "message")},
            "reason",
        ),
        (
            f"/payments/{payment.pk}/refunds",
            {
                "amount": USD,
                "destination": "external",
                "reason": "requested_by_customer",
                "notes": too_long(Refund, "notes"),
            },
            "notes",
        ),
        (
            f"/payments/{payment.pk}/refunds",
            {
                "amount": USD,
                "destination": "external",
                "reason": "requested_by_customer",
                "reference": too_long(Refund, "reference"),
            },
            "reference",
        ),
        (
            f"/invoices/{invoice.pk}/credit_notes",
            {"reason": "goodwill", "reduce_due": USD, "memo": too_long(CreditNote, "memo")},
            "memo",
        ),
        (
            f"/customers/{customer.pk}/balance_adjustments",
            {"amount": USD, "reason": too_long(BalanceEntry, "reason")},
            "reason",
        ),
        (
            f"/customers/{customer.pk}/balance_payouts",
            {"amount": USD, "reference": "r", "notes": too_long(BalanceEntry, "reason")},
            "notes",
        ),
    ]


@pytest.mark.parametrize("case", range(7))
def test_text_longer_than_its_column_is_refused(manager_api, manager, case):
    customer = CustomerFactory()
    invoice = issued_invoice(customer, manager, "100.00")
    payment = pay(invoice, manager, "10.00")
    path, body, field = cases(customer, invoice, payment)[case]
    before = record_counts()
    answer = problem_of(manager_api.post(path, body), 422, "invalid_value")
    assert answer["field"] == field
    assert record_counts() == before
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("10.00", "USD")
