import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from moneyed import Money

from billing import services
from billing.models import Invoice, InvoiceEvent, Payment
from billing.selectors import customer_credit
from tests.billing.services._refusals import assert_refused
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def line(price, quantity="1", tax_rate="0", description="Work"):
    return {
        "description": description,
        "quantity": Decimal(quantity),
        "unit_price": price,
        "tax_rate": Decimal(tax_rate),
    }


def create(actor, lines, currency="USD", customer=None, **kwargs):
    return services.invoice_create(
        customer=customer or CustomerFactory(currency=currency),
        currency=currency,
        lines=lines,
        actor=actor,
        **kwargs,
    )


# -- invoice_create ------------------------------------------------------------


def test_invoice_create_rounds_tax_half_up_once_per_line(clerk):
    invoice = create(clerk, [line(Money("33.33", "USD"), "3", "7.5")])
    assert invoice.status == "draft"
    assert not invoice.number
    stored = invoice.lines.get()
    assert stored.net == Money("99.99", "USD")
    assert stored.tax == Money("7.50", "USD")
    assert stored.total == Money("107.49", "USD")
    invoice.refresh_from_db()
    assert invoice.total == Money("107.49", "USD")
    assert invoice.amount_due == Money("107.49", "USD")
    assert invoice.amount_paid == Money("0", "USD")
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="created").count() == 1


def test_invoice_create_rounds_a_half_cent_up_not_to_even(clerk):
    invoice = create(clerk, [line(Money("0.25", "USD"), "1", "10")])
    assert invoice.lines.get().tax == Money("0.03", "USD")
    assert invoice.total == Money("0.28", "USD")


def test_invoice_create_adds_the_rounded_line_amounts_not_the_raw_ones(clerk):
    invoice = create(
        clerk,
        [line(Money("0.05", "USD"), "1", "10"), line(Money("0.05", "USD"), "1", "10")],
    )
    # Each line's tax 0.005 rounds to 0.01; the invoice adds 0.01 + 0.01.
    assert [stored.tax for stored in invoice.lines.order_by("position")] == [
        Money("0.01", "USD"),
        Money("0.01", "USD"),
    ]
    assert invoice.total == Money("0.12", "USD")


def test_invoice_create_rounds_jpy_to_whole_yen(clerk):
    invoice = create(clerk, [line(Money("333", "JPY"), "3", "10")], currency="JPY")
    stored = invoice.lines.get()
    assert stored.net == Money("999", "JPY")
    assert stored.tax == Money("100", "JPY")
    invoice.refresh_from_db()
    assert invoice.total == Money("1099", "JPY")
    assert invoice.currency == "JPY"


def test_invoice_create_rounds_kwd_to_three_decimals(clerk):
    invoice = create(clerk, [line(Money("1.333", "KWD"), "3", "7.5")], currency="KWD")
    stored = invoice.lines.get()
    assert stored.net == Money("3.999", "KWD")
    assert stored.tax == Money("0.300", "KWD")
    invoice.refresh_from_db()
    assert invoice.total == Money("4.299", "KWD")


def test_invoice_create_rounds_a_fractional_quantity_once(clerk):
    invoice = create(clerk, [line(Money("10.00", "USD"), "0.3333")])
    assert invoice.total == Money("3.33", "USD")


def test_invoice_create_keeps_the_due_date_given(clerk):
    due = datetime.date(2030, 1, 31)
    invoice = create(clerk, [line(Money("1.00", "USD"))], due_date=due)
    invoice.refresh_from_db()
    assert invoice.due_date == due


@pytest.mark.parametrize(
    ("price", "currency"),
    [
        (Money("33.333", "USD"), "USD"),
        (Money("1.5", "JPY"), "JPY"),
        (Money("1.0001", "KWD"), "KWD"),
        ("33.333", "USD"),
    ],
)
def test_invoice_create_refuses_a_price_with_too_many_decimals_as_invalid_amount(
    clerk, price, currency
):
    customer = CustomerFactory(currency=currency)
    assert_refused(
        "invalid_amount",
        services.invoice_create,
        customer=customer,
        currency=currency,
        lines=[line(price, "3")],
        actor=clerk,
    )
    assert Invoice.objects.count() == 0


