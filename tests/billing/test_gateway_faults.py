"""Every failure point of a charge, driven through the sandbox's failure modes.

After each one and ``reconcile_pending``: the money the gateway took equals the
succeeded charges we recorded, per invoice; no invoice is charged twice; and
check_billing is clean.
"""

import datetime
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from moneyed import Money

from billing import permissions, services
from billing.errors import BillingError
from billing.integrity import find_disagreements
from billing.models import Invoice, Payment, PaymentMethodKind, PaymentStatus, SandboxCharge
from billing.services import charges
from tests.helpers import invoice_with_card, run_together

NOW = datetime.timedelta(0)


def assert_gateway_agrees_with_the_books():
    """Money taken at the gateway == succeeded charges recorded, per invoice."""
    taken = {c.idempotency_key: c.amount for c in SandboxCharge.objects.filter(status="succeeded")}
    charges_by_invoice = {}
    for payment in Payment.objects.filter(method=PaymentMethodKind.SAVED_METHOD):
        key = str(payment.gateway_key)
        assert payment.status != PaymentStatus.PENDING, f"{payment} is still pending"
        if payment.status == PaymentStatus.SUCCEEDED:
            assert taken.pop(key) == payment.amount
            charges_by_invoice.setdefault(payment.invoice_id, []).append(payment.amount)
        else:
            assert key not in taken, f"{payment} failed but the gateway took the money"
    assert taken == {}, "the gateway took money no payment records"
    for invoice in Invoice.objects.filter(pk__in=charges_by_invoice):
        charged = sum(charges_by_invoice[invoice.pk], Money(0, invoice.currency))
        assert charged <= invoice.total, f"{invoice} was charged more than its total"
    assert find_disagreements() == []


@pytest.mark.django_db
class TestEachFailurePoint:
    def test_gateway_timeout_after_taking_the_money(self, manager):
        invoice = invoice_with_card(manager, "sandbox_timeout_charged")
        payment = services.payment_charge(invoice=invoice, actor=manager)
        assert payment.status == PaymentStatus.PENDING

        services.reconcile_pending(actor=manager, older_than=NOW)

        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED
        assert_gateway_agrees_with_the_books()

    def test_gateway_timeout_without_taking_the_money(self, manager):
        invoice = invoice_with_card(manager, "sandbox_timeout_not_charged")
        services.payment_charge(invoice=invoice, actor=manager)

        services.reconcile_pending(actor=manager, older_than=NOW)

        invoice.refresh_from_db()
        assert invoice.amount_due == Money("100.00", "USD")
        assert_gateway_agrees_with_the_books()

    def test_exception_after_the_gateway_took_the_money_before_we_recorded_it(
        self, manager, monkeypatch
    ):
        invoice = invoice_with_card(manager)

        def crash(**kwargs):
            raise RuntimeError("the app server died while recording the charge")

        monkeypatch.setattr(charges, "settle_charge", crash)
        with pytest.raises(RuntimeError):
            services.payment_charge(invoice=invoice, actor=manager)
        monkeypatch.undo()
        assert SandboxCharge.objects.filter(status="succeeded").count() == 1
        assert Payment.objects.get().status == PaymentStatus.PENDING

        services.reconcile_pending(actor=manager, older_than=NOW)

        invoice.refresh_from_db()
        assert invoice.status == "paid"
        assert_gateway_agrees_with_the_books()

    def test_crash_between_the_phases(self, manager):
        invoice = invoice_with_card(manager)
        # Phase one commits the pending payment; the process dies before the gateway call.
        payment, _ = charges._begin(invoice, manager, None, None, None)
        assert payment.status == PaymentStatus.PENDING

        services.reconcile_pending(actor=manager, older_than=NOW)

        payment.refresh_from_db()
        assert payment.status == PaymentStatus.FAILED
        invoice.refresh_from_db()
        assert invoice.amount_pending == Money("0.00", "USD")
        assert_gateway_agrees_with_the_books()

    def test_a_late_answer_after_reconciliation_changes_nothing(self, manager):
        invoice = invoice_with_card(manager, "sandbox_timeout_charged")
        payment = services.payment_charge(invoice=invoice, actor=manager)
        services.reconcile_pending(actor=manager, older_than=NOW)
        charge = charges.get_gateway("sandbox").find_charge(
            idempotency_key=str(payment.gateway_key)
        )

        charges.settle_charge(payment=payment, charge=charge, actor=manager)

        invoice.refresh_from_db()
        assert invoice.amount_paid == Money("100.00", "USD")
        assert_gateway_agrees_with_the_books()

    def test_double_clicked_charge(self, manager):
        invoice = invoice_with_card(manager)
        key = str(uuid.uuid4())

        first = services.payment_charge(invoice=invoice, actor=manager, idempotency_key=key)
        second = services.payment_charge(invoice=invoice, actor=manager, idempotency_key=key)

        assert first.pk == second.pk
        assert SandboxCharge.objects.count() == 1
        services.reconcile_pending(actor=manager, older_than=NOW)
        assert_gateway_agrees_with_the_books()

    def test_reconciling_twice_settles_once(self, manager):
        invoice = invoice_with_card(manager, "sandbox_timeout_charged")
        services.payment_charge(invoice=invoice, actor=manager)

        services.reconcile_pending(actor=manager, older_than=NOW)
        again = services.reconcile_pending(actor=manager, older_than=NOW)

        assert again.settled == 0
        assert invoice.events.filter(kind="payment_succeeded").count() == 1
        assert_gateway_agrees_with_the_books()


