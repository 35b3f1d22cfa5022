"""The built-in sandbox gateway: real bookkeeping, fake money, no network.

It behaves like a card gateway and keeps its own books in the database
(``SandboxCharge``, ``SandboxRefund``), so another process — a second app
process, ``manage.py reconcile_payments`` — can look up what an earlier call did.

Test tokens (the saved method's ``token``):

============================== ==========================================================
``sandbox_ok``                 succeeds.
``sandbox_declined``           failed charge: "Your card was declined." (``card_declined``)
``sandbox_insufficient_funds`` failed charge: "Your card has insufficient funds."
                               (``insufficient_funds``)
``sandbox_timeout_charged``    takes the money (a succeeded charge is recorded), then raises
                               ``GatewayTimeout``; ``find_charge`` finds the charge.
``sandbox_timeout_not_charged`` raises ``GatewayTimeout`` and records nothing;
                               ``find_charge`` returns None.
``sandbox_refund_fails``       charges fine; every refund is a failed ``GatewayRefund``:
                               "The refund was refused by the card issuer."
``sandbox_refund_timeout``     charges fine; every refund is made (recorded as succeeded),
                               then raises ``GatewayTimeout``; ``find_refund`` finds it.
anything else                  failed charge: "No such payment method." (``resource_missing``)
============================== ==========================================================

Rules, like Stripe's:

- The idempotency key is unique per charge and per refund. The same key again
  returns the first result (also a failure, also the success behind an earlier
  timeout) and never charges or refunds twice; the same key with another token,
  amount, currency or charge raises ``GatewayUnavailable`` ("idempotency key reused
  with different parameters"). A timeout that took nothing leaves no record, so
  its key stays free.
- A refund never takes a charge beyond its amount: one that would is a failed
  ``GatewayRefund`` saying how much is left. Refunds of a failed charge fail.
- An amount that is not positive or has more decimals than its currency is
  refused with ``GatewayUnavailable`` (nothing recorded).
- Timeouts are simulated at once: nothing here sleeps.

Each call writes in its own ``transaction.atomic()`` block: called outside a
transaction (as the services do, after committing their pending record) its rows
are committed before it returns or raises, so they survive a crash of the caller,
just as a real gateway's would. Called inside a transaction they share its fate.
Concurrent calls with one key are serialised by the key's unique index: the loser
reads the winner's row and answers from it.
"""

import uuid

from django.db import IntegrityError, transaction
from moneyed import Money

from billing.errors import BillingError
from billing.gateways.base import (
    FAILED,
    SUCCEEDED,
    Gateway,
    GatewayCharge,
    GatewayRefund,
    GatewayTimeout,
    GatewayUnavailable,
)
from billing.models import SandboxCharge, SandboxRefund, SandboxStatus
from billing.money import format_money, normalize, parse_money

OK = "sandbox_ok"
DECLINED = "sandbox_declined"
INSUFFICIENT_FUNDS = "sandbox_insufficient_funds"
TIMEOUT_CHARGED = "sandbox_timeout_charged"
TIMEOUT_NOT_CHARGED = "sandbox_timeout_not_charged"
REFUND_FAILS = "sandbox_refund_fails"
REFUND_TIMEOUT = "sandbox_refund_timeout"

# token -> (failure code, reason). A token in neither DECLINES nor CHARGEABLE is unknown.
DECLINES = {
    DECLINED: ("card_declined", "Your card was declined."),
    INSUFFICIENT_FUNDS: ("insufficient_funds", "Your card has insufficient funds."),
}
CHARGEABLE = {OK, TIMEOUT_CHARGED, REFUND_FAILS, REFUND_TIMEOUT}
UNKNOWN_METHOD = ("resource_missing", "No such payment method.")
REFUND_REFUSED = "The refund was refused by the card issuer."
KEY_REUSED = "idempotency key reused with different parameters"

# One saved method per token, for the admin's "Add sandbox test cards" and the demo
# data (services.sandbox_test_cards_add): (token, brand, last4). The brand says
# what the card does, since staff pick saved methods by "brand •••• last4".
TEST_CARDS = (
    (OK, "Test OK", "4242"),
    (DECLINED, "Test declined", "0002"),
    (INSUFFICIENT_FUNDS, "Test no funds", "9995"),
    (TIMEOUT_CHARGED, "Test timeout, charged", "0259"),
    (TIMEOUT_NOT_CHARGED, "Test timeout, not charged", "0119"),
    (REFUND_FAILS, "Test refund fails", "0005"),
    (REFUND_TIMEOUT, "Test refund timeout", "0077"),
)


def _exact(amount):
    """The amount at its currency's minor unit, or GatewayUnavailable (nothing recorded)."""
    if not isinstance(amount, Money):
        raise GatewayUnavailable(f"The gateway needs an amount of money, not {amount!r}.")
    try:
        return parse_money(amount, amount.currency.code)
    except BillingError as error:
        raise GatewayUnavailable(error.message) from None


def _metadata(metadata):
    # Strings only, as at Stripe: whatever a caller passes (ids, UUIDs) is stored.
    return {str(key): str(value) for key, value in (metadata or {}).items()}


def _charge_result(record):
    return GatewayCharge(
        id=record.charge_id,
        status=record.status,
        amount=normalize(record.amount),
        failure_reason=record.failure_reason,
        failure_code=record.failure_code,
    )


def _refund_result(record):
    return GatewayRefund(
        id=record.refund_id,
        status=record.status,
        amount=normalize(record.amount),
        failure_reason=record.failure_reason,
    )


