import pytest
from django.utils import timezone
from moneyed import Money

from billing import services
from billing.models import BalanceEntry, CreditNote, InvoiceEvent, Payment, Refund
from billing.selectors import customer_credit
from tests.billing.services._refusals import assert_refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def usd(amount):
    return Money(amount, "USD")


def note(invoice, actor, reason="goodwill", **parts):
    return services.credit_note_issue(
        invoice=invoice, actor=actor, reason=reason, **parts
    ).credit_note


@pytest.fixture
def invoice(manager):
    return issued_invoice(CustomerFactory(), manager, "100.00")


# -- reduce_due ------------------------------------------------------------------


def test_credit_note_reduce_due_lowers_what_is_owed(manager, invoice):
    made = note(invoice, manager, reduce_due=usd("30.00"), memo="Late delivery")
    assert made.number == f"CN-{YEAR}-000001"
    assert made.total == usd("30.00")
    assert made.reduce_due == usd("30.00")
    assert made.memo == "Late delivery"
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert invoice.amount_credited == usd("30.00")
    assert invoice.amount_due == usd("70.00")
    assert invoice.amount_paid == usd("0")
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="credit_note_issued").count() == 1


def test_credit_note_reduce_due_of_all_that_is_due_settles_the_invoice(manager, invoice):
    pay(invoice, manager, "60.00")
    note(invoice, manager, reduce_due=usd("40.00"))
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_due == usd("0")


def test_credit_note_numbers_are_sequential(manager, invoice):
    first = note(invoice, manager, reduce_due=usd("1.00"))
    second = note(invoice, manager, reduce_due=usd("1.00"))
    assert first.number == f"CN-{YEAR}-000001"
    assert second.number == f"CN-{YEAR}-000002"


def test_credit_note_refuses_reduce_due_above_the_due(manager, invoice):
    pay(invoice, manager, "50.00")
    assert_refused(
        "credit_note_exceeds_invoice",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        reduce_due=usd("50.01"),
    )


def test_credit_note_refuses_more_than_the_invoice_total(manager, invoice):
    assert_refused(
        "credit_note_exceeds_invoice",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        reduce_due=usd("100.01"),
    )


def test_credit_note_refuses_more_than_is_left_to_credit(manager, invoice):
    pay(invoice, manager, "100.00")
    note(invoice, manager, to_credit=usd("80.00"))
    # Only 20.00 of the total is left to credit (and only 20.00 paid is left).
    assert_refused(
        "credit_note_exceeds_invoice",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        to_credit=usd("20.01"),
    )
    assert CreditNote.objects.count() == 1


# -- refund ------------------------------------------------------------------------


