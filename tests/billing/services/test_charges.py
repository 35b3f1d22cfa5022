"""payment_charge, payment_retry, invoice_issue_and_charge and gateway refunds,
against the built-in sandbox gateway (their reconciliation: test_reconcile.py)."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from moneyed import Money

from billing import services
from billing.integrity import find_disagreements
from billing.models import (
    InvoiceEvent,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    SandboxCharge,
)
from billing.selectors import customer_credit
from tests.billing.services._refusals import assert_refused
from tests.factories import CustomerFactory
from tests.helpers import invoice_with_card, issued_invoice, pay, refund_to_card, saved_card

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(amount, "USD")


def charged_invoice(manager, token="sandbox_ok", amount="100.00"):
    invoice = invoice_with_card(manager, token, amount)
    return invoice, invoice.customer.payment_methods.get()


def kinds(invoice):
    return list(invoice.events.order_by("pk").values_list("kind", flat=True))


# -- payment_charge ------------------------------------------------------------


def test_charge_takes_the_due_from_the_default_method_and_pays_the_invoice(manager):
    invoice, method = charged_invoice(manager)

    payment = services.payment_charge(invoice=invoice, actor=manager)

    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.amount == usd("100.00")
    assert payment.payment_method == method
    assert payment.gateway_charge_id
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert (invoice.amount_paid, invoice.amount_due) == (usd("100.00"), usd("0.00"))
    assert invoice.amount_pending == usd("0.00")
    charge = SandboxCharge.objects.get(idempotency_key=str(payment.gateway_key))
    assert charge.amount == usd("100.00") and charge.status == "succeeded"
    assert kinds(invoice)[-2:] == ["payment_pending", "payment_succeeded"]
    assert find_disagreements() == []


def test_charge_of_part_leaves_the_invoice_partially_paid(manager):
    invoice, _ = charged_invoice(manager)

    services.payment_charge(invoice=invoice, actor=manager, amount=usd("30.00"))

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.amount_due == usd("70.00")


def test_clerk_may_charge(clerk, manager):
    invoice, _ = charged_invoice(manager)
    payment = services.payment_charge(invoice=invoice, actor=clerk)
    assert payment.created_by == clerk


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("sandbox_declined", "Your card was declined."),
        ("sandbox_insufficient_funds", "Your card has insufficient funds."),
    ],
)
def test_declined_charge_stays_as_a_failed_payment_with_the_reason(manager, token, reason):
    invoice, _ = charged_invoice(manager, token)

    payment = services.payment_charge(invoice=invoice, actor=manager)

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == reason
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert (invoice.amount_due, invoice.amount_pending) == (usd("100.00"), usd("0.00"))
    event = invoice.events.get(kind="payment_failed")
    assert event.message == reason and event.created_by == manager
    assert find_disagreements() == []


def test_charge_refusals_write_nothing(manager, nobody):
    invoice, _ = charged_invoice(manager)
    other = saved_card(CustomerFactory(), manager)
    no_card = issued_invoice(CustomerFactory(), manager, "10.00")
    assert_refused("permission_denied", services.payment_charge, invoice=invoice, actor=nobody)
    assert_refused(
        "overpayment", services.payment_charge, invoice=invoice, actor=manager, amount=usd("100.01")
    )
    assert_refused(
        "invalid_amount",
        services.payment_charge,
        invoice=invoice,
        actor=manager,
        amount=usd("1.001"),
    )
    assert_refused(
        "currency_mismatch",
        services.payment_charge,
        invoice=invoice,
        actor=manager,
        amount=Money("1", "EUR"),
    )
    assert_refused(
        "no_saved_payment_method",
        services.payment_charge,
        invoice=invoice,
        actor=manager,
        payment_method=other,
    )
    assert_refused(
        "no_saved_payment_method", services.payment_charge, invoice=no_card, actor=manager
    )


def test_charge_refuses_a_draft_and_a_paid_invoice(manager):
    customer = CustomerFactory()
    saved_card(customer, manager)
    draft = services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "x", "quantity": Decimal(1), "unit_price": usd("5.00")}],
        actor=manager,
    )
    assert_refused("invoice_not_payable", services.payment_charge, invoice=draft, actor=manager)
    paid = issued_invoice(customer, manager, "5.00")
    pay(paid, manager, "5.00")
    assert_refused("invoice_not_payable", services.payment_charge, invoice=paid, actor=manager)


def test_charge_with_a_gateway_that_is_not_configured_is_gateway_unavailable(manager, settings):
    settings.STRIPE_SECRET_KEY = ""
    customer = CustomerFactory()
    saved_card(customer, manager, token="pm_card_visa", gateway="stripe")
    invoice = issued_invoice(customer, manager, "10.00")
    error = assert_refused(
        "gateway_unavailable", services.payment_charge, invoice=invoice, actor=manager
    )
    assert "STRIPE_SECRET_KEY" in error.message


def test_the_same_idempotency_key_charges_once(manager):
    invoice, _ = charged_invoice(manager)

    first = services.payment_charge(invoice=invoice, actor=manager, idempotency_key="k1")
    again = services.payment_charge(invoice=invoice, actor=manager, idempotency_key="k1")

    assert again.pk == first.pk
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert SandboxCharge.objects.count() == 1


def test_a_pending_charge_reserves_its_amount_against_other_payments(manager):
    invoice, _ = charged_invoice(manager, "sandbox_timeout_charged")

    payment = services.payment_charge(invoice=invoice, actor=manager, amount=usd("60.00"))

    assert payment.status == PaymentStatus.PENDING
    invoice.refresh_from_db()
    assert invoice.amount_pending == usd("60.00")
    assert invoice.amount_due == usd("100.00")
    assert "payment_unknown" in kinds(invoice)
    assert_refused("overpayment", pay, invoice=invoice, actor=manager, amount="40.01")
    assert_refused(
        "overpayment", services.payment_charge, invoice=invoice, actor=manager, amount=usd("40.01")
    )
    assert_refused(
        "invalid_state", services.invoice_void, invoice=invoice, actor=manager, reason="oops"
    )
    pay(invoice, manager, "40.00")
    assert find_disagreements() == []


# -- retries -----------------------------------------------------------------


class _Collect:
    def __init__(self, lines):
        self.lines = lines

    def write(self, text):
        self.lines.append(text)

    def flush(self):
        pass


def test_retry_makes_a_new_attempt_with_a_new_key(manager):
    invoice, _ = charged_invoice(manager, "sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=manager)

    again = services.payment_retry(payment=failed, actor=manager)

    assert again.pk != failed.pk and again.gateway_key != failed.gateway_key
    assert again.status == PaymentStatus.FAILED
    assert SandboxCharge.objects.count() == 2


def test_retry_charges_what_is_due_now_when_less_than_the_failed_amount(manager):
    invoice, method = charged_invoice(manager, "sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=manager)
    pay(invoice, manager, "70.00")
    method.token = "sandbox_ok"  # the customer's bank lifted the block
    method.save()

    again = services.payment_retry(payment=failed, actor=manager)

    assert again.status == PaymentStatus.SUCCEEDED and again.amount == usd("30.00")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_retry_refuses_a_payment_that_did_not_fail(manager):
    invoice, _ = charged_invoice(manager)
    ok = services.payment_charge(invoice=invoice, actor=manager, amount=usd("10.00"))
    assert_refused("invalid_state", services.payment_retry, payment=ok, actor=manager)


def _age(payment, hours):
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=hours)
    )


def test_retry_failed_payments_respects_spacing_and_the_attempt_limit(manager, settings):
    settings.BILLING_RETRY_MAX_ATTEMPTS = 2
    settings.BILLING_RETRY_SPACING_HOURS = 24
    invoice, _ = charged_invoice(manager, "sandbox_declined")
    first = services.payment_charge(invoice=invoice, actor=manager)

    call_command("retry_failed_payments", actor="manager", stdout=_Collect([]))
    assert Payment.objects.filter(invoice=invoice).count() == 1  # too recent

    _age(first, 25)
    out = []
    call_command("retry_failed_payments", actor="manager", dry_run=True, stdout=_Collect(out))
    assert "would retry" in "".join(out)
    assert Payment.objects.filter(invoice=invoice).count() == 1

    call_command("retry_failed_payments", actor="manager", stdout=_Collect([]))
    assert Payment.objects.filter(invoice=invoice).count() == 2
    for attempt in Payment.objects.filter(invoice=invoice):
        _age(attempt, 25)
    call_command("retry_failed_payments", actor="manager", stdout=_Collect([]))
    assert Payment.objects.filter(invoice=invoice).count() == 3
    for attempt in Payment.objects.filter(invoice=invoice):
        _age(attempt, 25)
    call_command("retry_failed_payments", actor="manager", stdout=_Collect([]))
    assert Payment.objects.filter(invoice=invoice).count() == 3  # two retries were the limit


def test_retry_failed_payments_skips_invoices_paid_meanwhile(manager):
    invoice, _ = charged_invoice(manager, "sandbox_declined")
    first = services.payment_charge(invoice=invoice, actor=manager)
    _age(first, 48)
    pay(invoice, manager, "100.00")

    call_command("retry_failed_payments", actor="manager", stdout=_Collect([]))

    assert Payment.objects.filter(invoice=invoice).count() == 2  # the failed one and the cash


# -- invoice_issue_and_charge ---------------------------------------------------


def _draft(customer, actor, amount="80.00"):
    return services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "Plan", "quantity": Decimal(1), "unit_price": usd(amount)}],
        actor=actor,
    )


def test_issue_and_charge_issues_the_draft_and_charges_the_default_method(manager):
    customer = CustomerFactory()
    saved_card(customer, manager)
    draft = _draft(customer, manager)

    outcome = services.invoice_issue_and_charge(invoice=draft, actor=manager)

    invoice = outcome.invoice
    assert invoice.number.startswith("INV-")
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.payments.get() == outcome.charge
    assert outcome.charge.status == PaymentStatus.SUCCEEDED
    assert outcome.credit_payment is None


def test_issue_and_charge_applies_credit_first_and_charges_the_rest(manager):
    customer = CustomerFactory()
    saved_card(customer, manager)
    services.balance_adjust(customer=customer, amount=usd("30.00"), actor=manager, reason="gift")

    outcome = services.invoice_issue_and_charge(invoice=_draft(customer, manager), actor=manager)

    invoice = outcome.invoice
    charge = invoice.payments.get(method="saved_method")
    assert outcome.charge == charge and charge.amount == usd("50.00")
    assert outcome.credit_payment.amount == usd("30.00")
    assert invoice.status == InvoiceStatus.PAID
    assert customer_credit(customer=customer, currency="USD") == usd("0.00")


def test_issue_and_charge_with_a_declined_card_leaves_an_open_invoice_and_a_failed_charge(manager):
    customer = CustomerFactory()
    saved_card(customer, manager, "sandbox_declined")

    outcome = services.invoice_issue_and_charge(invoice=_draft(customer, manager), actor=manager)

    assert outcome.invoice.status == InvoiceStatus.OPEN
    assert outcome.invoice.payments.get() == outcome.charge
    assert outcome.charge.status == PaymentStatus.FAILED


def test_issue_and_charge_without_a_saved_method_writes_nothing(manager):
    customer = CustomerFactory()
    draft = _draft(customer, manager)
    assert_refused(
        "no_saved_payment_method", services.invoice_issue_and_charge, invoice=draft, actor=manager
    )
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None


def test_issue_and_charge_needs_the_charge_permission(manager, nobody):
    customer = CustomerFactory()
    saved_card(customer, manager)
    assert_refused(
        "permission_denied",
        services.invoice_issue_and_charge,
        invoice=_draft(customer, manager),
        actor=nobody,
    )


# -- refunds back to the card ---------------------------------------------------


def test_refund_to_the_card_goes_through_the_gateway_and_the_due_grows_back(manager):
    invoice, _ = charged_invoice(manager)
    payment = services.payment_charge(invoice=invoice, actor=manager)

    refund = refund_to_card(payment, manager, "40.00")

    assert refund.status == RefundStatus.SUCCEEDED and refund.gateway_refund_id
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert (invoice.amount_paid, invoice.amount_due) == (usd("60.00"), usd("40.00"))
    assert invoice.amount_pending == usd("0.00")
    charge = SandboxCharge.objects.get(charge_id=payment.gateway_charge_id)
    assert charge.amount_refunded == usd("40.00")
    assert kinds(invoice)[-2:] == ["refund_pending", "refund_succeeded"]
    assert find_disagreements() == []


def test_a_refund_the_gateway_refuses_leaves_everything_as_it_was(manager):
    invoice, _ = charged_invoice(manager, "sandbox_refund_fails")
    payment = services.payment_charge(invoice=invoice, actor=manager)

    refund = refund_to_card(payment, manager, "40.00")

    assert refund.status == RefundStatus.FAILED
    assert "refused" in refund.failure_reason
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert (invoice.amount_paid, invoice.amount_due) == (usd("100.00"), usd("0.00"))
    assert payment.amount_refunded == usd("0.00")
    assert invoice.events.get(kind="refund_failed").message == refund.failure_reason
    assert find_disagreements() == []


def test_original_method_refund_refuses_external_payments(manager):
    invoice = issued_invoice(CustomerFactory(), manager, "10.00")
    cash = pay(invoice, manager, "10.00")
    assert_refused("invalid_value", refund_to_card, payment=cash, actor=manager, amount="5.00")


def test_credit_note_refund_of_a_card_payment_goes_back_through_the_gateway(manager):
    invoice, _ = charged_invoice(manager)
    payment = services.payment_charge(invoice=invoice, actor=manager)

    issued = services.credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=usd("30.00"),
        refund_payment=payment,
    )

    refund = Refund.objects.get(credit_note=issued.credit_note)
    assert refund.destination == "original_method" and refund.status == RefundStatus.SUCCEEDED
    assert issued.refund == refund and issued.refund.status == RefundStatus.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert (invoice.amount_credited, invoice.amount_paid) == (usd("30.00"), usd("70.00"))
    assert find_disagreements() == []


def test_a_refused_credit_note_refund_is_undone_on_the_invoice(manager):
    invoice, _ = charged_invoice(manager, "sandbox_refund_fails")
    payment = services.payment_charge(invoice=invoice, actor=manager)

    issued = services.credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        refund=usd("30.00"),
        refund_payment=payment,
    )

    refund = Refund.objects.get(credit_note=issued.credit_note)
    assert refund.status == RefundStatus.FAILED
    assert issued.refund.status == RefundStatus.FAILED, "the result says how the refund ended"
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert (invoice.amount_credited, invoice.amount_paid) == (usd("0.00"), usd("100.00"))
    assert payment.amount_refunded == usd("0.00")
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="refund_failed").count() == 1
    assert find_disagreements() == []