class SandboxGateway(Gateway):
    """The sandbox. Stateless itself: every answer comes from its tables."""

    name = "sandbox"

    def charge(self, *, token, amount, idempotency_key, description="", metadata=None):
        amount = _exact(amount)
        token = str(token or "")
        idempotency_key = str(idempotency_key)
        record = self._existing_charge(idempotency_key, token, amount)
        if record is not None:
            return _charge_result(record)
        if token == TIMEOUT_NOT_CHARGED:
            # The request "never arrived": no record, so the key stays free.
            raise GatewayTimeout(
                "The sandbox timed out before charging (sandbox_timeout_not_charged)."
            )
        record, created = self._create_charge(idempotency_key, token, amount, description, metadata)
        if created and token == TIMEOUT_CHARGED:
            # The money is taken and committed; only the answer is lost (raised after
            # the atomic block, so the record survives). A replay with the same key
            # gets the real answer, as with Stripe.
            raise GatewayTimeout(
                "The sandbox took the money but timed out before answering "
                "(sandbox_timeout_charged)."
            )
        return _charge_result(record)

    def refund(self, *, charge_id, amount, idempotency_key, metadata=None):
        amount = _exact(amount)
        record, created = self._refund_once(
            str(charge_id), amount, str(idempotency_key), _metadata(metadata)
        )
        if created and record.charge.token == REFUND_TIMEOUT and record.status == SUCCEEDED:
            raise GatewayTimeout(
                "The sandbox made the refund but timed out before answering "
                "(sandbox_refund_timeout)."
            )
        return _refund_result(record)

    def find_charge(self, *, idempotency_key):
        record = SandboxCharge.objects.filter(idempotency_key=str(idempotency_key)).first()
        return None if record is None else _charge_result(record)

    def find_refund(self, *, charge_id, idempotency_key):
        record = SandboxRefund.objects.filter(
            idempotency_key=str(idempotency_key), charge__charge_id=str(charge_id)
        ).first()
        return None if record is None else _refund_result(record)

    # Charges ------------------------------------------------------------------

    def _existing_charge(self, key, token, amount):
        record = SandboxCharge.objects.filter(idempotency_key=key).first()
        if record is not None and (record.token != token or record.amount != amount):
            raise GatewayUnavailable(KEY_REUSED)
        return record

    def _create_charge(self, key, token, amount, description, metadata):
        """The new charge record and True, or a concurrent call's record and False."""
        if token in CHARGEABLE:
            status, code, reason = SUCCEEDED, "", ""
        else:
            status = FAILED
            code, reason = DECLINES.get(token, UNKNOWN_METHOD)
        try:
            with transaction.atomic():
                record = SandboxCharge.objects.create(
                    charge_id=f"sbch_{uuid.uuid4().hex}",
                    idempotency_key=key,
                    token=token,
                    currency=amount.currency.code,
                    amount=amount,
                    status=status,
                    failure_code=code,
                    failure_reason=reason,
                    amount_refunded=Money(0, amount.currency.code),
                    description=str(description or "")[:500],
                    metadata=_metadata(metadata),
                )
        except IntegrityError:
            # A concurrent call with the same key won: this one is its replay and
            # answers from its record (a timeout token does not time out twice).
            record = self._existing_charge(key, token, amount)
            if record is None:
                raise
            return record, False
        return record, True

    # Refunds ------------------------------------------------------------------

    def _existing_refund(self, key, charge_id, amount):
        record = SandboxRefund.objects.select_related("charge").filter(idempotency_key=key).first()
        if record is not None and (record.charge.charge_id != charge_id or record.amount != amount):
            raise GatewayUnavailable(KEY_REUSED)
        return record

    def _refund_once(self, charge_id, amount, key, metadata):
        """The refund made with ``key``, and whether this call made it."""
        record = self._existing_refund(key, charge_id, amount)
        if record is not None:
            return record, False
        try:
            with transaction.atomic():
                # The sandbox plays an outside system with its own lock, taken
                # after billing's (services call it holding none): billing.locks
                # orders billing's rows, not these.
                charge = (
                    SandboxCharge.objects.select_for_update().filter(charge_id=charge_id).first()
                )
                if charge is None:
                    raise GatewayUnavailable(f"The sandbox has no charge {charge_id!r}.")
                # Re-read under the lock: a concurrent refund with this key may
                # have committed while this call waited.
                record = self._existing_refund(key, charge_id, amount)
                if record is not None:
                    return record, False
                if amount.currency.code != charge.currency:
                    raise GatewayUnavailable(
                        f"The refund is in {amount.currency.code} but the charge is in "
                        f"{charge.currency}."
                    )
                status, reason = self._refund_decision(charge, amount)
                if status == SUCCEEDED:
                    charge.amount_refunded += amount
                    charge.save(update_fields=["amount_refunded", "amount_refunded_currency"])
                record = SandboxRefund.objects.create(
                    refund_id=f"sbre_{uuid.uuid4().hex}",
                    charge=charge,
                    idempotency_key=key,
                    currency=amount.currency.code,
                    amount=amount,
                    status=status,
                    failure_reason=reason,
                    metadata=metadata,
                )
                return record, True
        except IntegrityError:
            record = self._existing_refund(key, charge_id, amount)
            if record is None:
                raise
            return record, False

    def _refund_decision(self, charge, amount):
        """(status, failure reason) of a new refund of ``amount`` on the locked charge."""
        if charge.status != SandboxStatus.SUCCEEDED:
            return FAILED, "This charge did not succeed, so there is nothing to refund."
        if charge.token == REFUND_FAILS:
            return FAILED, REFUND_REFUSED
        left = normalize(charge.refundable)
        if amount > left:
            return FAILED, (
                f"The refund of {format_money(amount)} is more than the "
                f"{format_money(left)} left to refund on this charge."
            )
        return SUCCEEDED, ""
