"""The webhooks pages under the user menu: a manager makes an endpoint and sees
its secret once, edits it, rotates the secret, reads the delivery log and
re-sends from it; others are refused (the permission matrix in
tests/billing/views/test_access.py checks every kind of user)."""

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice
from webhooks import relay, sending
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

LIST = reverse("webhooks:endpoint_list")


def test_a_manager_makes_an_endpoint_and_sees_its_secret_only_once(client, manager, receiver):
    client.force_login(manager)
    page = get_ok(client, reverse("billing:dashboard")).content.decode()
    assert f'href="{LIST}"' in page  # in the user menu

    response = client.post(
        LIST,
        {
            "new-url": receiver.url,
            "new-description": "ERP",
            "new-event_types": ["invoice.paid", "payment.succeeded"],
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["payment.succeeded", "invoice.paid"]
    assert endpoint.secret in response.content.decode()

    again = get_ok(client, LIST).content.decode()
    assert receiver.url in again
    assert endpoint.secret not in again
    assert endpoint.secret not in get_ok(client, endpoint.get_absolute_url()).content.decode()


def test_an_invalid_endpoint_is_answered_422_with_the_reason_and_nothing_is_written(
    client, manager, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    client.force_login(manager)
    response = client.post(
        LIST, {"new-url": "http://127.0.0.1:9/hooks", "new-event_types": ["invoice.paid"]}
    )
    assert response.status_code == 422
    assert "non-public address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_detail_page_edits_rotates_and_re_sends_from_the_log(
    client, manager, receiver, endpoint
):
    client.force_login(manager)
    issued_invoice(CustomerFactory(), manager, "100.00")
    relay.relay()
    sending.deliver_due()
    delivery = WebhookDelivery.objects.get()
    url = endpoint.get_absolute_url()

    page = get_ok(client, url).content.decode()
    assert delivery.event.public_id in page and "invoice.issued" in page and "204" in page

    response = client.post(url, {"resend": delivery.pk})
    assert response.status_code == 302
    assert WebhookAttempt.objects.filter(manual=True).count() == 1
    assert len(receiver.received) == 2

    old = endpoint.secret
    response = client.post(url, {"rotate": "1"})
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()

    response = client.post(
        url, {"url": receiver.url, "event_types": ["invoice.voided"], "enabled": ""}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["invoice.voided"] and not endpoint.enabled

    response = client.post(url, {"url": receiver.url, "event_types": []})
    assert response.status_code == 422


def test_a_clerk_is_refused_the_webhooks_pages_and_does_not_see_the_link(client, clerk, endpoint):
    client.force_login(clerk)
    assert LIST not in get_ok(client, reverse("billing:dashboard")).content.decode()
    for url in (LIST, endpoint.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 403
        assert "manage webhook endpoints" in response.content.decode()
    response = client.post(
        LIST, {"new-url": "https://93.184.215.14/", "new-event_types": ["invoice.paid"]}
    )
    assert response.status_code == 403
    assert WebhookEndpoint.objects.count() == 1
