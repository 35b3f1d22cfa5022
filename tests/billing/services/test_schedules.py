"""Payment schedules: splitting, allocating payments to instalments, undoing
them, credit notes, edits and the refusals (services.schedules)."""

import datetime
from decimal import Decimal

import pytest
from moneyed import Money

from billing import services
from billing.errors import ErrorCode
from billing.models import Allocation, Instalment, InstalmentStatus, Invoice, InvoiceEvent
from billing.services.schedules import monthly_due_dates, split_amounts
from tests.billing.services._refusals import TODAY, assert_refused
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay, refund_to_card

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def money(amount, currency="USD"):
    return Money(amount, currency)


def dates(count, first=None):
    return monthly_due_dates(first or TODAY + 10 * DAY, count)


def split(invoice, actor, count=3, how="equal", first=None, **kwargs):
    return services.schedule_set(
        invoice=invoice, actor=actor, split=how, due_dates=dates(count, first), **kwargs
    )


def parts(invoice):
    return [
        (i.amount.amount, i.amount_paid.amount, i.status)
        for i in Instalment.objects.filter(invoice=invoice).order_by("sequence")
    ]


def net_allocations(payment):
    return sum((a.net.amount for a in Allocation.objects.filter(payment=payment)), Decimal(0))


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "100.00")


# -- splitting --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "currency", "count", "expected"),
    [
        ("100.00", "USD", 3, ["33.33", "33.33", "33.34"]),
        ("200.00", "USD", 3, ["66.67", "66.67", "66.66"]),
        ("1000", "JPY", 3, ["333", "333", "334"]),
        ("10.000", "KWD", 3, ["3.333", "3.333", "3.334"]),
        ("1.00", "USD", 6, ["0.17", "0.17", "0.17", "0.17", "0.17", "0.15"]),
    ],
)
def test_equal_parts_sum_exactly_with_the_last_taking_the_rounding(
    total, currency, count, expected
):
    got = split_amounts(Money(total, currency), count, split="equal")
    assert [str(p.amount) for p in got] == expected
    assert sum(p.amount for p in got) == Decimal(total)


def test_percent_parts_round_half_up_and_the_last_takes_the_rest():
    got = split_amounts(
        Money("1000", "JPY"), 3, split="percent", percentages=["33.3", "33.3", "33.4"]
    )
    assert [p.amount for p in got] == [Decimal(333), Decimal(333), Decimal(334)]
    got = split_amounts(
        Money("10.001", "KWD"), 2, split="percent", percentages=[Decimal(50), Decimal(50)]
    )
    assert [p.amount for p in got] == [Decimal("5.001"), Decimal("5.000")]


def test_fixed_parts_the_last_may_be_the_rest():
    got = split_amounts(money("100.00"), 3, split="fixed", amounts=["50.00", "30.00", None])
    assert [p.amount for p in got] == [Decimal(50), Decimal(30), Decimal(20)]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        (dict(split="percent", percentages=["50", "40", "5"]), ErrorCode.SCHEDULE_TOTAL_MISMATCH),
        (dict(split="percent", percentages=["50", "50"]), ErrorCode.INVALID_VALUE),
        (dict(split="fixed", amounts=["50", "30", "30"]), ErrorCode.SCHEDULE_TOTAL_MISMATCH),
        (dict(split="fixed", amounts=["50", "50", None]), ErrorCode.INVALID_AMOUNT),
        (dict(split="fixed", amounts=["50.001", "30", None]), ErrorCode.INVALID_AMOUNT),
        (dict(split="thirds"), ErrorCode.INVALID_VALUE),
    ],
)
def test_a_bad_split_is_refused_and_writes_nothing(clerk, invoice, kwargs, code):
    assert_refused(
        code, services.schedule_set, invoice=invoice, actor=clerk, due_dates=dates(3), **kwargs
    )
    with pytest.raises(Exception) as error:
        services.schedule_preview(invoice=invoice, due_dates=dates(3), **kwargs)
    assert error.value.code == code


def test_due_dates_must_be_in_order(clerk, invoice):
    assert_refused(
        ErrorCode.INVALID_DATE,
        services.schedule_set,
        invoice=invoice,
        actor=clerk,
        split="equal",
        due_dates=[TODAY + 20 * DAY, TODAY + 10 * DAY],
    )


def test_preview_writes_nothing_and_matches_what_is_saved(clerk, invoice):
    preview = services.schedule_preview(invoice=invoice, split="equal", due_dates=dates(3))
    assert Instalment.objects.count() == 0
    saved = split(invoice, clerk)
    assert [(p.sequence, p.due_date, p.amount) for p in preview] == [
        (i.sequence, i.due_date, i.amount) for i in saved
    ]
    invoice.refresh_from_db()
    assert invoice.has_schedule
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="schedule_set").count() == 1


