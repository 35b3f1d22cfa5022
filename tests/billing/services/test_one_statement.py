"""payment_record's one-statement path (PostgreSQL) writes what the ORM path writes.

The ORM path is what SQLite runs and what PostgreSQL falls back to; here it is
forced by making the one statement decline, and both paths record the same
payment on twin invoices.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from billing import services
from billing.errors import BillingError
from billing.models import IdempotencyKey, Invoice, InvoiceEvent, OutboxMessage, Payment
from billing.services import _one_statement
from billing.services._common import new_event
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TODAY = datetime.date.today()


def fields(instance, *, leave_out=()):
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.attname not in leave_out
    }


def written(payment):
    """What a recording left in the database, less what differs between two records."""
    payment = Payment.objects.get(pk=payment.pk)
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    events = InvoiceEvent.objects.filter(payment=payment)
    outbox = OutboxMessage.objects.filter(payment=payment)
    return (
        fields(payment, leave_out=("id", "invoice_id", "gateway_key", "created_at")),
        fields(invoice, leave_out=("id", "number", "created_at")),
        [fields(e, leave_out=("id", "invoice_id", "payment_id", "created_at")) for e in events],
        # The receipt's outbox row: not done yet (its task runs after the test's commit).
        [fields(m, leave_out=("id", "payment_id", "created_at")) for m in outbox],
    )


def statements(queries):
    # The test's own transaction turns the service's into savepoints.
    return [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]


@pytest.mark.parametrize(
    ("currency", "total", "amount", "method", "details", "reference"),
    [
        ("USD", "100.00", "40.00", "cash", None, ""),
        ("USD", "100.00", "100.00", "cheque", {"cheque_number": "0042"}, "  REF-7 "),
        ("JPY", "1000", "999", "card", {"card_brand": "Visa", "card_last4": "4242"}, ""),
        ("KWD", "1.000", "0.999", "bank_transfer", {"bank_reference": "TRX-1"}, "r"),
    ],
)
def test_both_paths_write_the_same_rows(
    clerk, monkeypatch, currency, total, amount, method, details, reference
):
    customer = CustomerFactory(currency=currency)
    twins = [issued_invoice(customer, clerk, total) for _ in range(2)]
    # An integration's meta (nested, with numbers) goes into the same column both ways.
    meta = None if method == "cash" else {"crm": {"id": method, "n": [1, 2.5]}, "ok": True}
    kwargs = dict(method=method, details=details, reference=reference, notes=" paid ", meta=meta)

    with CaptureQueriesContext(connection) as one:
        fast = pay(twins[0], clerk, amount, **kwargs)
    with monkeypatch.context() as patch, CaptureQueriesContext(connection) as orm:
        patch.setattr(_one_statement, "record_payment", lambda *args, **kwargs: None)
        slow = pay(twins[1], clerk, amount, **kwargs)

    assert len(statements(one.captured_queries)) == 1
    assert len(statements(orm.captured_queries)) == 5  # lock, payment, invoice, event, outbox
    assert written(fast) == written(slow)
    assert [m["topic"] for m in written(fast)[3]] == ["receipt"]
    assert written(fast)[0]["reference"] == reference.strip()
    assert written(fast)[0]["meta"] == (meta or {})
    # What the caller gets back is what was saved, its invoice included.
    for returned in (fast, slow):
        assert not returned._state.adding
        assert fields(returned) == fields(Payment.objects.get(pk=returned.pk))
        assert fields(returned.invoice) == fields(Invoice.objects.get(pk=returned.invoice_id))


def unsaved_payment(invoice, actor, amount, *, currency=None):
    currency = currency or invoice.currency
    payment = Payment(
        invoice_id=invoice.pk,
        currency=currency,
        amount=Money(amount, currency),
        status="succeeded",
        method="cash",
        paid_at=TODAY,
        amount_refunded=Money(0, currency),
        amount_to_credit=Money(0, currency),
        created_by=actor,
    )
    return payment, new_event(invoice, "payment_recorded", actor, amount=payment.amount)


@pytest.mark.parametrize(
    "case",
    ["more than due", "more than due less pending", "paid", "void", "draft", "currency", "gone"],
)
def test_the_statement_writes_nothing_when_its_guard_fails(clerk, manager, case):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    amount, currency = "100.01", None
    if case == "more than due less pending":
        Invoice.objects.filter(pk=invoice.pk).update(amount_pending=Money("10.00", "USD"))
        amount = "90.01"
    elif case == "paid":
        pay(invoice, clerk, "100.00")
        amount = "1.00"
    elif case == "void":
        services.invoice_void(invoice=invoice, actor=manager, reason="Sent by mistake")
        amount = "1.00"
    elif case == "draft":
        line = {"description": "Later", "quantity": 1, "unit_price": Money("5.00", "USD")}
        invoice = services.invoice_create(
            customer=invoice.customer, currency="USD", lines=[line], actor=clerk
        )
        amount = "1.00"
    elif case == "currency":
        amount, currency = "1.00", "EUR"
    elif case == "gone":
        invoice = Invoice(pk=invoice.pk + 1000, currency="USD")
        amount = "1.00"
    before = record_counts(), list(Invoice.objects.values().order_by("pk"))

    payment, event = unsaved_payment(invoice, clerk, amount, currency=currency)
    assert _one_statement.record_payment(payment, event, OutboxMessage(topic="receipt")) is None

    assert (record_counts(), list(Invoice.objects.values().order_by("pk"))) == before
    assert payment._state.adding


def test_the_statement_pays_exactly_what_pending_charges_leave(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    Invoice.objects.filter(pk=invoice.pk).update(amount_pending=Money("10.00", "USD"))
    payment, event = unsaved_payment(invoice, clerk, "90.00")

    saved = _one_statement.record_payment(payment, event, OutboxMessage(topic="receipt"))

    assert saved.invoice.amount_due == Money("10.00", "USD")
    assert saved.invoice.status == "partially_paid"
    assert InvoiceEvent.objects.get(payment=saved).amount == Money("90.00", "USD")


def test_the_statement_is_prepared_once_per_connection(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    for _ in range(3):
        pay(invoice, clerk, "1.00")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%locked_invoice%"],
        )
        assert cursor.fetchone() == (1,)


def test_a_keyed_payment_is_one_statement_and_its_key_names_it(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    with CaptureQueriesContext(connection) as queries:
        first = pay(invoice, clerk, "10.00", idempotency_key="k-1")
    # The key's claim is part of the statement, which names the payment on the key.
    assert len(statements(queries.captured_queries)) == 1
    key = IdempotencyKey.objects.get(key="k-1")
    assert (key.result_model, key.result_id) == ("billing.Payment", first.pk)

    before = record_counts()
    assert pay(invoice, clerk, "10.00", idempotency_key="k-1").pk == first.pk
    assert record_counts() == before


def test_a_keyed_payment_the_statement_declines_is_named_by_the_orm_path(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    payment = pay(invoice, clerk, "150.00", excess_to_credit=True, idempotency_key="k-2")
    key = IdempotencyKey.objects.get(key="k-2")
    assert (key.result_model, key.result_id) == ("billing.Payment", payment.pk)
    assert payment.amount_to_credit == Money("50.00", "USD")


def test_a_taken_key_makes_the_statement_write_nothing(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    pay(invoice, clerk, "10.00", idempotency_key="k-3")
    before = record_counts(), list(Invoice.objects.values().order_by("pk"))
    key = IdempotencyKey(operation="payment_record", key="k-3", fingerprint="x", created_by=clerk)

    payment, event = unsaved_payment(invoice, clerk, "10.00")
    assert _one_statement.record_payment(payment, event, OutboxMessage(), key=key) is None

    assert (record_counts(), list(Invoice.objects.values().order_by("pk"))) == before
    assert key._state.adding and payment._state.adding


def test_a_claimed_key_whose_payment_is_refused_keeps_nothing(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    before = record_counts(), IdempotencyKey.objects.count()
    # The statement claims the key, its guard refuses the amount, the ORM path
    # says why and the operation's transaction takes the claim back.
    with pytest.raises(BillingError) as refused:
        pay(invoice, clerk, "100.01", idempotency_key="k-4")
    assert refused.value.code == "overpayment"
    assert (record_counts(), IdempotencyKey.objects.count()) == before

    # The key is free: the corrected request records with it.
    payment = pay(invoice, clerk, "100.00", idempotency_key="k-4")
    assert IdempotencyKey.objects.get(key="k-4").result_id == payment.pk
