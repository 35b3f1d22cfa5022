"""Delivery to a real receiver on loopback: signed (Standard Webhooks, checked by
its own library), at least once with a stable webhook-id, retried on a jittered
exponential schedule for three days, then the endpoint disabled and the staff
told; nothing from a rolled-back operation; nothing lost by a stopped worker."""

import datetime
import io
import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook

from billing import services as billing
from billing.services import invoices as invoice_services
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay
from webhooks import relay, sending, services
from webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

pytestmark = pytest.mark.django_db


def run(now=None):
    """One round of the worker: derive the events, send what is due."""
    relay.relay(now=now)
    return sending.deliver_due(now=now)


def test_every_delivery_is_signed_and_verified_by_the_receiver_with_the_library(
    manager, receiver, endpoint
):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    payment = pay(invoice, manager, "40.00")

    run()

    assert receiver.unverified == []
    assert receiver.types() == [
        "invoice.issued",
        "payment.succeeded",
        "invoice.payment_status_updated",
    ]
    headers, paid = receiver.received[1]
    assert paid["data"]["object"]["object"] == "payment"
    assert paid["data"]["object"]["id"] == str(payment.pk)
    assert paid["data"]["object"]["amount"] == {"amount": "40.00", "currency": "USD"}
    assert headers["Webhook-Id"] == paid["id"]
    status = receiver.received[2][1]["data"]["object"]
    assert (status["object"], status["status"]) == ("invoice", "partially_paid")
    log = WebhookAttempt.objects.filter(delivery__endpoint=endpoint)
    assert sorted(a.status_code for a in log) == [204, 204, 204]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_rotated_secret_signs_beside_the_old_one_for_24_hours(manager, receiver, endpoint):
    old = endpoint.secret
    endpoint, new = services.endpoint_rotate_secret(endpoint=endpoint, actor=manager)
    assert new != old and new.startswith("whsec_")
    event = WebhookEvent(public_id="msg_1", body='{"a":1}')
    now = timezone.now()
    signed = sending.headers(endpoint, event, now=now)
    assert len(signed["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(event.body, signed) == {"a": 1}

    later = sending.headers(endpoint, event, now=now + datetime.timedelta(hours=24, seconds=1))
    assert len(later["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(event.body, later) == {"a": 1}
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(event.body, later)


def test_a_failing_receiver_gets_retries_on_the_jittered_exponential_schedule_then_gives_up(
    manager, receiver, endpoint, settings
):
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 10 * 24 * 3600  # here: only the retries
    receiver.statuses = [503]
    issued_invoice(CustomerFactory(), manager, "100.00")
    start = timezone.now()
    relay.relay(now=start)
    delivery = WebhookDelivery.objects.get()
    now, gaps = start, []
    while delivery.status == DeliveryStatus.PENDING:
        assert sending.deliver_due(now=now) == 1
        delivery.refresh_from_db()
        if delivery.next_attempt_at is not None:
            gaps.append((delivery.next_attempt_at - now).total_seconds())
            # Not one second early: nothing is sent before its time.
            assert sending.deliver_due(now=delivery.next_attempt_at - datetime.timedelta(1)) == 0
            now = delivery.next_attempt_at

    # 30 s doubled each time, at most 12 h, each between half and all of that.
    for attempt, gap in enumerate(gaps, start=1):
        full = min(30 * 2 ** (attempt - 1), 12 * 3600)
        assert full / 2 <= gap <= full, (attempt, gap)
    assert delivery.status == DeliveryStatus.FAILED
    assert 3 * 24 * 3600 <= (now - start).total_seconds() < 3.5 * 24 * 3600
    assert delivery.attempts == len(gaps) + 1 == len(receiver.received)
    assert set(WebhookAttempt.objects.values_list("status_code", flat=True)) == {503}
    # Every retry carried the same message id.
    assert {headers["Webhook-Id"] for headers, _ in receiver.received} == {delivery.event.public_id}


def test_an_endpoint_failing_for_three_days_is_disabled_and_the_staff_are_mailed(
    manager, receiver, endpoint, django_capture_on_commit_callbacks
):
    manager.email = "manager@example.com"
    manager.save()
    receiver.statuses = [500]
    issued_invoice(CustomerFactory(), manager, "100.00")
    start = timezone.now()
    relay.relay(now=start)
    now = start
    while WebhookEndpoint.objects.get().enabled:
        with django_capture_on_commit_callbacks(execute=True):
            assert sending.deliver_due(now=now) == 1
        now = WebhookDelivery.objects.get().next_attempt_at or now + datetime.timedelta(hours=1)

    endpoint.refresh_from_db()
    assert "every attempt failed for 3 days" in endpoint.disabled_reason
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["manager@example.com"]
    assert endpoint.url in mail.outbox[0].subject
    # Disabled: nothing more is sent, and no event is written for it.
    sent_before, events_before = len(receiver.received), WebhookEvent.objects.count()
    issued_invoice(CustomerFactory(), manager, "100.00")
    assert run(now=now + datetime.timedelta(days=1)) == 0
    assert len(receiver.received) == sent_before
    assert WebhookEvent.objects.count() == events_before


def test_a_receiver_that_recovers_is_marked_healthy_again(manager, receiver, endpoint):
    receiver.statuses = [500, 200]
    issued_invoice(CustomerFactory(), manager, "100.00")
    now = timezone.now()
    run(now)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == now
    delivery = WebhookDelivery.objects.get()
    run(delivery.next_attempt_at)
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.enabled
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)


def test_a_rolled_back_operation_emits_nothing(manager, receiver, endpoint, monkeypatch):
    issued = issued_invoice(CustomerFactory(), manager, "100.00")
    write_event = invoice_services.event

    def event_then_crash(*args, **kwargs):
        write_event(*args, **kwargs)
        raise RuntimeError("the operation fails after writing its timeline event")

    monkeypatch.setattr(invoice_services, "event", event_then_crash)
    with pytest.raises(RuntimeError):
        billing.invoice_void(invoice=issued, reason="Mistake", actor=manager)
    monkeypatch.undo()
    later = pay(issued_invoice(CustomerFactory(), manager, "50.00"), manager, "50.00")

    now = timezone.now()
    relay.relay(now=now)
    if connection.vendor == "postgresql":
        # The rolled-back event's id is a gap: the relay waits for it (it could be
        # a transaction still running) before reading on.
        assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["invoice.issued"]
        relay.relay(now=now + datetime.timedelta(seconds=29))
        assert WebhookEvent.objects.count() == 1
    relay.relay(now=now + datetime.timedelta(seconds=31))
    sending.deliver_due(now=now + datetime.timedelta(seconds=31))

    assert receiver.types() == [
        "invoice.issued",
        "invoice.issued",
        "payment.succeeded",
        "invoice.payment_status_updated",
        "invoice.paid",
    ]
    assert receiver.received[2][1]["data"]["object"]["id"] == str(later.pk)


def test_a_worker_stopped_between_commit_and_send_delivers_after_restart(
    manager, receiver, endpoint
):
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    # Committed, and the worker down: nothing was derived or sent yet.
    assert receiver.received == [] and not WebhookEvent.objects.exists()
    relay.relay()
    # The worker dies after writing the events, before sending them.
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 1
    assert receiver.received == []

    # Restarted: the next round sends them.
    assert sending.deliver_due() == 1
    assert receiver.types() == ["invoice.issued"]
    assert receiver.received[0][1]["data"]["object"]["id"] == str(invoice.pk)


def test_a_sender_that_dies_mid_request_sends_again_with_the_same_webhook_id(
    manager, receiver, endpoint
):
    issued_invoice(CustomerFactory(), manager, "100.00")
    now = timezone.now()
    relay.relay(now=now)
    delivery = WebhookDelivery.objects.get()
    # Claimed and sent, and the sender died before writing the outcome.
    claimed = sending._claim(delivery.pk, now, manual=False)
    assert claimed is not None
    assert sending.deliver_due(now=now) == 0  # claimed: nobody else takes it
    later = claimed.next_attempt_at
    assert sending.deliver_due(now=later) == 1
    assert [h["Webhook-Id"] for h, _ in receiver.received] == [delivery.event.public_id]


def test_the_log_s_resend_sends_a_delivered_event_again(manager, receiver, endpoint):
    issued_invoice(CustomerFactory(), manager, "100.00")
    run()
    delivery = WebhookDelivery.objects.get()
    log = services.delivery_resend(delivery=delivery, actor=manager)
    assert log.manual and log.status_code == 204
    assert len(receiver.received) == 2
    assert receiver.received[0][1] == receiver.received[1][1]


def test_an_event_body_is_the_same_bytes_for_every_attempt(manager, receiver, endpoint):
    issued_invoice(CustomerFactory(), manager, "100.00")
    run()
    event = WebhookEvent.objects.get()
    assert json.loads(event.body) == receiver.received[0][1]


def test_the_worker_command_relays_and_sends_in_one_round(manager, receiver, endpoint):
    issued_invoice(CustomerFactory(), manager, "100.00")
    out = io.StringIO()
    call_command("webhooks_worker", stdout=out)
    assert out.getvalue().strip() == "1 new events, 1 deliveries tried"
    assert receiver.types() == ["invoice.issued"]


@pytest.mark.django_db(transaction=True)
def test_committed_operations_reach_the_receiver_through_the_real_workers_after_a_restart(
    manager, receiver, endpoint, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # The receipt's drain task is due at once, so `db_worker --batch` (which runs
    # only what is due) runs it, however slow the machine.
    settings.BILLING_OUTBOX_DRAIN_DELAY_SECONDS = 0
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    payment = pay(invoice, manager, "100.00")  # committed, with its outbox row and a drain task
    # A worker derived the events and was stopped before sending any.
    relay.relay()
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 4
    assert receiver.received == []

    # Restarted: the task worker makes the receipt, the webhooks worker sends it all.
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    call_command("webhooks_worker", stdout=io.StringIO())

    assert receiver.unverified == []
    assert receiver.types() == [
        "invoice.issued",
        "payment.succeeded",
        "invoice.payment_status_updated",
        "invoice.paid",
        "receipt.created",
    ]
    assert receiver.received[-1][1]["data"]["object"]["payment_id"] == str(payment.pk)
