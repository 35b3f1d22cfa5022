"""Several webhooks workers at once (PostgreSQL row locks): each event is written
once and each delivery sent once per round."""

import pytest

from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, run_together
from webhooks import relay, sending
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_relays_running_together_write_each_event_once(manager, receiver, endpoint):
    for _ in range(5):
        pay(issued_invoice(CustomerFactory(), manager, "100.00"), manager, "40.00")

    results, errors = run_together(4, lambda i: relay.relay())

    # Each: invoice.issued, payment.succeeded, invoice.payment_status_updated and
    # (its task ran at the commit) receipt.created.
    assert errors == {}
    assert sum(results.values()) == WebhookEvent.objects.count() == 5 * 4
    assert WebhookDelivery.objects.count() == 5 * 4


def test_senders_running_together_send_each_delivery_once(manager, receiver, endpoint):
    for _ in range(3):
        issued_invoice(CustomerFactory(), manager, "100.00")
    relay.relay()

    results, errors = run_together(4, lambda i: sending.deliver_due())

    assert errors == {}
    assert sum(results.values()) == 3
    assert len(receiver.received) == 3
    assert sorted(h["Webhook-Id"] for h, _ in receiver.received) == sorted(
        WebhookEvent.objects.values_list("public_id", flat=True)
    )
