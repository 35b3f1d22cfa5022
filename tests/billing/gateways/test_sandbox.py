import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction
from moneyed import Money

from billing.gateways import (
    FAILED,
    SUCCEEDED,
    GatewayTimeout,
    GatewayUnavailable,
    get_gateway,
)
from billing.gateways.sandbox import KEY_REUSED, REFUND_REFUSED, SandboxGateway
from billing.models import SandboxCharge, SandboxRefund
from tests.helpers import run_together

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(amount, "USD")


@pytest.fixture
def gateway():
    return SandboxGateway()


def charge(gateway, token="sandbox_ok", amount="100.00", key="charge-1", **kwargs):
    if not isinstance(amount, Money):
        amount = usd(amount)
    return gateway.charge(token=token, amount=amount, idempotency_key=key, **kwargs)


def refund(gateway, charge_id, amount="10.00", key="refund-1", **kwargs):
    if not isinstance(amount, Money):
        amount = usd(amount)
    return gateway.refund(charge_id=charge_id, amount=amount, idempotency_key=key, **kwargs)


# -- charges: every token ------------------------------------------------------------


def test_sandbox_ok_charges_and_records_the_charge(gateway):
    result = charge(gateway, description="INV-2026-000001", metadata={"payment": 7})
    assert result.status == SUCCEEDED
    assert result.id.startswith("sbch_")
    assert result.amount == usd("100.00")
    assert (result.failure_reason, result.failure_code) == ("", "")
    record = SandboxCharge.objects.get()
    assert record.charge_id == result.id
    assert record.idempotency_key == "charge-1"
    assert record.amount == usd("100.00")
    assert record.amount_refunded == usd("0")
    assert record.description == "INV-2026-000001"
    assert record.metadata == {"payment": "7"}


@pytest.mark.parametrize(
    ("token", "reason", "code"),
    [
        ("sandbox_declined", "Your card was declined.", "card_declined"),
        ("sandbox_insufficient_funds", "Your card has insufficient funds.", "insufficient_funds"),
        ("tok_visa", "No such payment method.", "resource_missing"),
        ("", "No such payment method.", "resource_missing"),
    ],
)
def test_a_declining_token_gives_a_failed_charge_with_its_reason(gateway, token, reason, code):
    result = charge(gateway, token=token)
    assert result.status == FAILED
    assert (result.failure_reason, result.failure_code) == (reason, code)
    assert result.amount == usd("100.00")
    assert SandboxCharge.objects.get().status == FAILED


def test_sandbox_timeout_charged_takes_the_money_then_times_out(gateway):
    with pytest.raises(GatewayTimeout) as raised:
        charge(gateway, token="sandbox_timeout_charged")
    assert raised.value.money_may_have_moved
    found = gateway.find_charge(idempotency_key="charge-1")
    assert found.status == SUCCEEDED
    assert found.amount == usd("100.00")
    assert SandboxCharge.objects.get().charge_id == found.id


def test_sandbox_timeout_charged_answers_a_replay_with_the_charge_it_made(gateway):
    with pytest.raises(GatewayTimeout):
        charge(gateway, token="sandbox_timeout_charged")
    replay = charge(gateway, token="sandbox_timeout_charged")
    assert replay.status == SUCCEEDED
    assert SandboxCharge.objects.count() == 1


def test_sandbox_timeout_not_charged_times_out_and_records_nothing(gateway):
    with pytest.raises(GatewayTimeout):
        charge(gateway, token="sandbox_timeout_not_charged")
    with pytest.raises(GatewayTimeout):
        charge(gateway, token="sandbox_timeout_not_charged")
    assert gateway.find_charge(idempotency_key="charge-1") is None
    assert SandboxCharge.objects.count() == 0


def test_sandbox_refund_fails_charges_fine_but_every_refund_fails(gateway):
    charged = charge(gateway, token="sandbox_refund_fails")
    assert charged.status == SUCCEEDED
    first = refund(gateway, charged.id, "10.00", key="r1")
    second = refund(gateway, charged.id, "100.00", key="r2")
    for result in (first, second):
        assert result.status == FAILED
        assert result.failure_reason == REFUND_REFUSED
    assert SandboxCharge.objects.get().amount_refunded == usd("0")
    assert SandboxRefund.objects.filter(status=FAILED).count() == 2


def test_sandbox_refund_timeout_makes_the_refund_then_times_out(gateway):
    charged = charge(gateway, token="sandbox_refund_timeout")
    with pytest.raises(GatewayTimeout):
        refund(gateway, charged.id, "30.00")
    found = gateway.find_refund(charge_id=charged.id, idempotency_key="refund-1")
    assert found.status == SUCCEEDED
    assert found.amount == usd("30.00")
    assert refund(gateway, charged.id, "30.00") == found
    assert SandboxCharge.objects.get().amount_refunded == usd("30.00")


