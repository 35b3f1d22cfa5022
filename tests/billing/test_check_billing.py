import importlib
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from moneyed import Money

from billing import services
from billing.integrity import find_disagreements
from billing.models import (
    BalanceEntry,
    Invoice,
    InvoiceLine,
    MoneyBalance,
    OutboxMessage,
    Payment,
    Receipt,
    Refund,
)
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(manager):
    """A realistic sequence through the services."""
    customer = CustomerFactory()
    usd = lambda amount: Money(amount, "USD")  # noqa: E731

    # Partial payment, then the rest; a refund to credit; a credit note settles it.
    first = issued_invoice(customer, manager, "100.00")
    cheque = pay(first, manager, "40.00")
    pay(first, manager, "60.00")
    services.payment_refund(
        payment=cheque,
        amount=usd("10.00"),
        destination="customer_credit",
        actor=manager,
        reason="requested_by_customer",
    )
    services.credit_note_issue(
        invoice=first, actor=manager, reason="goodwill", reduce_due=usd("10.00")
    )

    # An overpayment with its excess sent to credit, then part moved to credit by a note.
    second = issued_invoice(customer, manager, "50.00", apply_credit=False)
    pay(second, manager, "70.00", excess_to_credit=True)
    services.credit_note_issue(
        invoice=second, actor=manager, reason="order_change", to_credit=usd("5.00")
    )

    # Credit applied to a new invoice.
    third = issued_invoice(customer, manager, "25.00", apply_credit=False)
    services.credit_apply(invoice=third, actor=manager)

    # An invoice left partially paid, and one in a currency without decimals.
    partial = issued_invoice(customer, manager, "80.00", apply_credit=False)
    pay(partial, manager, "30.00")
    yen = issued_invoice(CustomerFactory(currency="JPY"), manager, "1000", currency="JPY")
    pay(yen, manager, "333")

    return {
        "customer": customer,
        "first": first,
        "cheque": cheque,
        "second": second,
        "third": third,
        "partial": partial,
        "yen": yen,
    }


def run_check():
    out = StringIO()
    call_command("check_billing", stdout=out)
    return out.getvalue()


def failing_check():
    out = StringIO()
    with pytest.raises((CommandError, SystemExit)) as error:
        call_command("check_billing", stdout=out)
    if isinstance(error.value, SystemExit):
        assert error.value.code not in (0, None)
    return out.getvalue()


