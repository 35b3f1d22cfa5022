"""Stripe's webhook events: what Stripe tells us as soon as it knows it.

``verify`` checks an event's ``Stripe-Signature`` with the endpoint's signing
secret (``STRIPE_WEBHOOK_SECRET``) through the ``stripe`` library's own check
(an HMAC-SHA256 of the timestamp and body, and a timestamp at most five minutes
old, against replayed captures); ``handle`` acts on a verified event:

- ``payment_intent.succeeded`` / ``payment_intent.payment_failed``: the intent
  (found by our key in its metadata, else by its id) is read as the gateway
  reads its own answers (``charge_outcome``) and settled through the step
  ``reconcile_payments`` uses (``settle_reported_charge``);
- ``refund.updated`` / ``refund.failed``: the same for a refund, found by our
  key in its metadata (``refund_outcome``, ``settle_reported_refund``); a
  refund Stripe is still working on stays pending;
- ``charge.refunded``: the refunds the charge carries are settled as above; the
  payment's other pending refunds are looked up at Stripe, as
  ``reconcile_payments`` would (recent API versions send the charge without
  its refunds);
- ``charge.dispute.created``: a ``payment_disputed`` entry on the invoice's
  timeline, once per event id (``payment_dispute_record``).

A record no longer pending is left as it is, so an event delivered twice, or
after reconciliation or the charge's own answer settled it, changes nothing.
An event of another type, or about an object that is not ours (another
integration's intent on the same account), is acknowledged and ignored: Stripe
would otherwise retry it for days. What the events settle is recorded as done
by ``STRIPE_WEBHOOK_ACTOR``.
"""

import datetime
import json
import logging
import uuid
from dataclasses import dataclass

import stripe
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from billing.gateways.base import GatewayTimeout
from billing.gateways.stripe import METADATA_KEY, charge_outcome, from_minor_units, refund_outcome
from billing.models import GatewayName, Payment, Refund
from billing.money import format_money
from billing.services.disputes import payment_dispute_record
from billing.services.reconcile import (
    reconcile_payment_refunds,
    settle_reported_charge,
    settle_reported_refund,
)

logger = logging.getLogger(__name__)

# How old a signed event may be (seconds): the library's default, Stripe's advice.
TOLERANCE = stripe.Webhook.DEFAULT_TOLERANCE


class InvalidEvent(Exception):
    """The body is not a correctly signed Stripe event: nothing was read from it."""


@dataclass(frozen=True)
class Handled:
    """What ``handle`` did with an event: ``result`` is ``settled``, ``recorded``,
    ``unchanged`` or ``ignored``; ``detail`` says why, for the answer and the log."""

    result: str
    detail: str