def test_invoice_create_refuses_a_float_price_as_invalid_amount(clerk):
    assert_refused(
        "invalid_amount",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[{"description": "Work", "quantity": Decimal(3), "unit_price": 33.33}],
        actor=clerk,
    )
    assert Invoice.objects.count() == 0


def test_invoice_create_refuses_a_negative_price_as_invalid_amount(clerk):
    assert_refused(
        "invalid_amount",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[line(Money("-1.00", "USD"))],
        actor=clerk,
    )


def test_invoice_create_refuses_a_total_above_the_largest_amount(clerk):
    assert_refused(
        "invalid_amount",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[line(Money("99999999999.99", "USD"), "2")],
        actor=clerk,
    )
    assert Invoice.objects.count() == 0


def test_invoice_create_refuses_a_price_in_another_currency_as_currency_mismatch(clerk):
    assert_refused(
        "currency_mismatch",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[line(Money("10.00", "EUR"))],
        actor=clerk,
    )
    assert Invoice.objects.count() == 0


@pytest.mark.parametrize(
    "bad_line",
    [
        {"description": "", "quantity": Decimal(1), "unit_price": Money("1.00", "USD")},
        {"description": "Work", "quantity": 1.5, "unit_price": Money("1.00", "USD")},
        {"description": "Work", "quantity": Decimal(0), "unit_price": Money("1.00", "USD")},
        {"description": "Work", "quantity": Decimal("0.00001"), "unit_price": Money("1", "USD")},
        {
            "description": "Work",
            "quantity": Decimal(1),
            "unit_price": Money("1.00", "USD"),
            "tax_rate": Decimal(101),
        },
        {
            "description": "Work",
            "quantity": Decimal(1),
            "unit_price": Money("1.00", "USD"),
            "discount": Decimal(1),
        },
        "not a line",
    ],
)
def test_invoice_create_refuses_a_malformed_line_as_invalid_value(clerk, bad_line):
    assert_refused(
        "invalid_value",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[bad_line],
        actor=clerk,
    )
    assert Invoice.objects.count() == 0


def test_invoice_create_refuses_an_unknown_currency_as_invalid_value(clerk):
    assert_refused(
        "invalid_value",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="XXY",
        lines=[],
        actor=clerk,
    )


@pytest.mark.parametrize(
    "due_date", ["9999-12-31", datetime.date(1, 1, 1), datetime.date.today().replace(year=2000)]
)
def test_invoice_create_and_update_refuse_a_due_date_years_away(clerk, due_date):
    customer = CustomerFactory()
    error = assert_refused(
        "invalid_date",
        services.invoice_create,
        customer=customer,
        currency="USD",
        lines=[line(Money("1.00", "USD"))],
        actor=clerk,
        due_date=due_date,
    )
    assert error.field == "due_date"
    draft = services.invoice_create(
        customer=customer, currency="USD", lines=[line(Money("1.00", "USD"))], actor=clerk
    )
    assert_refused(
        "invalid_date",
        services.invoice_update_lines,
        invoice=draft,
        lines=[line(Money("2.00", "USD"))],
        actor=clerk,
        due_date=due_date,
    )
    draft.refresh_from_db()
    assert draft.due_date is None and draft.total == Money("1.00", "USD")


def test_invoice_create_refuses_a_due_date_that_is_not_a_date(clerk):
    assert_refused(
        "invalid_date",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[line(Money("1.00", "USD"))],
        actor=clerk,
        due_date="tomorrow",
    )


def test_invoice_create_refuses_a_user_without_permission(nobody):
    assert_refused(
        "permission_denied",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[line(Money("1.00", "USD"))],
        actor=nobody,
    )
    assert Invoice.objects.count() == 0


def test_invoice_create_refuses_no_actor(db):
    assert_refused(
        "permission_denied",
        services.invoice_create,
        customer=CustomerFactory(),
        currency="USD",
        lines=[line(Money("1.00", "USD"))],
        actor=None,
    )


# -- invoice_update_lines ----------------------------------------------------------


def test_invoice_update_lines_replaces_a_drafts_lines_and_totals(clerk):
    invoice = create(clerk, [line(Money("10.00", "USD"))])
    services.invoice_update_lines(
        invoice=invoice, lines=[line(Money("33.33", "USD"), "3", "7.5")], actor=clerk
    )
    invoice.refresh_from_db()
    assert invoice.lines.count() == 1
    assert invoice.total == Money("107.49", "USD")
    assert invoice.amount_due == Money("107.49", "USD")