# -- idempotency --------------------------------------------------------------------------


def test_the_same_key_returns_the_first_charge_and_charges_once(gateway):
    first = charge(gateway)
    assert charge(gateway) == first
    assert SandboxCharge.objects.count() == 1


def test_the_same_key_returns_the_first_decline_too(gateway):
    first = charge(gateway, token="sandbox_declined")
    assert charge(gateway, token="sandbox_declined") == first
    assert SandboxCharge.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount": usd("100.01")},
        {"amount": Money("100", "EUR")},
        {"token": "sandbox_declined"},
    ],
)
def test_a_charge_key_reused_with_different_parameters_is_refused(gateway, change):
    first = charge(gateway)
    with pytest.raises(GatewayUnavailable) as raised:
        charge(gateway, **change)
    assert raised.value.message == KEY_REUSED
    assert not raised.value.money_may_have_moved
    assert list(SandboxCharge.objects.values_list("charge_id", flat=True)) == [first.id]


def test_the_same_refund_key_returns_the_first_refund_and_refunds_once(gateway):
    charged = charge(gateway)
    first = refund(gateway, charged.id, "40.00")
    assert refund(gateway, charged.id, "40.00") == first
    assert SandboxRefund.objects.count() == 1
    assert SandboxCharge.objects.get().amount_refunded == usd("40.00")


def test_a_refund_key_reused_with_another_amount_or_charge_is_refused(gateway):
    charged = charge(gateway)
    other = charge(gateway, key="charge-2")
    refund(gateway, charged.id, "40.00")
    with pytest.raises(GatewayUnavailable, match=KEY_REUSED):
        refund(gateway, charged.id, "41.00")
    with pytest.raises(GatewayUnavailable, match=KEY_REUSED):
        refund(gateway, other.id, "40.00")
    assert SandboxRefund.objects.count() == 1


def test_a_key_whose_charge_timed_out_before_charging_can_still_charge(gateway):
    with pytest.raises(GatewayTimeout):
        charge(gateway, token="sandbox_timeout_not_charged")
    assert charge(gateway, token="sandbox_ok").status == SUCCEEDED


# -- refunds ------------------------------------------------------------------------------


def test_refunds_may_add_up_to_the_charge_but_never_beyond(gateway):
    charged = charge(gateway)
    assert refund(gateway, charged.id, "60.00", key="r1").status == SUCCEEDED
    assert refund(gateway, charged.id, "40.00", key="r2").status == SUCCEEDED
    too_much = refund(gateway, charged.id, "0.01", key="r3")
    assert too_much.status == FAILED
    assert too_much.failure_reason == (
        "The refund of 0.01 USD is more than the 0.00 USD left to refund on this charge."
    )
    assert SandboxCharge.objects.get().amount_refunded == usd("100.00")


def test_a_refund_larger_than_what_is_left_fails_and_refunds_nothing(gateway):
    charged = charge(gateway)
    refund(gateway, charged.id, "70.00", key="r1")
    result = refund(gateway, charged.id, "30.01", key="r2")
    assert result.status == FAILED
    assert "30.00 USD left" in result.failure_reason
    assert SandboxCharge.objects.get().amount_refunded == usd("70.00")


def test_a_failed_charge_cannot_be_refunded(gateway):
    declined = charge(gateway, token="sandbox_declined")
    result = refund(gateway, declined.id, "1.00")
    assert result.status == FAILED
    assert result.failure_reason == "This charge did not succeed, so there is nothing to refund."


def test_a_refund_of_an_unknown_charge_or_in_another_currency_is_refused(gateway):
    charged = charge(gateway)
    with pytest.raises(GatewayUnavailable, match="no charge"):
        refund(gateway, "sbch_nope", "1.00")
    with pytest.raises(GatewayUnavailable, match="in EUR but the charge is in USD"):
        refund(gateway, charged.id, Money("1.00", "EUR"))
    assert SandboxRefund.objects.count() == 0


