"""Stripe, through the official ``stripe`` library (``StripeClient``, no global state).

A charge is an off-session PaymentIntent confirmed at once with the saved
PaymentMethod (the method's ``token``, ``pm_...``, attached to a Stripe Customer:
its customer is read from Stripe first, since Stripe requires it for an attached
method). Its id (``pi_...``) is the charge id refunds and lookups use. Our
idempotency key is sent as Stripe's ``Idempotency-Key`` and kept in the object's
metadata as ``billing_key``, which is how ``find_charge``/``find_refund`` find it.

Amounts go to Stripe in its minor units: cents for most currencies, whole units
for its zero-decimal ones (JPY, KRW, CLP, ...), thousandths ending in 0 for its
three-decimal ones (KWD, BHD, JOD, OMR, TND), hundredths of whole krónur for ISK.
An amount that cannot be expressed exactly that way is refused
(``GatewayUnavailable``), never rounded.

What Stripe answers, and what billing hears:

- PaymentIntent ``succeeded`` → succeeded ``GatewayCharge``.
- A card error (HTTP 402: declined, insufficient funds, authentication required)
  and PaymentIntents ``requires_payment_method``/``canceled`` → failed
  ``GatewayCharge`` with Stripe's message and its decline (or error) code.
- ``requires_action`` → failed: off-session, nobody is there to authenticate,
  and the intent's client secret is never handed to anyone, so it cannot go on.
  ``charge`` cancels it (best effort) so that Stripe's records agree.
- ``processing`` (or any status not above) → ``GatewayTimeout``: the outcome is
  not known yet; the payment stays pending and a later lookup settles it.
- Authentication, permission, rate-limit, invalid-request and idempotency-reuse
  errors → ``GatewayUnavailable`` (Stripe did nothing with this request).
- Network errors, timeouts and HTTP 5xx/409 → ``GatewayTimeout`` (it may have).

Stripe forgets an idempotency key after 24 hours: a charge re-sent with an
older key would charge again. Look old attempts up with ``find_charge``; never
re-send them.
"""

import logging
import time
from decimal import Decimal

import stripe
from moneyed import Money

from billing.gateways.base import (
    FAILED,
    SUCCEEDED,
    Gateway,
    GatewayCharge,
    GatewayRefund,
    GatewayTimeout,
    GatewayUnavailable,
)

logger = logging.getLogger(__name__)

METADATA_KEY = "billing_key"

# Stripe's own decimal conventions (https://docs.stripe.com/currencies), which are
# not always ISO 4217's.
ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Minor-unit amounts must be multiples of this: Stripe's partners take no
# single fils, and ISK stays two-decimal in the API but takes whole krónur only.
MULTIPLE_OF = {**dict.fromkeys(THREE_DECIMAL, 10), "ISK": 100}

# Stripe's search is eventually consistent: "under normal operating conditions,
# data is searchable in less than a minute; occasionally, propagation can be up to
# an hour behind during outages". A charge made in the last RECENT_SECONDS is
# therefore also looked for in the (strongly consistent) list of recent intents.
RECENT_SECONDS = 65 * 60

AUTHENTICATION_REQUIRED = (
    "The card issuer asks the customer to authenticate this payment, which cannot be "
    "done while they are away; ask them to pay while present."
)
DECLINED = "Your card was declined."
# Refund.failure_reason -> a sentence for staff.
REFUND_FAILURES = {
    "lost_or_stolen_card": "The card was reported lost or stolen; the refund could not go to it.",
    "expired_or_canceled_card": "The card has expired or was cancelled; the refund failed.",
    "charge_for_pending_refund_disputed": "The customer disputed the charge; the refund failed.",
    "insufficient_funds": "The Stripe balance was too low for the refund.",
    "declined": "The card issuer declined the refund.",
    "merchant_request": "The refund was cancelled at our request.",
}
REFUND_FAILED = "The refund was refused by the card issuer."


