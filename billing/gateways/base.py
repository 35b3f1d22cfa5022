"""The one small interface billing needs from a payment gateway.

Services call a gateway only outside their row locks and always with an
idempotency key of ours (a Payment's or Refund's ``gateway_key``), so a call that
is repeated — after a timeout, a crash, a double click — can never take or give
back money twice. ``find_charge``/``find_refund`` look an operation up by that key
without performing it, which is how ``reconcile_payments`` settles what a
timeout left pending.

Outcomes:
- a returned ``GatewayCharge``/``GatewayRefund``: the gateway answered; its
  ``status`` says whether money moved (``succeeded``) or not (``failed``, with a
  reason a person understands);
- ``GatewayTimeout`` (or any ``GatewayError`` whose ``money_may_have_moved`` is
  true): we do not know; the record stays ``pending`` until a lookup tells;
- ``GatewayError`` with ``money_may_have_moved`` false: the request never reached
  the gateway or was refused before anything happened (bad credentials, the
  gateway is not configured): nothing moved.
"""

from dataclasses import dataclass

from moneyed import Money

SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass(frozen=True)
class GatewayCharge:
    id: str  # the gateway's id of the charge ("ch_...", "pi_...")
    status: str  # SUCCEEDED or FAILED
    amount: Money
    failure_reason: str = ""  # for a person: "Your card was declined."
    failure_code: str = ""  # the gateway's own code: "card_declined", "insufficient_funds"


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    status: str  # SUCCEEDED or FAILED
    amount: Money
    failure_reason: str = ""


class GatewayError(Exception):
    """The gateway could not give an answer. ``money_may_have_moved`` says whether
    the operation may have happened anyway (then the record stays pending)."""

    money_may_have_moved = True

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class GatewayTimeout(GatewayError):
    """No answer in time: the operation may or may not have happened."""


class GatewayUnavailable(GatewayError):
    """Refused before anything happened: not configured, bad credentials, bad request."""

    money_may_have_moved = False


class Gateway:
    """Base class. Amounts are ``Money``; keys are strings of at most 255 characters."""

    name = ""

    def charge(self, *, token, amount, idempotency_key, description="", metadata=None):
        """Charge the saved method ``token`` off-session. Returns a GatewayCharge
        (succeeded, or failed with the decline reason) or raises GatewayError."""
        raise NotImplementedError

    def refund(self, *, charge_id, amount, idempotency_key, metadata=None):
        """Give ``amount`` of a succeeded charge back to the card. Returns a
        GatewayRefund (succeeded, or failed with a reason) or raises GatewayError."""
        raise NotImplementedError

    def find_charge(self, *, idempotency_key):
        """The charge made with this key, or None when no money was taken with it.
        Raises GatewayError when the gateway cannot tell now."""
        raise NotImplementedError

    def find_refund(self, *, charge_id, idempotency_key):
        """The refund of ``charge_id`` made with this key, or None when none was made.
        Raises GatewayError when the gateway cannot tell now."""
        raise NotImplementedError