def test_invoice_update_lines_refuses_an_issued_invoice(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    assert_refused(
        "invalid_state",
        services.invoice_update_lines,
        invoice=invoice,
        lines=[line(Money("1.00", "USD"))],
        actor=clerk,
    )
    assert invoice.lines.get().total == Money("10.00", "USD")


# -- invoice_issue ---------------------------------------------------------------


def test_invoice_issue_numbers_invoices_sequentially_by_year(clerk):
    customer = CustomerFactory()
    first = issued_invoice(customer, clerk, "10.00")
    second = issued_invoice(customer, clerk, "20.00")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.number == f"INV-{YEAR}-000001"
    assert second.number == f"INV-{YEAR}-000002"
    assert first.status == second.status == "open"
    assert first.issue_date == timezone.localdate()
    assert first.due_date > first.issue_date
    assert InvoiceEvent.objects.filter(invoice=first, kind="issued").count() == 1


def test_invoice_issue_refuses_an_issued_invoice_and_takes_no_number(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "10.00")
    assert_refused("invalid_state", services.invoice_issue, invoice=invoice, actor=clerk)
    assert_refused("invalid_state", services.invoice_issue, invoice=invoice, actor=clerk)
    invoice.refresh_from_db()
    assert invoice.number == f"INV-{YEAR}-000001"
    later = issued_invoice(CustomerFactory(), clerk, "10.00")
    assert later.number == f"INV-{YEAR}-000002"


def test_invoice_issue_refuses_a_draft_without_lines(clerk):
    draft = create(clerk, [])
    assert_refused("invalid_state", services.invoice_issue, invoice=draft, actor=clerk)
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert not draft.number


def test_invoice_issue_refuses_a_void_invoice(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    services.invoice_void(invoice=invoice, actor=manager, reason="Mistake")
    assert_refused("invalid_state", services.invoice_issue, invoice=invoice, actor=manager)


def test_invoice_issue_applies_the_customers_credit_in_its_currency(manager):
    customer = CustomerFactory()
    services.balance_adjust(
        customer=customer, amount=Money("30.00", "USD"), actor=manager, reason="Goodwill"
    )
    services.balance_adjust(
        customer=customer, amount=Money("5.00", "EUR"), actor=manager, reason="Goodwill"
    )
    invoice = issued_invoice(customer, manager, "100.00")
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid"
    assert invoice.amount_paid == Money("30.00", "USD")
    assert invoice.amount_due == Money("70.00", "USD")
    payment = Payment.objects.get(invoice=invoice)
    assert payment.method == "customer_credit"
    assert payment.amount == Money("30.00", "USD")
    assert customer_credit(customer=customer, currency="USD") == Money("0", "USD")
    assert customer_credit(customer=customer, currency="EUR") == Money("5.00", "EUR")


def test_invoice_issue_applies_only_as_much_credit_as_is_due(manager):
    customer = CustomerFactory()
    services.balance_adjust(
        customer=customer, amount=Money("150.00", "USD"), actor=manager, reason="Goodwill"
    )
    invoice = issued_invoice(customer, manager, "100.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_due == Money("0", "USD")
    assert customer_credit(customer=customer, currency="USD") == Money("50.00", "USD")


def test_invoice_issue_leaves_credit_alone_when_told_not_to_apply_it(manager):
    customer = CustomerFactory()
    services.balance_adjust(
        customer=customer, amount=Money("30.00", "USD"), actor=manager, reason="Goodwill"
    )
    invoice = issued_invoice(customer, manager, "100.00", apply_credit=False)
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert invoice.amount_due == Money("100.00", "USD")
    assert not Payment.objects.filter(invoice=invoice).exists()
    assert customer_credit(customer=customer, currency="USD") == Money("30.00", "USD")


def test_invoice_issue_refuses_a_user_without_permission(clerk, nobody):
    draft = create(clerk, [line(Money("1.00", "USD"))])
    assert_refused("permission_denied", services.invoice_issue, invoice=draft, actor=nobody)
    draft.refresh_from_db()
    assert draft.status == "draft"


# -- invoice_void ------------------------------------------------------------------


def test_invoice_void_cancels_an_open_invoice_and_keeps_its_number(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    voided = services.invoice_void(invoice=invoice, actor=manager, reason="Sent twice")
    assert voided.status == "void"
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert invoice.number == f"INV-{YEAR}-000001"
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="voided").count() == 1


def test_invoice_void_leaves_a_voided_invoice_unpayable(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    services.invoice_void(invoice=invoice, actor=manager, reason="Sent twice")
    assert_refused(
        "invoice_not_payable",
        services.payment_record,
        invoice=invoice,
        amount=Money("10.00", "USD"),
        method="cash",
        paid_at=datetime.date.today(),
        actor=manager,
    )


def test_invoice_void_refuses_a_draft(manager):
    draft = create(manager, [line(Money("1.00", "USD"))])
    assert_refused("invalid_state", services.invoice_void, invoice=draft, actor=manager, reason="x")


def test_invoice_void_refuses_a_partially_paid_invoice(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    pay(invoice, manager, "4.00")
    assert_refused(
        "invalid_state",
        services.invoice_void,
        invoice=invoice,
        actor=manager,
        reason="x",
    )


def test_invoice_void_refuses_a_paid_invoice(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    pay(invoice, manager, "10.00")
    assert_refused(
        "invalid_state", services.invoice_void, invoice=invoice, actor=manager, reason="x"
    )


def test_invoice_void_refuses_a_credited_invoice(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    services.credit_note_issue(
        invoice=invoice, actor=manager, reason="goodwill", reduce_due=Money("1.00", "USD")
    )
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert_refused(
        "invalid_state", services.invoice_void, invoice=invoice, actor=manager, reason="x"
    )


def test_invoice_void_refuses_a_void_invoice(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    services.invoice_void(invoice=invoice, actor=manager, reason="Sent twice")
    assert_refused(
        "invalid_state", services.invoice_void, invoice=invoice, actor=manager, reason="x"
    )


def test_invoice_void_requires_a_reason(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    assert_refused(
        "invalid_value", services.invoice_void, invoice=invoice, actor=manager, reason=" "
    )
    invoice.refresh_from_db()
    assert invoice.status == "open"


@pytest.mark.parametrize("who", ["clerk", "nobody"])
def test_invoice_void_is_for_managers_only(request, manager, who):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    actor = request.getfixturevalue(who)
    assert_refused(
        "permission_denied",
        services.invoice_void,
        invoice=invoice,
        actor=actor,
        reason="x",
    )


def test_invoice_issue_of_a_zero_total_invoice_marks_it_paid(clerk):
    draft = create(clerk, [line(Money("0.00", "USD"))])
    issued = services.invoice_issue(invoice=draft, actor=clerk)
    assert issued.status == "paid"
    assert issued.number == f"INV-{YEAR}-000001"
    assert not Payment.objects.exists()


def test_invoice_void_refuses_an_inactive_manager(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    manager.is_active = False
    manager.save()
    assert_refused(
        "permission_denied", services.invoice_void, invoice=invoice, actor=manager, reason="x"
    )


def test_invoice_void_refuses_an_unknown_invoice_as_invoice_not_found(manager):
    assert_refused(
        "invoice_not_found", services.invoice_void, invoice=987654, actor=manager, reason="x"
    )


def test_invoice_issue_refuses_an_unknown_invoice_as_invoice_not_found(clerk):
    assert_refused("invoice_not_found", services.invoice_issue, invoice=987654, actor=clerk)


def test_invoice_issue_and_void_with_the_same_idempotency_key_act_once(manager):
    draft = create(manager, [line(Money("10.00", "USD"))])
    issued = services.invoice_issue(invoice=draft, actor=manager, idempotency_key="i")
    again = services.invoice_issue(invoice=draft, actor=manager, idempotency_key="i")
    assert again.number == issued.number and again.status == "open"

    services.invoice_void(invoice=issued, actor=manager, reason="Mistake", idempotency_key="w")
    events = InvoiceEvent.objects.count()
    voided = services.invoice_void(
        invoice=issued, actor=manager, reason="Mistake", idempotency_key="w"
    )
    assert voided.status == "void"
    assert InvoiceEvent.objects.count() == events
    assert_refused(
        "idempotency_conflict",
        services.invoice_void,
        invoice=issued,
        actor=manager,
        reason="Other",
        idempotency_key="w",
    )