def test_credit_note_refund_refunds_the_payment_externally_and_keeps_the_invoice_paid(
    manager, invoice
):
    payment = pay(invoice, manager, "100.00")
    made = note(invoice, manager, reason="duplicate", refund=usd("40.00"), refund_payment=payment)
    assert made.refund_amount == usd("40.00")
    assert made.refund_payment == payment
    refund = Refund.objects.get()
    assert refund.destination == "external"
    assert refund.reason == "duplicate"
    assert refund.credit_note == made
    assert refund.amount == usd("40.00")
    payment.refresh_from_db()
    assert payment.amount_refunded == usd("40.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_paid == usd("60.00")
    assert invoice.amount_credited == usd("40.00")
    assert invoice.amount_due == usd("0")


def test_credit_note_refund_of_a_credit_payment_goes_back_to_credit(manager):
    customer = CustomerFactory()
    services.balance_adjust(customer=customer, amount=usd("100.00"), actor=manager, reason="x")
    invoice = issued_invoice(customer, manager, "100.00")
    payment = Payment.objects.get(invoice=invoice)
    note(invoice, manager, refund=usd("25.00"), refund_payment=payment)
    assert Refund.objects.get().destination == "customer_credit"
    assert customer_credit(customer=customer, currency="USD") == usd("25.00")


def test_credit_note_refuses_a_refund_beyond_its_payment(manager, invoice):
    first = pay(invoice, manager, "50.00")
    pay(invoice, manager, "20.00")
    assert_refused(
        "refund_exceeds_payment",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=usd("50.01"),
        refund_payment=first,
    )


def test_credit_note_refuses_a_refund_without_its_payment(manager, invoice):
    pay(invoice, manager, "50.00")
    assert_refused(
        "invalid_value",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=usd("10.00"),
    )


def test_credit_note_refuses_a_refund_of_another_invoices_payment(manager, invoice):
    other = issued_invoice(invoice.customer, manager, "100.00")
    payment = pay(other, manager, "50.00")
    assert_refused(
        "invalid_value",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=usd("10.00"),
        refund_payment=payment,
    )


def test_credit_note_refuses_a_refund_of_a_voided_payment(manager, invoice):
    payment = pay(invoice, manager, "50.00")
    services.payment_void(payment=payment, actor=manager, reason="Typo")
    assert_refused(
        "payment_not_refundable",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=usd("10.00"),
        refund_payment=payment,
    )


# -- to_credit ----------------------------------------------------------------------


def test_credit_note_to_credit_takes_from_the_newest_payments_first(manager, invoice):
    older = pay(invoice, manager, "30.00")
    newer = pay(invoice, manager, "70.00")
    made = note(invoice, manager, to_credit=usd("80.00"))
    assert made.to_credit == usd("80.00")
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.amount_to_credit == usd("70.00")
    assert older.amount_to_credit == usd("10.00")
    assert customer_credit(customer=invoice.customer, currency="USD") == usd("80.00")
    entries = BalanceEntry.objects.order_by("pk")
    assert [(e.kind, e.payment_id, e.amount) for e in entries] == [
        ("credit_note", newer.pk, usd("70.00")),
        ("credit_note", older.pk, usd("10.00")),
    ]
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_paid == usd("20.00")
    assert invoice.amount_credited == usd("80.00")
    assert invoice.amount_due == usd("0")


def test_credit_note_to_credit_skips_what_was_already_refunded(manager, invoice):
    older = pay(invoice, manager, "30.00")
    newer = pay(invoice, manager, "70.00")
    services.payment_refund(
        payment=newer,
        amount=usd("65.00"),
        destination="external",
        actor=manager,
        reason="requested_by_customer",
    )
    note(invoice, manager, to_credit=usd("20.00"))
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.amount_to_credit == usd("5.00")
    assert older.amount_to_credit == usd("15.00")


def test_credit_note_refuses_to_credit_more_than_was_paid(manager, invoice):
    pay(invoice, manager, "30.00")
    assert_refused(
        "credit_note_exceeds_invoice",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        to_credit=usd("30.01"),
    )


def test_credit_note_refuses_to_credit_what_its_own_refund_takes(manager, invoice):
    payment = pay(invoice, manager, "30.00")
    assert_refused(
        "credit_note_exceeds_invoice",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=usd("20.00"),
        refund_payment=payment,
        to_credit=usd("10.01"),
    )


def test_credit_note_splits_three_ways_at_once(manager, invoice):
    payment = pay(invoice, manager, "60.00")
    made = note(
        invoice,
        manager,
        reduce_due=usd("40.00"),
        refund=usd("10.00"),
        refund_payment=payment,
        to_credit=usd("5.00"),
    )
    assert made.total == usd("55.00")
    invoice.refresh_from_db()
    assert invoice.amount_credited == usd("55.00")
    assert invoice.amount_paid == usd("45.00")
    assert invoice.amount_due == usd("0")
    assert invoice.status == "paid"


# -- other refusals -------------------------------------------------------------------


def test_credit_note_refuses_a_draft(manager):
    draft = services.invoice_create(
        customer=CustomerFactory(),
        currency="USD",
        lines=[{"description": "x", "quantity": 1, "unit_price": usd("10.00")}],
        actor=manager,
    )
    assert_refused(
        "invalid_state",
        services.credit_note_issue,
        invoice=draft,
        actor=manager,
        reason="goodwill",
        reduce_due=usd("1.00"),
    )


def test_credit_note_refuses_a_void_invoice(manager, invoice):
    services.invoice_void(invoice=invoice, actor=manager, reason="Typo")
    assert_refused(
        "invalid_state",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        reduce_due=usd("1.00"),
    )


def test_credit_note_refuses_crediting_nothing(manager, invoice):
    assert_refused(
        "invalid_amount",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
    )


@pytest.mark.parametrize("value", [usd("1.001"), "-1.00", 1.5])
def test_credit_note_refuses_an_invalid_amount(manager, invoice, value):
    assert_refused(
        "invalid_amount",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        reduce_due=value,
    )


def test_credit_note_refuses_an_amount_in_another_currency(manager, invoice):
    assert_refused(
        "currency_mismatch",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        reduce_due=Money("1.00", "EUR"),
    )


def test_credit_note_refuses_an_unknown_reason(manager, invoice):
    assert_refused(
        "invalid_value",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="because",
        reduce_due=usd("1.00"),
    )


def test_credit_note_with_the_same_key_and_request_is_issued_once(manager, invoice):
    first = note(invoice, manager, reduce_due=usd("10.00"), idempotency_key="cn-1")
    after = record_counts()
    again = note(invoice, manager, reduce_due=usd("10.00"), idempotency_key="cn-1")
    assert again.pk == first.pk
    assert record_counts() == after
    invoice.refresh_from_db()
    assert invoice.amount_due == usd("90.00")


def test_credit_note_refuses_the_same_key_for_a_different_request(manager, invoice):
    note(invoice, manager, reduce_due=usd("10.00"), idempotency_key="cn-1")
    assert_refused(
        "idempotency_conflict",
        services.credit_note_issue,
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        reduce_due=usd("11.00"),
        idempotency_key="cn-1",
    )


@pytest.mark.parametrize("who", ["clerk", "nobody"])
def test_credit_note_is_for_managers_only(request, invoice, who):
    assert_refused(
        "permission_denied",
        services.credit_note_issue,
        invoice=invoice,
        actor=request.getfixturevalue(who),
        reason="goodwill",
        reduce_due=usd("1.00"),
    )