def stripe_exponent(currency):
    """How many decimals Stripe's ``amount`` has in ``currency`` (an ISO code)."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def to_minor_units(amount):
    """``(integer amount, lowercase currency)`` for Stripe, or ``GatewayUnavailable``.

    Exact or refused: ``Money("10.005", "USD")``, ``Money("1.5", "JPY")`` and
    ``Money("1.234", "KWD")`` (Stripe wants KWD in fils ending in 0) are refused.
    """
    if not isinstance(amount, Money):
        raise GatewayUnavailable(f"The gateway needs an amount of money, not {amount!r}.")
    code = amount.currency.code
    scaled = amount.amount.scaleb(stripe_exponent(code))
    multiple = MULTIPLE_OF.get(code, 1)
    if scaled != scaled.to_integral_value() or scaled % multiple:
        raise GatewayUnavailable(
            f"Stripe cannot take {amount.amount} {code} exactly: "
            "it has more decimals than Stripe accepts in that currency."
        )
    if scaled <= 0:
        raise GatewayUnavailable("The amount must be positive.")
    return int(scaled), code.lower()


def from_minor_units(value, currency):
    """Stripe's integer ``amount`` in ``currency`` (any case) as Money."""
    code = currency.upper()
    return Money(Decimal(int(value)).scaleb(-stripe_exponent(code)), code)


def _metadata(metadata, idempotency_key):
    # Stripe's metadata values are strings; our key goes last so a caller's
    # ``billing_key`` can never hide it.
    values = {str(key): str(value) for key, value in (metadata or {}).items()}
    values[METADATA_KEY] = idempotency_key
    return values


