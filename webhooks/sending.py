"""Sending: each delivery is tried until its endpoint answers 2xx, at least once,
with the same ``webhook-id`` and body every time, on a jittered exponential
schedule for WEBHOOKS_RETRY_FOR_SECONDS (three days); an endpoint that failed
for WEBHOOKS_DISABLE_AFTER_SECONDS is disabled and the staff told.

No database transaction is held over an HTTP request: a delivery is claimed
(its ``next_attempt_at`` pushed past the request's timeouts, so no other sender
takes it meanwhile), sent, then its outcome written. A sender that dies
between the send and the write leaves the claim to expire, and the delivery is
sent again: receivers drop repeats by ``webhook-id``.
"""

import datetime
import logging
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks import network
from webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)


def retry_delay(attempts, *, rng=random):
    """How long after failed attempt number ``attempts`` (1, 2, ...) to try again:
    WEBHOOKS_RETRY_BASE_SECONDS doubled each time, at most
    WEBHOOKS_RETRY_MAX_DELAY_SECONDS, with "equal jitter" (between half and all
    of it) so that the deliveries of one outage do not come back together."""
    delay = min(
        settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** (attempts - 1),
        settings.WEBHOOKS_RETRY_MAX_DELAY_SECONDS,
    )
    return datetime.timedelta(seconds=delay / 2 + rng.uniform(0, delay / 2))


def signature(endpoint, msg_id, timestamp, body, *, now):
    """The ``webhook-signature`` header: one ``v1,`` signature per secret in use
    (the current one, and the one before a rotation for its last 24 hours)."""
    keys = [endpoint.secret]
    if endpoint.previous_secret and (endpoint.previous_secret_expires_at or now) > now:
        keys.append(endpoint.previous_secret)
    return " ".join(Webhook(key).sign(msg_id, timestamp, body) for key in keys)


def headers(endpoint, event, *, now):
    sent_at = timezone.now()  # the real clock: receivers check it against theirs
    return {
        "Content-Type": "application/json",
        "User-Agent": "billing-webhooks/1",
        "webhook-id": event.public_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature(endpoint, event.public_id, sent_at, event.body, now=now),
    }


def deliver_due(*, now=None, limit=100):
    """Send every pending delivery whose time has come, to enabled endpoints;
    returns how many it tried."""
    due = (
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now or timezone.now(),
            endpoint__enabled=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    # Each attempt reads the clock itself (unless a test drives it): a round of
    # slow receivers takes a while.
    return sum(1 for pk in list(due) if attempt(pk, now=now) is not None)


@transaction.atomic(durable=True)
def _claim(delivery_id, now, manual):
    filters = {} if manual else {"status": DeliveryStatus.PENDING, "next_attempt_at__lte": now}
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True)
        .filter(pk=delivery_id, **filters)
        .select_related("event", "endpoint")
        .first()
    )
    if delivery is not None and delivery.status == DeliveryStatus.PENDING:
        lease = settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOKS_READ_TIMEOUT_SECONDS
        delivery.next_attempt_at = now + datetime.timedelta(seconds=2 * lease + 60)
        delivery.save(update_fields=["next_attempt_at"])
    return delivery


def attempt(delivery_id, *, now=None, manual=False):
    """Send one delivery now and write its outcome: the attempt in the log, the
    delivery's next time (or its end) and the endpoint's health. ``manual``
    (a person's re-send) sends whatever the delivery's state and leaves its
    schedule alone unless it succeeds. None when there was nothing to send."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now, manual)
    if delivery is None:
        return None
    log = WebhookAttempt(delivery=delivery, created_at=now, manual=manual)
    try:
        answer = network.post(
            delivery.endpoint.url,
            delivery.event.body.encode(),
            headers(delivery.endpoint, delivery.event, now=now),
        )
        log.status_code, log.response_body = answer.status_code, answer.body
        log.duration_ms = answer.duration_ms
    except network.Refused as refusal:
        log.error = str(refusal)[:300]
    except Exception as error:  # a timeout, a refused connection, TLS: the receiver's
        log.error = f"{type(error).__name__}: {error}"[:300]
    _record(delivery, log, now)
    return log


@transaction.atomic(durable=True)
def _record(delivery, log, now):
    log.save(force_insert=True)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    delivery.attempts += 1  # the row is locked: no other writer meanwhile
    if log.succeeded:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
    else:
        if delivery.status == DeliveryStatus.PENDING and not log.manual:
            given_up = now - delivery.created_at >= datetime.timedelta(
                seconds=settings.WEBHOOKS_RETRY_FOR_SECONDS
            )
            if given_up:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        _failed(endpoint, now)
    delivery.save(update_fields=["attempts", "status", "next_attempt_at"])


def _failed(endpoint, now):
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since"])
        return
    failing_for = now - endpoint.failing_since
    if endpoint.enabled and failing_for >= datetime.timedelta(
        seconds=settings.WEBHOOKS_DISABLE_AFTER_SECONDS
    ):
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"Disabled on {now:%d %b %Y %H:%M} UTC: every attempt failed for "
            f"{failing_for.days} days (since {endpoint.failing_since:%d %b %Y %H:%M} UTC)."
        )
        endpoint.save(update_fields=["enabled", "disabled_reason"])
        transaction.on_commit(lambda: _tell_staff(endpoint), robust=True)


def _tell_staff(endpoint):
    """Mail every active staff member with an address: an endpoint was disabled.
    The page shows it too (``disabled_reason``), durably; the mail is a nudge."""
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return
    send_mail(
        subject=f"Webhook endpoint disabled: {endpoint.url}",
        message=(
            f"{endpoint.disabled_reason}\n\n"
            "Events for it are kept but not sent. Once the receiver answers again, "
            f"enable it on its page ({reverse('webhooks:endpoint_detail', args=[endpoint.pk])}): "
            "what is pending is sent then, and any delivery can be re-sent from its log.\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
