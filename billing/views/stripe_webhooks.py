"""``POST /webhooks/stripe``: Stripe's events in (billing/gateways/stripe_webhooks.py).

Stripe signs each event; nothing else authenticates it, so the view needs no
session or CSRF token and answers JSON only, as Stripe reads it: 200 for an
event taken (acted on or ignored), 400 for a bad signature or body (nothing
was read or written), 405 for another method, 503 while no signing secret is configured and 500 when
acting on it failed (Stripe retries both).
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing.gateways import stripe_webhooks

logger = logging.getLogger(__name__)


def _error(status, code, message):
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
def stripe_webhook(request):
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Stripe's events are POSTed.")
        response["Allow"] = "POST"
        return response
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return _error(503, "not_configured", "STRIPE_WEBHOOK_SECRET is not set.")
    try:
        payload = request.body
    except RequestDataTooBig:
        return _error(400, "invalid_signature", "The body is larger than any Stripe event.")
    try:
        event = stripe_webhooks.verify(payload, request.headers.get("Stripe-Signature"), secret)
    except stripe_webhooks.InvalidEvent as error:
        return _error(400, "invalid_signature", str(error))
    try:
        handled = stripe_webhooks.handle(event)
    except Exception:
        # Stripe retries a failed delivery; the error is logged with its traceback.
        logger.exception("Stripe event %s (%s) failed", event["id"], event.get("type"))
        return _error(500, "handler_failed", "The event could not be handled; send it again.")
    logger.info("Stripe event %s (%s): %s", event["id"], event.get("type"), handled.detail)
    return JsonResponse(
        {
            "id": event["id"],
            "type": event.get("type"),
            "result": handled.result,
            "detail": handled.detail,
        }
    )
