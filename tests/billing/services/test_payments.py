import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from moneyed import Money

from billing import permissions, services
from billing.models import (
    BalanceEntry,
    CreditNote,
    IdempotencyKey,
    InvoiceEvent,
    Payment,
)
from billing.selectors import customer_credit
from tests.billing.services._refusals import TODAY, assert_refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(amount, "USD")


def record(invoice, actor, amount, **kwargs):
    kwargs.setdefault("method", "cash")
    kwargs.setdefault("paid_at", TODAY)
    return dict(invoice=invoice, amount=usd(amount), actor=actor, **kwargs)


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "100.00")


# -- payment_record: happy paths ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "details", "stored"),
    [
        ("cash", None, {}),
        ("cheque", {"cheque_number": "0042"}, {"cheque_number": "0042"}),
        ("bank_transfer", {"bank_reference": "TRX-1"}, {"bank_reference": "TRX-1"}),
        ("bank_transfer", None, {}),
        ("card", {"card_brand": "Visa", "card_last4": "4242"}, {"card_last4": "4242"}),
        ("other", None, {}),
    ],
)
def test_payment_record_accepts_every_external_method(clerk, invoice, method, details, stored):
    payment = services.payment_record(
        **record(invoice, clerk, "40.00", method=method, details=details)
    )
    assert payment.status == "succeeded"
    assert payment.method == method
    assert payment.amount == usd("40.00")
    assert payment.amount_refunded == usd("0")
    assert payment.amount_to_credit == usd("0")
    for field, value in stored.items():
        assert getattr(payment, field) == value
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid"
    assert invoice.amount_paid == usd("40.00")
    assert invoice.amount_due == usd("60.00")
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="payment_recorded").count() == 1


def test_payment_record_keeps_an_integrations_meta(clerk, invoice):
    meta = {"source": "crm", "ids": [1, 2], "nested": {"ok": True}}
    payment = services.payment_record(**record(invoice, clerk, "10.00", meta=meta))
    assert Payment.objects.get(pk=payment.pk).meta == meta
    plain = services.payment_record(**record(invoice, clerk, "10.00"))
    assert Payment.objects.get(pk=plain.pk).meta == {}


@pytest.mark.parametrize(
    "meta",
    [["not", "an", "object"], {"blob": "x" * 4100}, {"nul": "a\u0000b"}, {"n": Decimal("1.5")}],
)
def test_payment_record_refuses_meta_that_is_not_a_small_json_object(clerk, invoice, meta):
    assert_refused(
        "invalid_value", services.payment_record, **record(invoice, clerk, "1", meta=meta)
    )