def _search_literal(value):
    """``value`` quoted for Stripe's search query language."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def charge_outcome(intent):
    """A GatewayCharge for a PaymentIntent (a dict), or GatewayTimeout while undecided.

    The one reading of an intent: the gateway's answers and lookups and the
    webhook events (billing/gateways/stripe_webhooks.py) all go through it.
    """
    status = intent["status"]
    amount = from_minor_units(intent["amount"], intent["currency"])
    if status == "succeeded":
        return GatewayCharge(id=intent["id"], status=SUCCEEDED, amount=amount)
    if status == "requires_action":
        return GatewayCharge(
            id=intent["id"],
            status=FAILED,
            amount=amount,
            failure_reason=AUTHENTICATION_REQUIRED,
            failure_code="authentication_required",
        )
    if status in ("requires_payment_method", "canceled"):
        error = intent.get("last_payment_error") or {}
        code = error.get("decline_code") or error.get("code") or ""
        reason = error.get("message") or (
            "The payment was cancelled at Stripe." if status == "canceled" else DECLINED
        )
        if code == "authentication_required":
            reason = AUTHENTICATION_REQUIRED
        return GatewayCharge(
            id=intent["id"],
            status=FAILED,
            amount=amount,
            failure_reason=reason,
            failure_code=code or intent.get("cancellation_reason") or "",
        )
    # "processing" (and anything unexpected, e.g. "requires_capture"): Stripe
    # has not decided, so neither can we.
    raise GatewayTimeout(
        f"Stripe has not finished this payment yet (status {status}); "
        "it stays pending until it is looked up again."
    )


def refund_outcome(refund):
    """A GatewayRefund for a Refund (a dict), or GatewayTimeout while Stripe works on it
    (the one reading of a refund, as ``charge_outcome`` is of an intent)."""
    status = refund["status"]
    amount = from_minor_units(refund["amount"], refund["currency"])
    if status == "succeeded":
        return GatewayRefund(id=refund["id"], status=SUCCEEDED, amount=amount)
    if status in ("failed", "canceled"):
        reason = REFUND_FAILURES.get(refund.get("failure_reason") or "", REFUND_FAILED)
        return GatewayRefund(id=refund["id"], status=FAILED, amount=amount, failure_reason=reason)
    # "pending" / "requires_action": the money may still move either way.
    raise GatewayTimeout(
        f"Stripe has not finished this refund yet (status {status}); "
        "it stays pending until it is looked up again."
    )


class StripeGateway(Gateway):
    """Stripe's API through one ``StripeClient``. ``timeout`` is in seconds per
    network operation; the library never retries (``max_network_retries=0``):
    billing's own lookups decide what a timeout did."""

    name = "stripe"

    def __init__(self, *, api_key, timeout=20, http_client=None):
        self.client = stripe.StripeClient(
            api_key,
            http_client=http_client or stripe.RequestsClient(timeout=timeout),
            max_network_retries=0,
        )

    # The interface ------------------------------------------------------------

    def charge(self, *, token, amount, idempotency_key, description="", metadata=None):
        minor, currency = to_minor_units(amount)
        idempotency_key = str(idempotency_key)
        try:
            method = self._call(lambda: self.client.v1.payment_methods.retrieve(token))
        except GatewayUnavailable as error:
            if getattr(error.__cause__, "code", "") != "resource_missing":
                raise
            # The saved method is gone at Stripe: no intent was attempted.
            return GatewayCharge(
                id="",
                status=FAILED,
                amount=amount,
                failure_reason="No such payment method.",
                failure_code="resource_missing",
            )
        params = {
            "amount": minor,
            "currency": currency,
            "payment_method": token,
            "confirm": True,
            "off_session": True,
            # No redirect-based method can be confirmed without the customer.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": _metadata(metadata, idempotency_key),
        }
        customer = method.to_dict().get("customer")
        if customer:
            params["customer"] = customer if isinstance(customer, str) else customer["id"]
        if description:
            params["description"] = str(description)[:1000]
        try:
            intent = self._call(
                lambda: self.client.v1.payment_intents.create(
                    params=params, options={"idempotency_key": idempotency_key}
                ),
                card_errors=True,
            )
        except stripe.CardError as error:
            return self._declined(error, amount)
        intent = intent.to_dict()
        if intent["status"] == "requires_action":
            self._cancel(intent, idempotency_key)
        return charge_outcome(intent)

    def refund(self, *, charge_id, amount, idempotency_key, metadata=None):
        minor, _currency = to_minor_units(amount)
        idempotency_key = str(idempotency_key)
        params = {
            "payment_intent": charge_id,
            "amount": minor,
            "metadata": _metadata(metadata, idempotency_key),
        }
        try:
            refund = self._call(
                lambda: self.client.v1.refunds.create(
                    params=params, options={"idempotency_key": idempotency_key}
                )
            )
        except GatewayUnavailable as error:
            cause = error.__cause__
            if (
                not isinstance(cause, stripe.InvalidRequestError)
                or cause.code == "resource_missing"
            ):
                raise
            # Stripe refused this refund for a reason a person can act on
            # ("charge_already_refunded", "amount_too_large", ...): nothing moved.
            return GatewayRefund(
                id="", status=FAILED, amount=amount, failure_reason=cause.user_message or ""
            )
        return refund_outcome(refund.to_dict())

    def find_charge(self, *, idempotency_key):
        """Search by ``metadata['billing_key']``, then (search lags) the recent list.

        Stripe's search is eventually consistent, so an intent created moments ago
        may not be found by it; the list of intents created in the last
        RECENT_SECONDS is read too, which is consistent. The limit: an intent older
        than that which search has not indexed yet (only during a Stripe outage)
        reads as "not found".
        """
        idempotency_key = str(idempotency_key)
        query = f"metadata[{_search_literal(METADATA_KEY)}]:{_search_literal(idempotency_key)}"
        found = self._call(
            lambda: self.client.v1.payment_intents.search(params={"query": query, "limit": 10})
        )
        intents = found.to_dict()["data"]
        if not intents:
            intents = self._call(lambda: self._recent_intents(idempotency_key))
        if not intents:
            return None
        # One key makes one intent; should there be more, money taken wins.
        succeeded = [intent for intent in intents if intent["status"] == "succeeded"]
        return charge_outcome((succeeded or intents)[0])

    def find_refund(self, *, charge_id, idempotency_key):
        """The refund of ``charge_id`` whose metadata holds the key (the list is consistent)."""
        idempotency_key = str(idempotency_key)

        def matching():
            page = self.client.v1.refunds.list(params={"payment_intent": charge_id, "limit": 100})
            for refund in page.auto_paging_iter():
                refund = refund.to_dict()
                if (refund.get("metadata") or {}).get(METADATA_KEY) == idempotency_key:
                    return refund
            return None

        refund = self._call(matching)
        return None if refund is None else refund_outcome(refund)

    # Stripe's answers -----------------------------------------------------------

    def _declined(self, error, amount):
        """A failed GatewayCharge from a card error (HTTP 402)."""
        body = (error.json_body or {}).get("error") or {}
        intent = body.get("payment_intent") or {}
        code = body.get("decline_code") or body.get("code") or error.code or ""
        reason = error.user_message or DECLINED
        if code == "authentication_required" or body.get("code") == "authentication_required":
            reason = AUTHENTICATION_REQUIRED
        if intent.get("amount") and intent.get("currency"):
            amount = from_minor_units(intent["amount"], intent["currency"])
        return GatewayCharge(
            id=intent.get("id", ""),
            status=FAILED,
            amount=amount,
            failure_reason=reason,
            failure_code=code,
        )

    def _recent_intents(self, idempotency_key):
        since = int(time.time()) - RECENT_SECONDS
        page = self.client.v1.payment_intents.list(params={"created": {"gte": since}, "limit": 100})
        return [
            intent
            for intent in (item.to_dict() for item in page.auto_paging_iter())
            if (intent.get("metadata") or {}).get(METADATA_KEY) == idempotency_key
        ]

    def _cancel(self, intent, idempotency_key):
        """Cancel an intent that waits for an authentication nobody will give.

        Best effort: left as it is, it can still never complete (its client
        secret is never handed out), so a failure here is only logged.
        """
        try:
            self.client.v1.payment_intents.cancel(
                intent["id"],
                params={"cancellation_reason": "abandoned"},
                options={"idempotency_key": f"{idempotency_key}-cancel"},
            )
        except stripe.StripeError:
            logger.warning("Could not cancel Stripe PaymentIntent %s", intent["id"], exc_info=True)

    # Errors ---------------------------------------------------------------------

    def _call(self, request, *, card_errors=False):
        """Run ``request()`` and translate Stripe's errors into billing's.

        ``card_errors`` lets ``stripe.CardError`` through for the caller (a
        decline is an answer, not an error). The Stripe error is the translated
        error's ``__cause__``.
        """
        try:
            return request()
        except stripe.CardError as error:
            if card_errors:
                raise
            raise GatewayUnavailable(f"Stripe refused the request: {error.user_message}") from error
        except stripe.APIConnectionError as error:
            raise GatewayTimeout(
                "Stripe could not be reached or did not answer in time."
            ) from error
        except (stripe.AuthenticationError, stripe.PermissionError) as error:
            raise GatewayUnavailable(
                f"Stripe refused our API key ({error.user_message}); check STRIPE_SECRET_KEY."
            ) from error
        except stripe.RateLimitError as error:
            raise GatewayUnavailable(
                "Stripe is receiving too many requests from us; try again in a minute."
            ) from error
        except stripe.IdempotencyError as error:
            raise GatewayUnavailable(
                f"idempotency key reused with different parameters ({error.user_message})"
            ) from error
        except stripe.InvalidRequestError as error:
            raise GatewayUnavailable(f"Stripe refused the request: {error.user_message}") from error
        except stripe.StripeError as error:
            # 5xx, 409 (the same key still in flight) and anything unforeseen:
            # Stripe may have acted on the request.
            status = f" (HTTP {error.http_status})" if error.http_status else ""
            raise GatewayTimeout(
                f"Stripe had an error{status} and may or may not have done it; "
                "it stays pending until it is looked up again."
            ) from error