@pytest.mark.parametrize(
    "amount",
    [Money("0", "USD"), Money("-1", "USD"), Money("1.001", "USD"), Money("1.5", "JPY"), "1.00"],
)
def test_an_amount_that_is_not_exact_and_positive_is_refused_before_anything(gateway, amount):
    with pytest.raises(GatewayUnavailable):
        gateway.charge(token="sandbox_ok", amount=amount, idempotency_key="k")
    assert SandboxCharge.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "refunded"),
    [
        (Money("5000", "JPY"), Money("1234", "JPY")),
        (Money("375.125", "KWD"), Money("0.001", "KWD")),
        (Money("1.2345", "CLF"), Money("0.0001", "CLF")),
    ],
)
def test_charges_and_refunds_keep_every_minor_unit_of_their_currency(gateway, amount, refunded):
    charged = charge(gateway, amount=amount)
    assert charged.amount == amount
    assert refund(gateway, charged.id, refunded).amount == refunded
    record = SandboxCharge.objects.get()
    assert record.amount_refunded == refunded
    assert record.refundable == amount - refunded


# -- lookups ----------------------------------------------------------------------------


def test_find_charge_returns_what_the_key_did_or_none(gateway):
    ok = charge(gateway, key="a")
    declined = charge(gateway, token="sandbox_declined", key="b")
    assert gateway.find_charge(idempotency_key="a") == ok
    assert gateway.find_charge(idempotency_key="b") == declined
    assert gateway.find_charge(idempotency_key="never-sent") is None


def test_find_refund_returns_the_refund_of_that_charge_made_with_the_key(gateway):
    charged = charge(gateway)
    other = charge(gateway, key="charge-2")
    made = refund(gateway, charged.id, "25.00")
    failed = refund(gateway, charged.id, "500.00", key="refund-2")
    assert gateway.find_refund(charge_id=charged.id, idempotency_key="refund-1") == made
    assert gateway.find_refund(charge_id=charged.id, idempotency_key="refund-2") == failed
    assert gateway.find_refund(charge_id=other.id, idempotency_key="refund-1") is None
    assert gateway.find_refund(charge_id=charged.id, idempotency_key="never-sent") is None


def test_amounts_come_back_at_the_currency_minor_unit(gateway):
    result = charge(gateway, amount=Money(Decimal("12.5"), "USD"))
    assert str(result.amount.amount) == "12.50"
    assert str(gateway.find_charge(idempotency_key="charge-1").amount.amount) == "12.50"


# -- its records outlive the caller -----------------------------------------------------


def _seen_by_another_connection(key):
    """Whether a separate database connection (another thread) sees the charge."""
    seen = []

    def look():
        try:
            seen.append(SandboxGateway().find_charge(idempotency_key=key))
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return seen[0]


@pytest.mark.django_db(transaction=True)
def test_a_charge_that_timed_out_is_committed_for_other_processes_to_find():
    gateway = get_gateway("sandbox")
    with pytest.raises(GatewayTimeout):
        gateway.charge(token="sandbox_timeout_charged", amount=usd("9.99"), idempotency_key="crash")
    found = _seen_by_another_connection("crash")
    assert found.status == SUCCEEDED
    assert found.amount == usd("9.99")


@pytest.mark.django_db(transaction=True)
def test_records_survive_when_the_caller_crashes_after_the_call():
    gateway = get_gateway("sandbox")
    with pytest.raises(RuntimeError):
        charged = gateway.charge(token="sandbox_ok", amount=usd("5.00"), idempotency_key="k1")
        # The services call the gateway outside their atomic blocks, then write the
        # outcome in a new one: a crash there must not undo the gateway's record.
        with transaction.atomic():
            raise RuntimeError("the app died")
    assert _seen_by_another_connection("k1") == charged


# -- concurrent callers (PostgreSQL) ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_with_one_key_charge_once_and_agree():
    results, errors = run_together(
        8,
        lambda i: SandboxGateway().charge(
            token="sandbox_ok", amount=usd("10.00"), idempotency_key="same"
        ),
    )
    assert errors == {}
    assert len({result.id for result in results.values()}) == 1
    assert SandboxCharge.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_charge():
    charged = SandboxGateway().charge(token="sandbox_ok", amount=usd("100.00"), idempotency_key="c")
    results, errors = run_together(
        8,
        lambda i: SandboxGateway().refund(
            charge_id=charged.id, amount=usd("30.00"), idempotency_key=f"r{i}"
        ),
    )
    assert errors == {}
    statuses = sorted(result.status for result in results.values())
    assert statuses == [FAILED] * 5 + [SUCCEEDED] * 3
    assert SandboxCharge.objects.get().amount_refunded == usd("90.00")


def test_a_uuid_key_and_its_string_are_the_same_key(gateway):
    key = uuid.uuid4()
    first = charge(gateway, key=key)
    assert charge(gateway, key=str(key)) == first
    assert gateway.find_charge(idempotency_key=str(key)) == first
