"""Endpoints, as the back office manages them: each change is a manager's
(``manage_webhooks``), checked here whatever the door."""

import base64
import datetime
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import permissions
from billing.errors import BillingError, ErrorCode
from webhooks import network, relay, sending
from webhooks.models import EventType, WebhookEndpoint


def new_secret():
    """``whsec_`` and the base64 of 32 random bytes (Standard Webhooks' form)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked(url, event_types):
    url = (url or "").strip()
    limit = WebhookEndpoint._meta.get_field("url").max_length
    if not url or len(url) > limit:
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"Give a URL of at most {limit} characters.", field="url"
        )
    try:
        network.checked_addresses(url)
    except network.Refused as refusal:
        raise BillingError(ErrorCode.INVALID_VALUE, str(refusal), field="url") from None
    unknown = sorted(set(event_types) - set(EventType.values))
    if unknown or not event_types:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"Unknown event type {unknown[0]!r}." if unknown else "Choose at least one event.",
            field="event_types",
        )
    return url, [t for t in EventType.values if t in event_types]


@transaction.atomic(durable=True)
def endpoint_create(*, url, event_types, actor, description=""):
    """A new enabled endpoint with a new secret; returns (endpoint, secret): the
    secret is for the person to copy now, the page never shows it again."""
    permissions.require(actor, permissions.MANAGE_WEBHOOKS)
    url, event_types = _checked(url, event_types)
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        event_types=event_types,
        description=description.strip()[:200],
        secret=new_secret(),
        created_by=actor,
    )
    relay.start()
    return endpoint, endpoint.secret


@transaction.atomic(durable=True)
def endpoint_update(*, endpoint, url, event_types, enabled, actor, description=""):
    """Change where an endpoint points, what it wants, whether it is on. Turning a
    disabled endpoint on clears its failure record: what is pending goes out."""
    permissions.require(actor, permissions.MANAGE_WEBHOOKS)
    url, event_types = _checked(url, event_types)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if enabled and not endpoint.enabled:
        endpoint.failing_since, endpoint.disabled_reason = None, ""
    endpoint.url, endpoint.event_types, endpoint.enabled = url, event_types, enabled
    endpoint.description = description.strip()[:200]
    endpoint.save()
    return endpoint


@transaction.atomic(durable=True)
def endpoint_rotate_secret(*, endpoint, actor, now=None):
    """A new secret; the old one keeps signing beside it for
    WEBHOOKS_PREVIOUS_SECRET_SECONDS, so receivers can switch without losing a
    message. Returns (endpoint, new secret)."""
    permissions.require(actor, permissions.MANAGE_WEBHOOKS)
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + datetime.timedelta(
        seconds=settings.WEBHOOKS_PREVIOUS_SECRET_SECONDS
    )
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint, endpoint.secret


def delivery_resend(*, delivery, actor):
    """Send one delivery again now, whatever its state (the log's "Re-send");
    returns the attempt, or None when another sender holds it this moment."""
    permissions.require(actor, permissions.MANAGE_WEBHOOKS)
    return sending.attempt(delivery.pk, manual=True)