def execute(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_clean_after_a_realistic_sequence(history):
    assert find_disagreements() == []
    assert "All billing records agree." in run_check()
    # The sequence did reach the states it meant to.
    for name in ("first", "second", "third"):
        history[name].refresh_from_db()
        assert history[name].status == "paid"
    balance = MoneyBalance.objects.get(customer=history["customer"], currency="USD")
    assert balance.amount == Money("10.00", "USD")  # 10 refund + 20 excess + 5 note - 25


def test_clean_on_an_empty_database(db):
    assert find_disagreements() == []
    assert "All billing records agree." in run_check()


def test_invoice_amount_paid_shifted_against_due(history):
    invoice = history["partial"]
    table = Invoice._meta.db_table
    execute(
        f"UPDATE {table} SET amount_paid = amount_paid + 10, amount_due = amount_due - 10 "
        "WHERE id = %s",
        [invoice.pk],
    )
    output = failing_check()
    assert f"invoice {invoice.number} (id {invoice.pk})" in output
    assert "amount_paid 40.0000 USD but its payments give 30.0000" in output
    assert history["first"].number not in output


def test_balance_amount_changed(history):
    balance = MoneyBalance.objects.get(customer=history["customer"], currency="USD")
    execute(
        f"UPDATE {MoneyBalance._meta.db_table} SET amount = amount + 7 WHERE id = %s",
        [balance.pk],
    )
    output = failing_check()
    assert f"(id {balance.pk}): amount 17.0000 USD but its entries give 10.0000" in output
    assert "balance_after 10.0000" in output


def test_balance_entry_changed(history):
    balance = MoneyBalance.objects.get(customer=history["customer"], currency="USD")
    entry = BalanceEntry.objects.filter(balance=balance, kind="overpayment").get()
    execute(
        f"UPDATE {BalanceEntry._meta.db_table} SET amount = amount + 1 WHERE id = %s",
        [entry.pk],
    )
    output = failing_check()
    assert f"balance USD of customer {history['customer'].pk} (id {balance.pk})" in output
    assert "amount 10.0000 USD but its entries give 11.0000" in output
    # The overpayment no longer matches what its payment says it sent to credit.
    assert f"payment #{entry.payment_id} " in output
    assert "amount_to_credit 25.0000 USD but its ledger entries give 26.0000" in output


def test_payment_amount_refunded_changed(history):
    cheque = history["cheque"]
    execute(f"UPDATE {Payment._meta.db_table} SET amount_refunded = 5 WHERE id = %s", [cheque.pk])
    output = failing_check()
    assert f"payment #{cheque.pk} of invoice {history['first'].number}" in output
    assert "amount_refunded 5.0000 USD but its refunds give 10.0000" in output
    # The invoice's amount_paid no longer matches its payments either.
    assert f"invoice {history['first'].number} (id {history['first'].pk}): amount_paid" in output


def test_customer_credit_payment_changed(history):
    payment = Payment.objects.get(invoice=history["third"], method="customer_credit")
    execute(f"UPDATE {Payment._meta.db_table} SET amount = amount + 1 WHERE id = %s", [payment.pk])
    output = failing_check()
    assert f"payment #{payment.pk} of invoice {history['third'].number}" in output
    assert "customer credit payment of 26.0000 USD" in output


def test_yen_rounding_at_minor_unit(history):
    yen = history["yen"]
    execute(
        f"UPDATE {Invoice._meta.db_table} SET amount_paid = amount_paid + 1, "
        "amount_due = amount_due - 1 WHERE id = %s",
        [yen.pk],
    )
    output = failing_check()
    assert f"invoice {yen.number} (id {yen.pk}): amount_paid 334.0000 JPY" in output


def test_invoice_line_changed(history):
    invoice = history["partial"]
    execute(
        f"UPDATE {InvoiceLine._meta.db_table} SET net = net + 1, total = total + 1 "
        "WHERE invoice_id = %s",
        [invoice.pk],
    )
    output = failing_check()
    assert (
        f"invoice {invoice.number} (id {invoice.pk}): total 80.0000 USD but its lines give 81.0000"
        in output
    )


# -- receipts -----------------------------------------------------------------------------


def test_clean_while_receipts_are_only_asked_for_and_once_they_are_made(history):
    # The history's receipts are still asked for (the outbox rows are not done):
    assert Receipt.objects.count() == 0
    assert find_disagreements() == []
    for payment in Payment.objects.filter(status="succeeded"):
        services.receipt_issue(payment=payment)
    for refund in Refund.objects.filter(status="succeeded"):
        services.receipt_issue(refund=refund)
    assert not OutboxMessage.objects.filter(topic="receipt", done_at=None).exists()
    assert find_disagreements() == []


def test_a_succeeded_payment_without_a_receipt_or_its_outbox_row(history):
    cheque = history["cheque"]
    OutboxMessage.objects.filter(topic="receipt", payment=cheque).delete()

    output = failing_check()

    assert (
        f"payment #{cheque.pk} of invoice {history['first'].number} (id {history['first'].pk}): "
        "succeeded but has no receipt and no outbox row asking for one"
    ) in output
    assert output.count("no receipt") == 1


def test_an_outbox_row_marked_done_without_making_the_receipt(history):
    refund = Refund.objects.get(payment=history["cheque"])
    OutboxMessage.objects.filter(topic="receipt", refund=refund).update(done_at=timezone.now())

    output = failing_check()

    assert f"refund #{refund.pk} of payment #{history['cheque'].pk}" in output
    assert "succeeded but has no receipt and no outbox row asking for one" in output


def test_a_failed_or_voided_payment_needs_no_receipt(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    payment = pay(invoice, manager, "100.00")
    services.payment_void(payment=payment, actor=manager, reason="Entered twice")
    OutboxMessage.objects.filter(topic="receipt").delete()

    assert find_disagreements() == []


def test_the_backfill_asks_once_for_the_receipts_made_before_receipts_existed(history):
    # As a database upgraded past migration 0013 holds them: succeeded payments and
    # refunds with neither a receipt nor an outbox row.
    backfill = importlib.import_module("billing.migrations.0018_receipts_backfill")
    refund = Refund.objects.get(payment=history["cheque"])
    OutboxMessage.objects.filter(topic="receipt").delete()
    assert "no receipt and no outbox row" in failing_check()
    succeeded = {
        "payment": set(Payment.objects.filter(status="succeeded").values_list("pk", flat=True)),
        "refund": set(Refund.objects.filter(status="succeeded").values_list("pk", flat=True)),
    }
    assert refund.pk in succeeded["refund"]

    backfill.ask_for_missing_receipts(django_apps, None)
    backfill.ask_for_missing_receipts(django_apps, None)  # a second run asks for none again

    wanted = OutboxMessage.objects.filter(topic="receipt", done_at=None)
    assert (
        set(wanted.exclude(payment=None).values_list("payment", flat=True)) == succeeded["payment"]
    )
    assert set(wanted.exclude(refund=None).values_list("refund", flat=True)) == succeeded["refund"]
    assert wanted.count() == len(succeeded["payment"]) + len(succeeded["refund"])
    assert find_disagreements() == []