def test_a_draft_or_void_or_paid_invoice_cannot_be_scheduled(clerk, manager):
    paid = issued_invoice(CustomerFactory(), clerk, "10.00")
    pay(paid, clerk, "10.00")
    assert_refused(
        ErrorCode.INVALID_STATE,
        services.schedule_set,
        invoice=paid,
        actor=clerk,
        split="equal",
        due_dates=dates(2),
    )


def test_scheduling_needs_manage_invoices(nobody, invoice):
    assert_refused(
        ErrorCode.PERMISSION_DENIED,
        services.schedule_set,
        invoice=invoice,
        actor=nobody,
        split="equal",
        due_dates=dates(2),
    )


# -- allocation -------------------------------------------------------------------


def test_a_payment_fills_the_oldest_due_first(clerk, invoice):
    split(invoice, clerk)
    payment = pay(invoice, clerk, "40.00")
    assert parts(invoice) == [
        (Decimal("33.33"), Decimal("33.33"), InstalmentStatus.PAID),
        (Decimal("33.33"), Decimal("6.67"), InstalmentStatus.PARTIALLY_PAID),
        (Decimal("33.34"), Decimal(0), InstalmentStatus.OPEN),
    ]
    assert net_allocations(payment) == Decimal("40.00")


def test_a_payment_naming_an_instalment_pays_it_first_then_the_oldest(clerk, invoice):
    _, second, _ = split(invoice, clerk)
    pay(invoice, clerk, "40.00", instalments=[second.pk])
    assert parts(invoice) == [
        (Decimal("33.33"), Decimal("6.67"), InstalmentStatus.PARTIALLY_PAID),
        (Decimal("33.33"), Decimal("33.33"), InstalmentStatus.PAID),
        (Decimal("33.34"), Decimal(0), InstalmentStatus.OPEN),
    ]


def test_named_instalments_are_paid_in_due_order(clerk, invoice):
    _, second, third = split(invoice, clerk)
    pay(invoice, clerk, "50.00", instalments=[str(third.pk), second.pk])
    assert [p[1] for p in parts(invoice)] == [Decimal(0), Decimal("33.33"), Decimal("16.67")]


def test_naming_another_invoices_instalment_is_refused(clerk, invoice):
    other = issued_invoice(CustomerFactory(), clerk, "90.00")
    theirs = split(other, clerk)[0]
    split(invoice, clerk)
    error = assert_refused(
        ErrorCode.INSTALMENT_NOT_ON_INVOICE,
        services.payment_record,
        invoice=invoice,
        amount=money("10.00"),
        method="cash",
        paid_at=TODAY,
        actor=clerk,
        instalments=[theirs.pk],
    )
    assert error.field == "instalments"


# Beyond a BIGINT (SQLite cannot bind it), zero, negative, a float, a superscript
# digit (str.isdigit says yes, int() says no): each the service's own refusal.
@pytest.mark.parametrize(
    "ids",
    [[999999], ["x"], [True], [2**63], [str(10**40)], [0], [-1], ["-1"], [1.5], ["²"], [None]],
)
def test_naming_no_instalment_is_refused(clerk, invoice, ids):
    split(invoice, clerk)
    assert_refused(
        ErrorCode.INSTALMENT_NOT_ON_INVOICE,
        services.payment_record,
        invoice=invoice,
        amount=money("10.00"),
        method="cash",
        paid_at=TODAY,
        actor=clerk,
        instalments=ids,
    )


def test_naming_an_instalment_of_an_unscheduled_invoice_is_refused(clerk, invoice):
    assert_refused(
        ErrorCode.INSTALMENT_NOT_ON_INVOICE,
        services.payment_record,
        invoice=invoice,
        amount=money("10.00"),
        method="cash",
        paid_at=TODAY,
        actor=clerk,
        instalments=[1],
    )


def test_naming_a_paid_instalment_is_refused(clerk, invoice):
    first, *_ = split(invoice, clerk)
    pay(invoice, clerk, "33.33")
    assert_refused(
        ErrorCode.INSTALMENT_ALREADY_PAID,
        services.payment_record,
        invoice=invoice,
        amount=money("10.00"),
        method="cash",
        paid_at=TODAY,
        actor=clerk,
        instalments=[first.pk],
    )


