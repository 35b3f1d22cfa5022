import datetime

import pytest
from moneyed import Money

from billing import services
from billing.errors import BillingError
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def test_payment_record_partial_then_rest_pays_the_invoice(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    pay(invoice, manager, "40.00", method="cheque", details={"cheque_number": "0042"})
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid"
    assert invoice.amount_due == Money("60.00", "USD")
    pay(invoice, manager, "60.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_paid == Money("100.00", "USD")


def test_payment_record_refuses_overpayment_and_writes_nothing(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    before = record_counts()
    with pytest.raises(BillingError) as error:
        services.payment_record(
            invoice=invoice,
            amount=Money("100.01", "USD"),
            method="cash",
            paid_at=datetime.date.today(),
            actor=manager,
        )
    assert error.value.code == "overpayment"
    assert record_counts() == before
    invoice.refresh_from_db()
    assert invoice.amount_due == Money("100.00", "USD")