def verify(payload, signature, secret):
    """The event (a dict) in ``payload`` (the raw body, bytes) if ``signature`` (the
    ``Stripe-Signature`` header) is Stripe's for it with ``secret``; else
    ``InvalidEvent``."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, TOLERANCE)
    except stripe.SignatureVerificationError as error:
        raise InvalidEvent(str(error)) from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise InvalidEvent("The body is not JSON.") from None
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidEvent("The body is not a Stripe event.")
    if not isinstance(event.get("id"), str) or not isinstance(_object(event), dict):
        raise InvalidEvent("The event has no id or no object.")
    return event


def handle(event):
    """Act on a verified event (see the module's docstring). Returns Handled."""
    handler = HANDLERS.get(event.get("type"))
    if handler is None:
        return Handled("ignored", f"events of type {event.get('type')!r} are not used")
    return handler(event, _object(event))


def webhook_actor():
    """The user recorded for what Stripe's events do: ``STRIPE_WEBHOOK_ACTOR``,
    created inactive and without a password on first use (it can never sign in)."""
    user, _ = get_user_model().objects.get_or_create(
        username=settings.STRIPE_WEBHOOK_ACTOR,
        defaults={"is_active": False, "password": make_password(None)},
    )
    return user


# -- the handlers ------------------------------------------------------------------


def _intent_event(event, intent):
    payment = _payment(key=_key(intent), charge_id=intent.get("id"))
    if payment is None:
        return Handled("ignored", f"no payment of ours is PaymentIntent {intent.get('id')}")
    try:
        outcome = charge_outcome(intent)
    except GatewayTimeout:
        return Handled("unchanged", f"payment #{payment.pk}: Stripe has not decided yet")
    return _report(settle_reported_charge(payment=payment, charge=outcome, actor=webhook_actor()))


def _refund_event(event, refund):
    record = _refund(refund)
    if record is None:
        return Handled("ignored", f"no refund of ours is {refund.get('id')}")
    return _settle_refund(record, refund)


def _charge_refunded(event, charge):
    payment = _payment(key=_key(charge), charge_id=charge.get("payment_intent"))
    if payment is None:
        return Handled("ignored", f"no payment of ours is charge {charge.get('id')}")
    results = []
    for refund in (charge.get("refunds") or {}).get("data") or []:
        record = _refund(refund)
        if record is not None and record.payment_id == payment.pk:
            results.append(_settle_refund(record, refund))
    # Those the event did not carry: asked of Stripe, as reconciliation would.
    report = reconcile_payment_refunds(payment=payment, actor=webhook_actor())
    if report.lines:
        results.append(_report(report))
    if not results:
        return Handled("unchanged", f"payment #{payment.pk} has no refund waiting for Stripe")
    settled = any(result.result == "settled" for result in results)
    detail = "; ".join(result.detail for result in results)
    return Handled("settled" if settled else "unchanged", detail)


def _dispute_created(event, dispute):
    payment = _payment(key=None, charge_id=dispute.get("payment_intent"))
    if payment is None:
        return Handled("ignored", f"no payment of ours is disputed by {dispute.get('id')}")
    invoice = payment.invoice
    amount = None
    if dispute.get("amount") is not None and dispute.get("currency"):
        disputed = from_minor_units(dispute["amount"], dispute["currency"])
        if disputed.currency.code == invoice.currency:
            amount = disputed
    reason = str(dispute.get("reason") or "general").replace("_", " ")
    message = f"The customer disputed {format_money(amount) if amount else 'the charge'} "
    message += f"at Stripe ({reason}; dispute {dispute.get('id')}, {dispute.get('status')})."
    due_by = (dispute.get("evidence_details") or {}).get("due_by")
    if due_by:
        due = datetime.datetime.fromtimestamp(int(due_by), tz=datetime.UTC)
        message += f" Answer it in Stripe's dashboard by {due:%Y-%m-%d %H:%M} UTC."
    _entry, created = payment_dispute_record(
        payment=payment,
        gateway=GatewayName.STRIPE,
        event_id=event["id"],
        event_type=event["type"],
        amount=amount,
        message=message,
        actor=webhook_actor(),
    )
    if not created:
        return Handled("unchanged", f"event {event['id']} was recorded already")
    return Handled("recorded", f"payment #{payment.pk} disputed")


HANDLERS = {
    "payment_intent.succeeded": _intent_event,
    "payment_intent.payment_failed": _intent_event,
    "charge.refunded": _charge_refunded,
    "refund.updated": _refund_event,
    "refund.failed": _refund_event,
    "charge.dispute.created": _dispute_created,
}


# -- finding our records -------------------------------------------------------------


def _object(event):
    return (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None


def _key(stripe_object):
    """Our idempotency key from an object's metadata, as a UUID, or None."""
    value = (stripe_object.get("metadata") or {}).get(METADATA_KEY)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _payment(*, key, charge_id):
    """Our payment on a Stripe method with this key, else with this intent id."""
    payments = Payment.objects.filter(payment_method__gateway=GatewayName.STRIPE).select_related(
        "invoice", "payment_method"
    )
    payment = payments.filter(gateway_key=key).first() if key else None
    if payment is None and isinstance(charge_id, str) and charge_id:
        payment = payments.filter(gateway_charge_id=charge_id).first()
    return payment


def _refund(refund):
    key = _key(refund)
    if key is None:
        return None
    return (
        Refund.objects.filter(gateway_key=key, payment__payment_method__gateway=GatewayName.STRIPE)
        .select_related("payment__invoice", "payment__payment_method")
        .first()
    )


def _settle_refund(record, refund):
    try:
        outcome = refund_outcome(refund)
    except GatewayTimeout:
        return Handled("unchanged", f"refund #{record.pk}: Stripe is still working on it")
    return _report(settle_reported_refund(refund=record, outcome=outcome, actor=webhook_actor()))


def _report(report):
    detail = "; ".join(report.lines)
    return Handled("settled" if report.settled else "unchanged", detail)