def test_a_first_schedule_allocates_earlier_payments(clerk, invoice):
    pay(invoice, clerk, "20.00")
    pay(invoice, clerk, "20.00")
    split(invoice, clerk)
    assert [p[1] for p in parts(invoice)] == [Decimal("33.33"), Decimal("6.67"), Decimal(0)]


def test_excess_to_credit_allocates_only_what_pays_the_invoice(clerk, invoice):
    split(invoice, clerk)
    payment = pay(invoice, clerk, "120.00", excess_to_credit=True)
    assert net_allocations(payment) == Decimal("100.00")
    assert all(p[2] == InstalmentStatus.PAID for p in parts(invoice))


def test_credit_applied_is_allocated(clerk, manager, invoice):
    services.balance_adjust(
        customer=invoice.customer, amount=money("50.00"), actor=manager, reason="goodwill"
    )
    split(invoice, clerk)
    payment = services.credit_apply(invoice=invoice, actor=clerk)
    assert net_allocations(payment) == Decimal("50.00")


def test_a_charge_is_allocated_when_it_succeeds(clerk):
    invoice = invoice_with_card(clerk, amount="90.00")
    split(invoice, clerk)
    payment = services.payment_charge(invoice=invoice, actor=clerk, amount=money("45.00"))
    assert payment.status == "succeeded"
    assert net_allocations(payment) == Decimal("45.00")
    assert [p[1] for p in parts(invoice)] == [Decimal(30), Decimal(15), Decimal(0)]


# -- undoing ----------------------------------------------------------------------


def test_a_void_releases_the_payments_allocations(clerk, manager, invoice):
    split(invoice, clerk)
    payment = pay(invoice, clerk, "40.00")
    services.payment_void(payment=payment, actor=manager, reason="typo")
    assert [p[1] for p in parts(invoice)] == [Decimal(0)] * 3
    assert net_allocations(payment) == 0


def test_a_refund_undoes_the_newest_allocations_first(clerk, manager, invoice):
    split(invoice, clerk)
    payment = pay(invoice, clerk, "70.00")
    services.payment_refund(
        payment=payment,
        amount=money("10.00"),
        destination="external",
        actor=manager,
        reason="duplicate",
    )
    # 70 paid 33.33 + 33.33 + 3.34; the refund takes the 3.34 and 6.66 more.
    assert [p[1] for p in parts(invoice)] == [Decimal("33.33"), Decimal("26.67"), Decimal(0)]
    assert net_allocations(payment) == Decimal("60.00")


def test_a_failed_gateway_refund_allocates_the_money_again(clerk, manager):
    invoice = invoice_with_card(clerk, token="sandbox_refund_fails", amount="90.00")
    split(invoice, clerk)
    payment = services.payment_charge(invoice=invoice, actor=clerk)
    assert payment.status == "succeeded"
    refund = refund_to_card(payment, manager, "30.00")
    assert refund.status == "failed"
    assert net_allocations(payment) == Decimal("90.00")
    assert all(p[2] == InstalmentStatus.PAID for p in parts(invoice))


def test_a_failed_credit_note_refund_restores_and_allocates_again(clerk, manager):
    invoice = invoice_with_card(clerk, token="sandbox_refund_fails", amount="90.00")
    split(invoice, clerk)
    payment = services.payment_charge(invoice=invoice, actor=clerk)
    issued = services.credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=money("30.00"),
        refund_payment=payment,
    )
    assert issued.refund.status == "failed"
    invoice.refresh_from_db()
    assert invoice.asks_for == money("90.00")
    assert sum(p[0] for p in parts(invoice)) == Decimal("90.00")
    assert net_allocations(payment) == Decimal("90.00")


def test_a_credit_note_reduces_from_the_last_instalment_back(clerk, manager, invoice):
    split(invoice, clerk)
    pay(invoice, clerk, "40.00")
    services.credit_note_issue(
        invoice=invoice, actor=manager, reason="goodwill", reduce_due=money("50.00")
    )
    # 33.34 off the last, 16.66 off the second's unpaid 26.66.
    assert parts(invoice) == [
        (Decimal("33.33"), Decimal("33.33"), InstalmentStatus.PAID),
        (Decimal("16.67"), Decimal("6.67"), InstalmentStatus.PARTIALLY_PAID),
        (Decimal(0), Decimal(0), InstalmentStatus.CREDITED),
    ]
    invoice.refresh_from_db()
    assert sum(p[0] for p in parts(invoice)) == invoice.asks_for.amount


