"""Endpoints: a manager's to make and change, never to a private or loopback
address in production settings (checked when saved and again at each send),
with a whsec_ secret shown once and rotated with a 24-hour overlap."""

import base64

import pytest
from django.utils import timezone

from billing.errors import BillingError, ErrorCode
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice
from webhooks import relay, sending, services
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://localhost:8000/hooks",
        "http://[::1]/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
    ],
)
def test_private_and_loopback_urls_are_refused_in_production_settings_and_nothing_is_written(
    manager, settings, url
):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(BillingError) as refused:
        services.endpoint_create(url=url, event_types=["invoice.paid"], actor=manager)
    assert refused.value.code == ErrorCode.INVALID_VALUE
    assert refused.value.field == "url"
    assert "non-public address" in refused.value.message
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_accepted_in_production_settings(manager, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    endpoint, _ = services.endpoint_create(
        url="https://93.184.215.14/hooks", event_types=["invoice.paid"], actor=manager
    )
    assert endpoint.enabled and endpoint.url == "https://93.184.215.14/hooks"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hooks", "http:// or https://"),
        ("https://user:pw@93.184.215.14/hooks", "no user name or password"),
        ("https://no-such-host.invalid/hooks", "does not resolve"),
    ],
)
def test_a_url_that_is_not_a_web_address_is_refused(manager, url, message):
    with pytest.raises(BillingError) as refused:
        services.endpoint_create(url=url, event_types=["invoice.paid"], actor=manager)
    assert message in refused.value.message
    assert not WebhookEndpoint.objects.exists()


def test_the_address_is_checked_again_at_send_time(manager, receiver, endpoint, settings):
    """A name that resolved to a public address when saved can point inside later."""
    issued_invoice(CustomerFactory(), manager, "100.00")
    relay.relay()
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False

    assert sending.deliver_due() == 1

    assert receiver.received == [] and receiver.unverified == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "non-public address" in attempt.error
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING  # retried later


def test_unknown_or_no_event_types_are_refused(manager, receiver):
    for event_types, message in ((["invoice.eaten"], "Unknown event type"), ([], "at least one")):
        with pytest.raises(BillingError) as refused:
            services.endpoint_create(url=receiver.url, event_types=event_types, actor=manager)
        assert refused.value.field == "event_types" and message in refused.value.message
    assert not WebhookEndpoint.objects.exists()


def test_a_secret_is_whsec_and_32_random_bytes_in_base64(manager, receiver):
    _, first = services.endpoint_create(
        url=receiver.url, event_types=["invoice.paid"], actor=manager
    )
    _, second = services.endpoint_create(
        url=receiver.url, event_types=["invoice.paid"], actor=manager
    )
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_rotation_keeps_the_old_secret_for_24_hours(manager, endpoint):
    old = endpoint.secret
    now = timezone.now()
    endpoint, new = services.endpoint_rotate_secret(endpoint=endpoint, actor=manager, now=now)
    assert endpoint.secret == new != old
    assert endpoint.previous_secret == old
    assert (endpoint.previous_secret_expires_at - now).total_seconds() == 24 * 3600


def test_only_a_manager_manages_endpoints_and_a_refusal_writes_nothing(
    clerk, manager, receiver, endpoint
):
    issued_invoice(CustomerFactory(), manager, "100.00")
    relay.relay()
    delivery = WebhookDelivery.objects.get()
    before = endpoint.secret
    for call in (
        lambda: services.endpoint_create(
            url=receiver.url, event_types=["invoice.paid"], actor=clerk
        ),
        lambda: services.endpoint_update(
            endpoint=endpoint, url=receiver.url, event_types=[], enabled=False, actor=clerk
        ),
        lambda: services.endpoint_rotate_secret(endpoint=endpoint, actor=clerk),
        lambda: services.delivery_resend(delivery=delivery, actor=clerk),
        lambda: services.endpoint_create(
            url=receiver.url, event_types=["invoice.paid"], actor=None
        ),
    ):
        with pytest.raises(BillingError) as refused:
            call()
        assert refused.value.code == ErrorCode.PERMISSION_DENIED
    endpoint.refresh_from_db()
    assert WebhookEndpoint.objects.count() == 1
    assert endpoint.secret == before and endpoint.enabled
    assert not WebhookAttempt.objects.exists() and receiver.received == []


def test_enabling_a_disabled_endpoint_clears_its_failure_record(manager, receiver, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, failing_since=timezone.now(), disabled_reason="Disabled: failing."
    )
    endpoint = services.endpoint_update(
        endpoint=endpoint,
        url=receiver.url,
        event_types=["invoice.paid"],
        enabled=True,
        actor=manager,
    )
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is None and endpoint.disabled_reason == ""
    assert endpoint.event_types == ["invoice.paid"]


def test_private_urls_are_allowed_in_development_and_refused_in_production_settings(monkeypatch):
    from tests.test_settings import settings_from

    monkeypatch.delenv("WEBHOOKS_ALLOW_PRIVATE_URLS", raising=False)
    production = settings_from(monkeypatch, DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x")
    assert production["WEBHOOKS_ALLOW_PRIVATE_URLS"] is False
    assert settings_from(monkeypatch, DJANGO_DEBUG="true")["WEBHOOKS_ALLOW_PRIVATE_URLS"] is True