def test_payment_record_of_the_whole_due_marks_the_invoice_paid(clerk, invoice):
    pay(invoice, clerk, "100.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_due == usd("0")
    assert invoice.amount_paid == usd("100.00")


def test_payment_record_accepts_a_past_date_and_keeps_it(clerk, invoice):
    yesterday = TODAY - datetime.timedelta(days=1)
    payment = pay(invoice, clerk, "10.00", paid_at=yesterday)
    payment.refresh_from_db()
    assert payment.paid_at == yesterday


def test_payment_record_in_jpy_and_kwd_uses_their_minor_units(clerk):
    yen = issued_invoice(CustomerFactory(currency="JPY"), clerk, "1000")
    pay(yen, clerk, "999")
    yen.refresh_from_db()
    assert yen.amount_due == Money("1", "JPY")
    dinar = issued_invoice(CustomerFactory(currency="KWD"), clerk, "1.000")
    pay(dinar, clerk, "0.999")
    dinar.refresh_from_db()
    assert dinar.amount_due == Money("0.001", "KWD")


def test_payment_record_sends_the_excess_to_credit_when_asked(clerk, invoice):
    payment = pay(invoice, clerk, "120.00", excess_to_credit=True)
    assert payment.amount == usd("120.00")
    assert payment.amount_to_credit == usd("20.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_paid == usd("100.00")
    assert invoice.amount_due == usd("0")
    assert customer_credit(customer=invoice.customer, currency="USD") == usd("20.00")
    entry = BalanceEntry.objects.get()
    assert entry.kind == "overpayment"
    assert entry.amount == usd("20.00")
    assert entry.payment == payment


def test_payment_record_with_excess_to_credit_but_no_excess_moves_no_credit(clerk, invoice):
    payment = pay(invoice, clerk, "60.00", excess_to_credit=True)
    assert payment.amount_to_credit == usd("0")
    assert not BalanceEntry.objects.exists()
    assert customer_credit(customer=invoice.customer, currency="USD") == usd("0")


def test_payment_record_writes_off_the_remainder_with_a_credit_note(manager, invoice):
    payment = pay(invoice, manager, "95.00", write_off_remainder=True)
    assert payment.amount == usd("95.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_paid == usd("95.00")
    assert invoice.amount_credited == usd("5.00")
    assert invoice.amount_due == usd("0")
    note = CreditNote.objects.get()
    assert note.reason == "write_off"
    assert note.total == usd("5.00")
    assert note.reduce_due == usd("5.00")
    assert note.invoice == invoice


def test_payment_record_of_the_whole_due_writes_nothing_off(manager, invoice):
    pay(invoice, manager, "100.00", write_off_remainder=True)
    assert not CreditNote.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_payment_record_write_off_needs_the_credit_note_permission(clerk, invoice):
    assert_refused(
        "permission_denied",
        services.payment_record,
        **record(invoice, clerk, "95.00", write_off_remainder=True),
    )


def test_payment_record_with_the_same_idempotency_key_and_request_returns_the_first_payment(
    clerk, invoice
):
    first = pay(invoice, clerk, "40.00", idempotency_key="abc")
    after_first = record_counts()
    again = pay(invoice, clerk, "40.00", idempotency_key="abc")
    assert again.pk == first.pk
    assert record_counts() == after_first
    assert Payment.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == usd("40.00")
    assert invoice.amount_due == usd("60.00")


def test_payment_record_refuses_the_same_key_for_a_different_request(clerk, invoice):
    pay(invoice, clerk, "40.00", idempotency_key="abc")
    assert_refused(
        "idempotency_conflict",
        services.payment_record,
        **record(invoice, clerk, "41.00", idempotency_key="abc"),
    )
    assert_refused(
        "idempotency_conflict",
        services.payment_record,
        **record(invoice, clerk, "40.00", method="other", idempotency_key="abc"),
    )


def test_payment_record_without_a_key_records_twice(clerk, invoice):
    pay(invoice, clerk, "40.00")
    pay(invoice, clerk, "40.00")
    assert Payment.objects.count() == 2


# -- payment_record: refusals ----------------------------------------------------------


@pytest.mark.parametrize("details", [None, {"cheque_number": "  "}, {"bank_reference": "x"}])
def test_payment_record_refuses_a_cheque_without_its_number(clerk, invoice, details):
    error = assert_refused(
        "invalid_value",
        services.payment_record,
        **record(invoice, clerk, "10.00", method="cheque", details=details),
    )
    assert error.field == "cheque_number"


@pytest.mark.parametrize(
    "details",
    [
        None,
        {"card_last4": "4242"},
        {"card_brand": "Visa"},
        {"card_brand": "Visa", "card_last4": "42"},
        {"card_brand": "Visa", "card_last4": "abcd"},
    ],
)
def test_payment_record_refuses_a_card_payment_without_brand_and_last4(clerk, invoice, details):
    assert_refused(
        "invalid_value",
        services.payment_record,
        **record(invoice, clerk, "10.00", method="card", details=details),
    )


def test_payment_record_refuses_unknown_details(clerk, invoice):
    assert_refused(
        "invalid_value",
        services.payment_record,
        **record(invoice, clerk, "10.00", details={"card_number": "4242424242424242"}),
    )


@pytest.mark.parametrize("method", ["wampum", "", "saved_method", "customer_credit"])
def test_payment_record_refuses_a_method_that_is_not_external(clerk, invoice, method):
    assert_refused(
        "invalid_value", services.payment_record, **record(invoice, clerk, "10.00", method=method)
    )


@pytest.mark.parametrize(
    "paid_at",
    [TODAY + datetime.timedelta(days=1), (TODAY + datetime.timedelta(days=1)).isoformat()],
)
def test_payment_record_refuses_a_future_payment_date(clerk, invoice, paid_at):
    error = assert_refused(
        "invalid_date", services.payment_record, **record(invoice, clerk, "10.00", paid_at=paid_at)
    )
    assert error.field == "paid_at"


@pytest.mark.parametrize(
    "paid_at", [datetime.date(1, 1, 1), "1999-01-01", TODAY - datetime.timedelta(days=3654)]
)
def test_payment_record_refuses_a_payment_date_older_than_the_oldest_allowed(
    clerk, invoice, paid_at
):
    error = assert_refused(
        "invalid_date", services.payment_record, **record(invoice, clerk, "10.00", paid_at=paid_at)
    )
    assert error.field == "paid_at" and "check the year" in error.message


def test_payment_record_takes_a_payment_dated_as_far_back_as_allowed(clerk, invoice, settings):
    oldest = TODAY - datetime.timedelta(days=settings.BILLING_PAYMENT_DATE_MAX_AGE_DAYS)
    payment = services.payment_record(**record(invoice, clerk, "10.00", paid_at=oldest))
    assert payment.paid_at == oldest


@pytest.mark.parametrize("paid_at", [None, "yesterday", "01/02/26"])
def test_payment_record_refuses_a_missing_or_unreadable_date(clerk, invoice, paid_at):
    assert_refused(
        "invalid_date", services.payment_record, **record(invoice, clerk, "10.00", paid_at=paid_at)
    )


@pytest.mark.parametrize(
    "amount",
    ["0", "-5.00", "10.001", "abc", "1e2", "1_000", "1e26", Decimal("1E+26"), "١٠"],
)
def test_payment_record_refuses_an_invalid_amount(clerk, invoice, amount):
    assert_refused(
        "invalid_amount",
        services.payment_record,
        invoice=invoice,
        amount=amount,
        method="cash",
        paid_at=TODAY,
        actor=clerk,
    )


def test_payment_record_refuses_a_float_amount(clerk, invoice):
    assert_refused(
        "invalid_amount",
        services.payment_record,
        invoice=invoice,
        amount=10.5,
        method="cash",
        paid_at=TODAY,
        actor=clerk,
    )


def test_payment_record_refuses_an_amount_in_another_currency(clerk, invoice):
    assert_refused(
        "currency_mismatch",
        services.payment_record,
        invoice=invoice,
        amount=Money("10.00", "EUR"),
        method="cash",
        paid_at=TODAY,
        actor=clerk,
    )


def test_payment_record_refuses_a_draft_invoice(clerk):
    draft = services.invoice_create(
        customer=CustomerFactory(),
        currency="USD",
        lines=[{"description": "x", "quantity": 1, "unit_price": usd("10.00")}],
        actor=clerk,
    )
    assert_refused("invoice_not_payable", services.payment_record, **record(draft, clerk, "1.00"))


def test_payment_record_refuses_a_paid_invoice(clerk, invoice):
    pay(invoice, clerk, "100.00")
    error = assert_refused(
        "invoice_not_payable", services.payment_record, **record(invoice, clerk, "1.00")
    )
    assert "paid" in error.message


def test_payment_record_refuses_overpayment_and_writes_nothing(clerk, invoice):
    pay(invoice, clerk, "30.00")
    error = assert_refused(
        "overpayment", services.payment_record, **record(invoice, clerk, "70.01")
    )
    assert "70.00" in error.message
    invoice.refresh_from_db()
    assert invoice.amount_due == usd("70.00")


def test_payment_record_refuses_both_excess_to_credit_and_write_off(manager, invoice):
    assert_refused(
        "invalid_value",
        services.payment_record,
        **record(invoice, manager, "10.00", excess_to_credit=True, write_off_remainder=True),
    )


def test_payment_record_refuses_a_user_without_permission(nobody, invoice):
    assert_refused("permission_denied", services.payment_record, **record(invoice, nobody, "1.00"))


# -- payment_void ----------------------------------------------------------------


def test_payment_void_voids_an_external_payment_and_the_due_grows_back(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    voided = services.payment_void(payment=payment, actor=manager, reason="Bounced")
    assert voided.status == "voided"
    payment.refresh_from_db()
    assert payment.status == "voided"
    assert payment.void_reason == "Bounced"
    assert payment.voided_by == manager
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert invoice.amount_paid == usd("0")
    assert invoice.amount_due == usd("100.00")
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="payment_voided").count() == 1


def test_payment_void_of_one_of_two_payments_leaves_the_invoice_partially_paid(manager, invoice):
    pay(invoice, manager, "30.00")
    second = pay(invoice, manager, "70.00")
    services.payment_void(payment=second, actor=manager, reason="Typo")
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid"
    assert invoice.amount_due == usd("70.00")


def test_payment_void_refuses_a_customer_credit_payment(manager):
    customer = CustomerFactory()
    services.balance_adjust(customer=customer, amount=usd("30.00"), actor=manager, reason="x")
    invoice = issued_invoice(customer, manager, "100.00")
    payment = Payment.objects.get(invoice=invoice, method="customer_credit")
    assert_refused(
        "invalid_state",
        services.payment_void,
        payment=payment,
        actor=manager,
        reason="x",
        watch=invoice,
    )


def test_payment_void_refuses_a_voided_payment(manager, invoice):
    payment = pay(invoice, manager, "10.00")
    services.payment_void(payment=payment, actor=manager, reason="Typo")
    assert_refused(
        "invalid_state",
        services.payment_void,
        payment=payment,
        actor=manager,
        reason="x",
        watch=invoice,
    )


def test_payment_void_refuses_a_refunded_payment(manager, invoice):
    payment = pay(invoice, manager, "50.00")
    services.payment_refund(
        payment=payment,
        amount=usd("10.00"),
        destination="external",
        actor=manager,
        reason="requested_by_customer",
    )
    assert_refused(
        "invalid_state",
        services.payment_void,
        payment=payment,
        actor=manager,
        reason="x",
        watch=invoice,
    )


def test_payment_void_refuses_a_payment_with_money_sent_to_credit(manager, invoice):
    payment = pay(invoice, manager, "120.00", excess_to_credit=True)
    assert_refused(
        "invalid_state",
        services.payment_void,
        payment=payment,
        actor=manager,
        reason="x",
        watch=invoice,
    )


@pytest.mark.parametrize("reason", ["", "x" * 301])
def test_payment_void_requires_a_reason_its_column_holds(manager, invoice, reason):
    payment = pay(invoice, manager, "10.00")
    error = assert_refused(
        "invalid_value",
        services.payment_void,
        payment=payment,
        actor=manager,
        reason=reason,
        watch=invoice,
    )
    assert error.field == "reason"


@pytest.mark.parametrize("who", ["clerk", "nobody"])
def test_payment_void_is_for_managers_only(request, manager, invoice, who):
    payment = pay(invoice, manager, "10.00")
    assert_refused(
        "permission_denied",
        services.payment_void,
        payment=payment,
        actor=request.getfixturevalue(who),
        reason="x",
        watch=invoice,
    )
    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_another_users_same_key_is_another_key_and_never_their_result(clerk, invoice):
    other = django_user_model_clerk("clerk2")
    first = services.payment_record(**record(invoice, clerk, "10.00", idempotency_key="k-1"))
    second = services.payment_record(**record(invoice, other, "10.00", idempotency_key="k-1"))
    assert second.pk != first.pk
    assert second.created_by == other
    assert IdempotencyKey.objects.filter(key="k-1").count() == 2
    # Each user's own repost still replays their own payment and writes nothing.
    before = record_counts()
    again = services.payment_record(**record(invoice, other, "10.00", idempotency_key="k-1"))
    assert again.pk == second.pk
    assert record_counts() == before


def django_user_model_clerk(username):
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=permissions.CLERK))
    return user


def test_payment_void_with_the_same_idempotency_key_returns_the_voided_payment(manager, invoice):
    payment = pay(invoice, manager, "100.00")
    first = services.payment_void(
        payment=payment, actor=manager, reason="Bounced", idempotency_key="v"
    )
    counts = record_counts()

    again = services.payment_void(
        payment=payment, actor=manager, reason="Bounced", idempotency_key="v"
    )

    assert again.pk == first.pk and again.status == "voided"
    assert record_counts() == counts
    assert_refused(
        "idempotency_conflict",
        services.payment_void,
        payment=payment,
        actor=manager,
        reason="Typo",
        idempotency_key="v",
    )


# -- payment_record_check --------------------------------------------------------


def test_payment_record_check_refuses_what_payment_record_would_and_writes_nothing(
    clerk, invoice, nobody
):
    assert services.payment_record_check(**record(invoice, clerk, "40.00")) == usd("40.00")
    assert_refused("overpayment", services.payment_record_check, **record(invoice, clerk, "100.01"))
    assert_refused(
        "overpayment",
        services.payment_record_check,
        **record(invoice, clerk, "60.01"),
        taken=usd("40.00"),
    )
    assert_refused(
        "invalid_value",
        services.payment_record_check,
        **record(invoice, clerk, "1", method="cheque"),
    )
    assert_refused(
        "permission_denied", services.payment_record_check, **record(invoice, nobody, "1")
    )
    assert record_counts()["Payment"] == 0


@pytest.mark.postgres  # SQLite has no SET column = DEFAULT to test it with
def test_a_payment_row_written_without_meta_gets_an_empty_object(clerk, invoice):
    # Raw SQL (the benchmarks' bulk loads) names no meta column: the database's
    # default fills it, so every row reads as an object.
    from django.db import connection

    payment = services.payment_record(**record(invoice, clerk, "10.00"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_payment SET meta = DEFAULT WHERE id = %s", [payment.pk])
    assert Payment.objects.get(pk=payment.pk).meta == {}