def test_a_credit_note_to_credit_releases_then_reduces(clerk, manager, invoice):
    split(invoice, clerk)
    payment = pay(invoice, clerk, "100.00")
    services.credit_note_issue(
        invoice=invoice, actor=manager, reason="goodwill", to_credit=money("40.00")
    )
    assert net_allocations(payment) == Decimal("60.00")
    invoice.refresh_from_db()
    assert sum(p[0] for p in parts(invoice)) == invoice.asks_for.amount == Decimal("60.00")
    assert sum(p[1] for p in parts(invoice)) == Decimal("60.00")


def test_a_write_off_reduces_the_instalments(clerk, manager, invoice):
    split(invoice, clerk)
    pay(invoice, manager, "60.00", write_off_remainder=True)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert all(p[0] == p[1] for p in parts(invoice))


# -- editing ----------------------------------------------------------------------


def test_an_edit_may_change_what_is_unpaid(clerk, invoice):
    split(invoice, clerk)
    pay(invoice, clerk, "33.33")
    days = dates(3)
    edited = services.schedule_set(
        invoice=invoice,
        actor=clerk,
        split="fixed",
        due_dates=[days[0], days[1] + 5 * DAY, days[2] + 5 * DAY],
        amounts=["33.33", "16.67", None],
    )
    assert [i.amount.amount for i in edited] == [Decimal("33.33"), Decimal("16.67"), Decimal(50)]


def test_an_edit_may_not_change_a_paid_instalment(clerk, invoice):
    split(invoice, clerk)
    pay(invoice, clerk, "33.33")
    days = dates(3)
    assert_refused(
        ErrorCode.INSTALMENT_ALREADY_PAID,
        services.schedule_set,
        invoice=invoice,
        actor=clerk,
        split="fixed",
        due_dates=days,
        amounts=["40.00", "30.00", None],
    )
    assert_refused(
        ErrorCode.INSTALMENT_ALREADY_PAID,
        services.schedule_set,
        invoice=invoice,
        actor=clerk,
        split="fixed",
        due_dates=[days[0] + DAY, days[1], days[2]],
        amounts=["33.33", "33.33", None],
    )


def test_an_edit_may_not_drop_an_instalment_with_payments(clerk, invoice):
    split(invoice, clerk)
    pay(invoice, clerk, "80.00")
    assert_refused(
        ErrorCode.INSTALMENT_ALREADY_PAID,
        services.schedule_set,
        invoice=invoice,
        actor=clerk,
        split="equal",
        due_dates=dates(2),
    )


def test_an_edit_may_drop_and_add_unpaid_instalments(clerk, invoice):
    split(invoice, clerk)
    assert len(split(invoice, clerk, count=2)) == 2
    assert len(split(invoice, clerk, count=6)) == 6
    assert Instalment.objects.filter(invoice=invoice).count() == 6


def test_remove_only_while_nothing_was_allocated(clerk, invoice):
    split(invoice, clerk)
    services.schedule_remove(invoice=invoice, actor=clerk)
    invoice.refresh_from_db()
    assert not invoice.has_schedule and not Instalment.objects.exists()
    split(invoice, clerk)
    pay(invoice, clerk, "10.00")
    assert_refused(ErrorCode.INVALID_STATE, services.schedule_remove, invoice=invoice, actor=clerk)


def test_the_same_key_replays_the_schedule(clerk, invoice):
    first = split(invoice, clerk, idempotency_key="k1")
    again = split(invoice, clerk, idempotency_key="k1")
    assert [i.pk for i in first] == [i.pk for i in again]
    assert InvoiceEvent.objects.filter(kind="schedule_set").count() == 1


# -- overdue ----------------------------------------------------------------------


def test_overdue_by_instalment(clerk, invoice):
    # Due about 40 and 10 days ago, and in about 20 days.
    first, second, third = split(invoice, clerk, first=TODAY - 40 * DAY)
    assert second.due_date < TODAY < third.due_date
    pay(invoice, clerk, "33.33", instalments=[second.pk])
    assert list(Instalment.objects.overdue()) == [first]
    invoice = Invoice.objects.with_overdue_instalments().get(pk=invoice.pk)
    assert first in invoice.overdue_instalments
    assert second not in invoice.overdue_instalments
    assert invoice.is_overdue_by_instalment
    assert invoice.overdue_instalment_count == len(invoice.overdue_instalments)
    assert invoice.overdue_since == first.due_date
    assert Invoice.objects.overdue_by_instalment().filter(pk=invoice.pk).exists()


def test_a_scheduled_invoice_is_not_overdue_by_instalment_when_parts_are_current(clerk, invoice):
    split(invoice, clerk)
    assert not Invoice.objects.overdue_by_instalment().filter(pk=invoice.pk).exists()
    invoice.refresh_from_db()
    assert not invoice.is_overdue_by_instalment