# -- on PostgreSQL, threads released together -----------------------------------------


@pytest.fixture
def staff(transactional_db):
    users = []
    for name in ("ann", "bob", "cy", "dee"):
        user = get_user_model().objects.create_user(name, password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=permissions.MANAGER))
        users.append(user)
    return users


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staff_charging_one_invoice_at_once_charge_it_once(staff):
    invoice = invoice_with_card(staff[0])

    results, errors = run_together(
        4, lambda i: services.payment_charge(invoice=invoice, actor=staff[i])
    )

    assert len(results) == 1, errors
    # While the winner's charge is pending the rest find nothing left to charge; once
    # it has succeeded they find the invoice paid.
    assert all(
        isinstance(e, BillingError) and e.code in ("overpayment", "invoice_not_payable")
        for e in errors.values()
    ), errors
    assert SandboxCharge.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert_gateway_agrees_with_the_books()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_sent_at_once_charges_once(staff):
    invoice = invoice_with_card(staff[0])
    key = str(uuid.uuid4())

    results, errors = run_together(
        4,
        lambda i: services.payment_charge(invoice=invoice, actor=staff[0], idempotency_key=key),
    )

    # Either the first request's payment comes back, or "still being processed".
    assert all(
        isinstance(e, BillingError) and e.code == "idempotency_conflict" for e in errors.values()
    )
    assert len({p.pk for p in results.values()}) == 1
    assert SandboxCharge.objects.count() == 1
    services.reconcile_pending(actor=staff[0], older_than=NOW)
    assert_gateway_agrees_with_the_books()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reconciliation_beside_staff_work_and_itself(staff):
    invoices = [invoice_with_card(staff[0], "sandbox_timeout_charged") for _ in range(3)]
    for invoice in invoices:
        services.payment_charge(invoice=invoice, actor=staff[0], amount=Money("60.00", "USD"))
    cash_invoice = invoices[0]

    def work(i):
        if i < 2:
            return services.reconcile_pending(actor=staff[i], older_than=NOW)
        return services.payment_record(
            invoice=cash_invoice,
            amount=Money("40.00", "USD"),
            method="cash",
            paid_at=datetime.date.today(),
            # One person's double submit: a key is its actor's.
            actor=staff[2],
            idempotency_key="cash-once",
        )

    results, errors = run_together(4, work)

    assert not errors, errors
    assert sum(r.settled for i, r in results.items() if i < 2) == 3
    for invoice in invoices:
        assert invoice.events.filter(kind="payment_succeeded").count() == 1
    cash_invoice.refresh_from_db()
    assert cash_invoice.status == "paid"
    assert_gateway_agrees_with_the_books()
