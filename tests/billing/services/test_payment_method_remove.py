"""payment_method_remove: a removed saved method is kept (payments name it) but
never charged, offered or made the default again."""

import pytest
from moneyed import Money

from billing import selectors, services
from billing.errors import BillingError, ErrorCode
from billing.models import PaymentMethod
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, record_counts, saved_card, user_with

pytestmark = pytest.mark.django_db


def test_removing_the_default_leaves_the_customer_without_one(clerk):
    customer = CustomerFactory()
    card = saved_card(customer, clerk)
    other = saved_card(customer, clerk, default=False, last4="1111")
    removed = services.payment_method_remove(payment_method=card, actor=clerk)
    assert removed.removed_at is not None and not removed.is_default
    assert list(selectors.customer_payment_methods(customer=customer)) == [other]
    assert selectors.default_payment_method(customer=customer) is None


def test_a_removed_method_is_never_charged(clerk):
    customer = CustomerFactory()
    card = saved_card(customer, clerk)
    invoice = issued_invoice(customer, clerk, "50.00")
    services.payment_method_remove(payment_method=card, actor=clerk)
    before = record_counts()
    for method in (card, None):  # Named, or as the default.
        with pytest.raises(BillingError) as refused:
            services.payment_charge(invoice=invoice, payment_method=method, actor=clerk)
        assert refused.value.code == ErrorCode.NO_SAVED_PAYMENT_METHOD
    assert record_counts() == before


def test_a_method_with_payments_is_kept_and_still_named_by_them(clerk):
    customer = CustomerFactory()
    card = saved_card(customer, clerk)
    charge = services.payment_charge(invoice=issued_invoice(customer, clerk), actor=clerk)
    services.payment_method_remove(payment_method=card, actor=clerk)
    charge.refresh_from_db()
    assert charge.payment_method == card
    assert PaymentMethod.objects.filter(pk=card.pk).exists()
    assert charge.amount == Money("100.00", "USD")


def test_removing_twice_or_editing_a_removed_method_is_refused_and_writes_nothing(clerk):
    card = saved_card(CustomerFactory(), clerk)
    services.payment_method_remove(payment_method=card, actor=clerk)
    rows = list(PaymentMethod.objects.values_list())
    with pytest.raises(BillingError) as again:
        services.payment_method_remove(payment_method=card, actor=clerk)
    assert again.value.code == ErrorCode.INVALID_STATE
    with pytest.raises(BillingError) as edited:
        services.payment_method_update(
            payment_method=card, brand="visa", last4="4242", exp_month=1, exp_year=2040,
            default=True, actor=clerk,
        )  # fmt: skip
    assert edited.value.code == ErrorCode.INVALID_STATE
    assert list(PaymentMethod.objects.values_list()) == rows


def test_removing_needs_manage_invoices(clerk):
    card = saved_card(CustomerFactory(), clerk)
    with pytest.raises(BillingError) as refused:
        services.payment_method_remove(payment_method=card, actor=user_with("record_payment"))
    assert refused.value.code == ErrorCode.PERMISSION_DENIED
    card.refresh_from_db()
    assert card.removed_at is None and card.is_default


def test_sandbox_test_cards_come_back_after_removal(clerk):
    customer = CustomerFactory()
    added = services.sandbox_test_cards_add(customer=customer, actor=clerk)
    services.payment_method_remove(payment_method=added[0], actor=clerk)
    again = services.sandbox_test_cards_add(customer=customer, actor=clerk)
    assert [method.token for method in again] == [added[0].token]
