"""The Bank page's operations: match or split, confirm, rest to credit, ignore, undo."""

import pytest
from moneyed import Money

from bank import services
from bank.models import LineState, StatementLine
from billing.errors import BillingError
from billing.models import BalanceEntry, MoneyBalance, Payment, PaymentStatus
from tests.bank.conftest import bank_counts as record_counts
from tests.bank.conftest import read

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(invoices, manager):
    services.statement_import(data=read("statement.csv"), file_name="s", actor=manager)
    return {line.bank_ref: line for line in StatementLine.objects.all()}


def eur(amount):
    return Money(amount, "EUR")


def test_confirming_a_partial_payment_records_it_and_names_the_person(imported, invoices, clerk):
    line = services.line_confirm(line=imported["B1-003"], invoice=invoices["C"], actor=clerk)

    assert line.state == LineState.RECORDED
    assert line.recorded_by == clerk
    payment = line.links.get().payment
    assert (payment.amount, payment.method, payment.bank_reference) == (
        eur("50.00"),
        "bank_transfer",
        "B1-003",
    )
    invoices["C"].refresh_from_db()
    assert invoices["C"].amount_due == eur("30.00")


def test_an_overpaying_line_needs_its_rest_sent_to_credit(imported, invoices, clerk, manager):
    before = record_counts()
    with pytest.raises(BillingError) as error:
        services.line_confirm(line=imported["B1-004"], invoice=invoices["E"], actor=manager)
    assert error.value.code == "invalid_amount"
    with pytest.raises(BillingError) as error:
        services.line_confirm(
            line=imported["B1-004"], invoice=invoices["E"], actor=clerk, rest_to_credit=True
        )
    assert error.value.code == "permission_denied"
    assert record_counts() == before

    line = services.line_confirm(
        line=imported["B1-004"], invoice=invoices["E"], actor=manager, rest_to_credit=True
    )

    assert line.links.get().payment.amount == eur("60.00")
    assert line.credit_entry.amount == eur("10.00")
    assert MoneyBalance.objects.get(customer=invoices["E"].customer).amount == eur("10.00")


def test_a_line_split_across_invoices_makes_one_payment_each(imported, invoices, manager):
    # 100 in total across C (80) and E (60): 70 on C, 30 on E.
    line = imported["B1-001"]
    services.line_undo(line=line, reason="Wrong invoice", actor=manager)
    line = services.line_match(
        line=line,
        allocations=[(invoices["C"], "70.00"), (invoices["E"], "30.00")],
        actor=manager,
    )
    payments = Payment.objects.filter(bank_link__line=line, status=PaymentStatus.SUCCEEDED)
    assert sorted(p.amount.amount for p in payments) == [30, 70]
    assert line.state == LineState.RECORDED


def test_a_refused_split_writes_nothing(imported, invoices, manager):
    before = (record_counts(), imported["B1-003"].state)
    for allocations, code in (
        ([(invoices["C"], "30.00"), (invoices["E"], "30.00")], "invalid_amount"),  # 60 > 50
        ([(invoices["C"], "10.00")], "invalid_amount"),  # 40 left over
        ([(invoices["C"], "10.00"), (invoices["A"], "40.00")], "invoice_not_payable"),  # A paid
        ([(invoices["D"], "40.00"), (invoices["C"], "10.00")], "currency_mismatch"),
        ([(invoices["C"], "25.00"), (invoices["C"], "25.00")], "invalid_value"),
        ([], "invalid_value"),
    ):
        with pytest.raises(BillingError) as error:
            services.line_match(line=imported["B1-003"], allocations=allocations, actor=manager)
        assert error.value.code == code, allocations
    imported["B1-003"].refresh_from_db()
    assert (record_counts(), imported["B1-003"].state) == before


def test_undo_voids_the_payments_with_the_reason_and_takes_credit_back(imported, invoices, manager):
    line = services.line_confirm(
        line=imported["B1-004"], invoice=invoices["E"], actor=manager, rest_to_credit=True
    )
    payment = line.links.get().payment

    line = services.line_undo(line=line, reason="Customer says it was for INV 103", actor=manager)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.VOIDED
    assert payment.void_reason == "Customer says it was for INV 103"
    assert (line.state, line.undone_by, line.match_round) == (LineState.SUGGESTED, manager, 1)
    assert MoneyBalance.objects.get(customer=invoices["E"].customer).amount == eur("0.00")
    assert BalanceEntry.objects.filter(kind="adjustment").count() == 2
    invoices["E"].refresh_from_db()
    assert invoices["E"].amount_due == eur("60.00")

    # Matched again after the undo: a new payment, not the voided one replayed.
    again = services.line_confirm(
        line=line, invoice=invoices["E"], actor=manager, rest_to_credit=True
    )
    assert again.links.filter(payment__status=PaymentStatus.SUCCEEDED).count() == 1
    assert again.links.count() == 2


def test_undo_needs_void_payment_and_a_reason(imported, clerk, manager):
    before = record_counts()
    with pytest.raises(BillingError) as error:
        services.line_undo(line=imported["B1-001"], reason="x", actor=clerk)
    assert error.value.code == "permission_denied"
    with pytest.raises(BillingError) as error:
        services.line_undo(line=imported["B1-001"], reason="  ", actor=manager)
    assert error.value.code == "invalid_value"
    with pytest.raises(BillingError) as error:
        services.line_undo(line=imported["B1-007"], reason="x", actor=manager)
    assert error.value.code == "invalid_state"
    assert record_counts() == before


def test_ignoring_keeps_the_reason_and_the_person_and_ends_matching(imported, invoices, clerk):
    line = services.line_ignore(line=imported["B1-007"], reason="Owner's own transfer", actor=clerk)
    assert (line.state, line.ignore_reason, line.ignored_by) == (
        LineState.IGNORED,
        "Owner's own transfer",
        clerk,
    )
    for action in (
        lambda: services.line_ignore(line=line, reason="again", actor=clerk),
        lambda: services.line_match(line=line, allocations=[(invoices["C"], "12.34")], actor=clerk),
        lambda: services.line_match(
            line=imported["B1-006"], allocations=[(invoices["C"], "15.00")], actor=clerk
        ),
        lambda: services.line_match(
            line=imported["B1-001"], allocations=[(invoices["C"], "80.00")], actor=clerk
        ),
    ):
        with pytest.raises(BillingError) as error:
            action()
        assert error.value.code == "invalid_state"


def test_a_retried_match_records_once(imported, invoices, clerk):
    line = imported["B1-003"]
    services.line_match(line=line, allocations=[(invoices["C"], "50.00")], actor=clerk)
    with pytest.raises(BillingError) as error:
        services.line_match(line=line, allocations=[(invoices["C"], "50.00")], actor=clerk)
    assert error.value.code == "invalid_state"
    assert Payment.objects.filter(bank_link__line=line).count() == 1
