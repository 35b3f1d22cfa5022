"""POST /webhooks/stripe: Stripe's signed events settle pending charges and refunds
through reconciliation's own step, record disputes, and a bad signature writes
nothing.

Each payload is signed here with a test secret by the ``stripe`` library's own
helper (``WebhookSignature.generate_signature_header``), so the view's check is
the real one; nothing reaches the network. The pending records are made through
the real services with the sandbox's timeout cards, then their saved method is
moved to the ``stripe`` gateway, as a Stripe charge that timed out would be.
"""

import json
import time
import uuid

import pytest
import responses
import stripe
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.gateways.stripe import to_minor_units
from billing.integrity import find_disagreements
from billing.models import (
    GatewayEvent,
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceStatus,
    OutboxMessage,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from tests.helpers import (
    get_ok,
    invoice_page,
    invoice_with_card,
    record_counts,
    refund_to_card,
    run_together,
)

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_stripein"
URL = reverse("billing:stripe_webhook")
INTENT = "pi_3QwebhookTest0001"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_WEBHOOK_ACTOR = "stripe"


@pytest.fixture
def stripe_client():
    # Stripe sends no session and no CSRF token: the view must not need them.
    return Client(enforce_csrf_checks=True)


def on_stripe(record):
    """Move ``record``'s saved method to the stripe gateway, as if Stripe held it."""
    payment = record if isinstance(record, Payment) else record.payment
    PaymentMethod.objects.filter(pk=payment.payment_method_id).update(gateway="stripe")
    return type(record).objects.get(pk=record.pk)


def pending_charge(actor):
    invoice = invoice_with_card(actor, "sandbox_timeout_not_charged")
    payment = services.payment_charge(invoice=invoice, actor=actor)
    assert payment.status == PaymentStatus.PENDING
    return on_stripe(payment)


def pending_refund(actor, amount="40.00"):
    invoice = invoice_with_card(actor, "sandbox_refund_timeout")
    payment = services.payment_charge(invoice=invoice, actor=actor)
    assert payment.status == PaymentStatus.SUCCEEDED
    refund = refund_to_card(payment, actor, amount)
    assert refund.status == RefundStatus.PENDING
    return on_stripe(refund)


def intent(payment, status="succeeded", amount=None, **fields):
    minor, currency = to_minor_units(amount or payment.amount)
    return {
        "id": INTENT,
        "object": "payment_intent",
        "amount": minor,
        "currency": currency,
        "status": status,
        "metadata": {"billing_key": str(payment.gateway_key), "payment": str(payment.pk)},
        **fields,
    }


def stripe_refund(refund, status="succeeded", **fields):
    minor, currency = to_minor_units(refund.amount)
    return {
        "id": f"re_{refund.pk}",
        "object": "refund",
        "amount": minor,
        "currency": currency,
        "payment_intent": refund.payment.gateway_charge_id,
        "status": status,
        "metadata": {"billing_key": str(refund.gateway_key)},
        **fields,
    }


def event(type_, obj, event_id=None):
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": type_,
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def send(client, body, secret=SECRET, signature=None, timestamp=None):
    payload = body if isinstance(body, str) else json.dumps(body)
    if signature is None:
        signature = stripe.WebhookSignature.generate_signature_header(
            payload, secret, timestamp=timestamp
        )
    return client.post(
        URL, data=payload, content_type="application/json", headers={"Stripe-Signature": signature}
    )


def answered(response, result):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["result"] == result, response.json()
    return response.json()


def webhook_user():
    return get_user_model().objects.get(username="stripe")


# -- charges ---------------------------------------------------------------------------


def test_payment_intent_succeeded_settles_a_pending_charge_at_once(stripe_client, manager):
    payment = pending_charge(manager)

    answered(send(stripe_client, event("payment_intent.succeeded", intent(payment))), "settled")

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.gateway_charge_id == INTENT
    invoice = payment.invoice
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.amount_pending == Money("0.00", "USD")
    # Reconciliation's own step: the timeline entry and the receipt's outbox row.
    settled = InvoiceEvent.objects.get(payment=payment, kind=InvoiceEventKind.PAYMENT_SUCCEEDED)
    assert settled.created_by == webhook_user()
    assert OutboxMessage.objects.filter(payment=payment, topic="receipt").exists()
    assert find_disagreements() == []
    # The user the webhooks act as can never sign in.
    assert not webhook_user().is_active and not webhook_user().has_usable_password()


def test_payment_intent_payment_failed_fails_a_pending_charge_with_stripes_reason(
    stripe_client, manager
):
    payment = pending_charge(manager)
    failed = intent(
        payment,
        status="requires_payment_method",
        last_payment_error={
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    )

    answered(send(stripe_client, event("payment_intent.payment_failed", failed)), "settled")

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == "Your card has insufficient funds."
    invoice = payment.invoice
    invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.amount_pending) == (Money("100.00", "USD"), Money(0, "USD"))
    assert find_disagreements() == []


def test_an_event_delivered_twice_changes_nothing_the_second_time(stripe_client, manager):
    payment = pending_charge(manager)
    delivery = event("payment_intent.succeeded", intent(payment))
    answered(send(stripe_client, delivery), "settled")
    before = record_counts()

    answered(send(stripe_client, delivery), "unchanged")

    assert record_counts() == before
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_a_failure_arriving_after_the_success_changes_nothing(stripe_client, manager):
    payment = pending_charge(manager)
    answered(send(stripe_client, event("payment_intent.succeeded", intent(payment))), "settled")
    before = record_counts()

    late = intent(payment, status="requires_payment_method")
    answered(send(stripe_client, event("payment_intent.payment_failed", late)), "unchanged")

    assert record_counts() == before
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_an_intent_stripe_is_still_processing_leaves_the_charge_pending(stripe_client, manager):
    payment = pending_charge(manager)
    before = record_counts()

    processing = intent(payment, status="processing")
    answered(send(stripe_client, event("payment_intent.succeeded", processing)), "unchanged")

    assert record_counts() == before
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_amount_other_than_the_payments_stays_pending_for_a_person(stripe_client, manager):
    payment = pending_charge(manager)
    before = record_counts()

    other = intent(payment, amount=Money("99.00", "USD"))
    body = answered(send(stripe_client, event("payment_intent.succeeded", other)), "unchanged")

    assert "stays pending for review" in body["detail"]
    assert record_counts() == before
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_event_for_an_unknown_payment_intent_is_acknowledged_and_ignored(stripe_client, manager):
    payment = pending_charge(manager)
    stranger = intent(payment, id="pi_someone_elses", metadata={"order": "42"})
    before = record_counts()

    answered(send(stripe_client, event("payment_intent.succeeded", stranger)), "ignored")

    assert record_counts() == before
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_event_naming_a_sandbox_payment_is_ignored(stripe_client, manager):
    invoice = invoice_with_card(manager, "sandbox_timeout_not_charged")
    payment = services.payment_charge(invoice=invoice, actor=manager)
    before = record_counts()

    answered(send(stripe_client, event("payment_intent.succeeded", intent(payment))), "ignored")

    assert record_counts() == before
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_unknown_event_type_is_acknowledged_and_ignored(stripe_client, manager):
    pending_charge(manager)
    before = record_counts()

    body = answered(send(stripe_client, event("customer.created", {"id": "cus_1"})), "ignored")

    assert body["type"] == "customer.created"
    assert record_counts() == before


# -- refunds ---------------------------------------------------------------------------


def test_refund_updated_settles_a_pending_refund(stripe_client, manager):
    refund = pending_refund(manager)

    answered(send(stripe_client, event("refund.updated", stripe_refund(refund))), "settled")

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.gateway_refund_id == f"re_{refund.pk}"
    invoice = refund.payment.invoice
    invoice.refresh_from_db()
    assert invoice.amount_pending == Money("0.00", "USD")
    assert OutboxMessage.objects.filter(refund=refund, topic="receipt").exists()
    assert find_disagreements() == []


def test_refund_failed_undoes_a_pending_refund(stripe_client, manager):
    refund = pending_refund(manager)
    failed = stripe_refund(refund, status="failed", failure_reason="expired_or_canceled_card")

    answered(send(stripe_client, event("refund.failed", failed)), "settled")

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert refund.failure_reason == "The card has expired or was cancelled; the refund failed."
    payment = refund.payment
    payment.refresh_from_db()
    assert payment.amount_refunded == Money("0.00", "USD")
    payment.invoice.refresh_from_db()
    assert payment.invoice.status == InvoiceStatus.PAID
    assert find_disagreements() == []


def test_a_refund_stripe_is_still_working_on_stays_pending(stripe_client, manager):
    refund = pending_refund(manager)
    before = record_counts()

    waiting = stripe_refund(refund, status="pending")
    answered(send(stripe_client, event("refund.updated", waiting)), "unchanged")

    assert record_counts() == before
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING


def test_charge_refunded_settles_the_refunds_it_carries(stripe_client, manager):
    refund = pending_refund(manager)
    charge = {
        "id": "ch_3Qwebhook",
        "object": "charge",
        "payment_intent": refund.payment.gateway_charge_id,
        "refunded": False,
        "refunds": {"object": "list", "data": [stripe_refund(refund)]},
    }
    delivery = event("charge.refunded", charge)

    answered(send(stripe_client, delivery), "settled")

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    before = record_counts()
    answered(send(stripe_client, delivery), "unchanged")
    assert record_counts() == before


def test_charge_refunded_without_its_refunds_asks_stripe_for_the_pending_ones(
    stripe_client, manager, settings
):
    settings.STRIPE_SECRET_KEY = "sk_test_webhooks"
    refund = pending_refund(manager)
    charge_id = refund.payment.gateway_charge_id
    charge = {"id": "ch_3Qwebhook", "object": "charge", "payment_intent": charge_id}
    listed = {
        "object": "list",
        "url": "/v1/refunds",
        "has_more": False,
        "data": [stripe_refund(refund)],
    }
    with responses.RequestsMock() as api:
        api.add("GET", "https://api.stripe.com/v1/refunds", json=listed)
        answered(send(stripe_client, event("charge.refunded", charge)), "settled")
        assert len(api.calls) == 1
        assert f"payment_intent={charge_id}" in api.calls[0].request.url

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


# -- disputes --------------------------------------------------------------------------


def dispute(payment, **fields):
    return {
        "id": "dp_1QwebhookTest",
        "object": "dispute",
        "amount": 10000,
        "currency": "usd",
        "charge": "ch_3Qwebhook",
        "payment_intent": payment.gateway_charge_id,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": 1767225600},  # 2026-01-01 00:00 UTC
        **fields,
    }


def disputed_payment(stripe_client, manager):
    payment = pending_charge(manager)
    answered(send(stripe_client, event("payment_intent.succeeded", intent(payment))), "settled")
    payment.refresh_from_db()
    return payment


def test_a_dispute_is_recorded_on_the_timeline_once_per_event(stripe_client, manager):
    payment = disputed_payment(stripe_client, manager)
    created = event("charge.dispute.created", dispute(payment))

    answered(send(stripe_client, created), "recorded")
    before = record_counts()
    answered(send(stripe_client, created), "unchanged")

    assert record_counts() == before
    entry = InvoiceEvent.objects.get(kind=InvoiceEventKind.PAYMENT_DISPUTED)
    assert entry.payment == payment
    assert entry.amount == Money("100.00", "USD")
    assert "fraudulent" in entry.message and "dp_1QwebhookTest" in entry.message
    assert "by 2026-01-01 00:00 UTC" in entry.message
    assert GatewayEvent.objects.get().event_id == created["id"]
    # A dispute moves no money in billing.
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert find_disagreements() == []


def test_a_dispute_is_shown_on_the_payment_page_and_the_invoice_page(
    stripe_client, client, manager
):
    payment = disputed_payment(stripe_client, manager)
    client.force_login(manager)
    page = get_ok(client, reverse("billing:payment_detail", args=[payment.pk])).content.decode()
    assert "data-disputed" not in page

    answered(send(stripe_client, event("charge.dispute.created", dispute(payment))), "recorded")

    page = get_ok(client, reverse("billing:payment_detail", args=[payment.pk])).content.decode()
    assert "data-disputed" in page and "Disputed." in page
    assert "Payment disputed" in page  # its timeline entry
    invoice = invoice_page(client, payment.invoice)
    assert ">Disputed</span>" in invoice
    assert "Payment disputed" in invoice and "fraudulent" in invoice


def test_a_dispute_of_a_charge_that_is_not_ours_is_ignored(stripe_client, manager):
    payment = disputed_payment(stripe_client, manager)
    before = record_counts()

    other = dispute(payment, payment_intent="pi_someone_elses")
    answered(send(stripe_client, event("charge.dispute.created", other)), "ignored")

    assert record_counts() == before


# -- refusals --------------------------------------------------------------------------


def bad_deliveries(payment):
    body = json.dumps(event("payment_intent.succeeded", intent(payment)))
    good = stripe.WebhookSignature.generate_signature_header(body, SECRET)
    tampered = body.replace('"succeeded"', '"succeeded" ', 1)
    return {
        "another secret": dict(body=body, secret="whsec_someone_else"),
        "no signature": dict(body=body, signature=""),
        "a garbled signature": dict(body=body, signature="t=abc,v1=zz"),
        "a tampered body": dict(body=tampered, signature=good),
        "a replayed old capture": dict(body=body, timestamp=int(time.time()) - 3600),
    }


@pytest.mark.parametrize(
    "what",
    [
        "another secret",
        "no signature",
        "a garbled signature",
        "a tampered body",
        "a replayed old capture",
    ],
)
def test_a_bad_signature_is_400_and_writes_nothing(stripe_client, manager, what):
    payment = pending_charge(manager)
    users = get_user_model().objects.count()
    before = record_counts()

    response = send(stripe_client, **bad_deliveries(payment)[what])

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "invalid_signature"
    assert record_counts() == before
    assert get_user_model().objects.count() == users
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_signed_body_that_is_not_an_event_is_400(stripe_client, manager):
    before = record_counts()

    response = send(stripe_client, {"object": "payment_intent", "id": INTENT})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert record_counts() == before


def test_without_a_signing_secret_every_event_is_503_and_nothing_is_read(
    stripe_client, manager, settings
):
    payment = pending_charge(manager)
    settings.STRIPE_WEBHOOK_SECRET = ""
    before = record_counts()

    response = send(stripe_client, event("payment_intent.succeeded", intent(payment)))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert record_counts() == before


def test_only_post_is_answered_and_in_json(stripe_client):
    response = stripe_client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_handler_that_fails_answers_500_in_json_so_stripe_retries(
    stripe_client, manager, monkeypatch
):
    payment = pending_charge(manager)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("billing.gateways.stripe_webhooks.settle_reported_charge", broken)
    response = send(stripe_client, event("payment_intent.succeeded", intent(payment)))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "handler_failed"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert OutboxMessage.objects.filter(payment=payment).count() == 0
    assert Refund.objects.count() == 0


# -- at the same time (PostgreSQL) ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_event_delivered_twice_at_once_is_acted_on_once(manager):
    payment = pending_charge(manager)
    settled = event("payment_intent.succeeded", intent(payment))

    results, errors = run_together(2, lambda i: send(Client(), settled).json()["result"])

    assert errors == {}
    assert sorted(results.values()) == ["settled", "unchanged"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert InvoiceEvent.objects.filter(kind=InvoiceEventKind.PAYMENT_SUCCEEDED).count() == 1

    disputed = event("charge.dispute.created", dispute(payment))
    results, errors = run_together(3, lambda i: send(Client(), disputed).json()["result"])

    assert errors == {}
    assert sorted(results.values()) == ["recorded", "unchanged", "unchanged"]
    assert InvoiceEvent.objects.filter(kind=InvoiceEventKind.PAYMENT_DISPUTED).count() == 1
    assert GatewayEvent.objects.count() == 1
    assert find_disagreements() == []


def test_a_body_larger_than_django_takes_is_400_in_json(stripe_client, manager, settings):
    payment = pending_charge(manager)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    before = record_counts()

    response = send(stripe_client, event("payment_intent.succeeded", intent(payment)))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert record_counts() == before
