"""Each event type is fired by its operation, with the API's representation of
the record as ``data.object``; nothing is written for types nobody wants, and
with no endpoint enabled the relay writes nothing at all."""

import json

import pytest
from django.utils import timezone
from moneyed import Money

from api.customers import entry_out
from api.invoices import invoice_out, with_lines
from api.payments import payment_out
from api.refunds import credit_note_out, refund_out
from billing import services as billing
from billing.models import BalanceEntry, InvoiceEvent, Receipt
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, refund_to_card, saved_card
from webhooks import relay, services
from webhooks.models import EventType, RelayCursor, WebhookEvent

pytestmark = pytest.mark.django_db


class Events:
    """The events written since the last call, as (type, data.object)."""

    def __init__(self):
        self.seen = 0

    def __call__(self):
        relay.relay()
        events = list(WebhookEvent.objects.filter(pk__gt=self.seen).order_by("pk"))
        if events:
            self.seen = events[-1].pk
        return [(e.type, json.loads(e.body)["data"]["object"]) for e in events]


def types(events):
    return [event_type for event_type, _ in events]


def test_each_event_type_is_fired_by_its_operation_with_the_api_s_representation(manager, endpoint):
    new = Events()
    customer = CustomerFactory()

    invoice = issued_invoice(customer, manager, "100.00")
    events = new()
    assert events == [("invoice.issued", invoice_out(with_lines().get(pk=invoice.pk)))]

    cash = pay(invoice, manager, "30.00")
    events = new()
    assert types(events) == ["payment.succeeded", "invoice.payment_status_updated"]
    assert events[0][1] == payment_out(cash)
    assert events[1][1]["status"] == "partially_paid"

    assert billing.outbox_sweep(older_than=timezone.timedelta(0)) == 1  # the receipt's task
    events = new()
    assert types(events) == ["receipt.created"]
    receipt = Receipt.objects.get(payment=cash)
    assert events[0][1]["number"] == receipt.number
    assert events[0][1]["payment_id"] == str(cash.pk)

    rest = pay(invoice, manager, "70.00")
    events = new()
    assert types(events) == ["payment.succeeded", "invoice.payment_status_updated", "invoice.paid"]
    assert events[2][1]["status"] == "paid"

    billing.payment_void(payment=rest, reason="Bounced", actor=manager)
    events = new()
    assert types(events) == ["payment.voided", "invoice.payment_status_updated"]
    assert events[0][1]["id"] == str(rest.pk) and events[0][1]["status"] == "voided"
    assert events[1][1]["status"] == "partially_paid"

    refund = billing.payment_refund(
        payment=cash,
        amount=Money("10.00", "USD"),
        destination="customer_credit",
        reason="requested_by_customer",
        actor=manager,
    )
    events = dict(new())
    assert events["refund.succeeded"] == refund_out(refund)
    entry = BalanceEntry.objects.get(refund=refund)
    assert events["customer.balance_changed"] == {
        **entry_out(entry),
        "customer_id": str(customer.pk),
    }

    note = billing.credit_note_issue(
        invoice=invoice, reduce_due=Money("5.00", "USD"), reason="goodwill", actor=manager
    ).credit_note
    events = dict(new())
    assert events["credit_note.created"] == credit_note_out(note)

    declined = saved_card(CustomerFactory(), manager, "sandbox_declined")
    failed = billing.payment_charge(
        invoice=issued_invoice(declined.customer, manager, "20.00"),
        amount=Money("20.00", "USD"),
        payment_method=declined,
        actor=manager,
    )
    events = dict(new())
    assert events["payment.failed"]["id"] == str(failed.pk)
    assert events["payment.failed"]["status"] == "failed"

    card = saved_card(CustomerFactory(), manager, "sandbox_refund_fails")
    charged = billing.payment_charge(
        invoice=issued_invoice(card.customer, manager, "20.00"), payment_method=card, actor=manager
    )
    new()
    refused = refund_to_card(charged, manager, "5.00")
    events = dict(new())
    assert events["refund.failed"]["id"] == str(refused.pk)
    assert events["refund.failed"]["status"] == "failed"

    unpaid = issued_invoice(CustomerFactory(), manager, "40.00")
    new()
    billing.invoice_void(invoice=unpaid, reason="Sent twice", actor=manager)
    events = new()
    assert types(events) == ["invoice.voided"]
    assert events[0][1]["status"] == "void"

    fired = set(WebhookEvent.objects.values_list("type", flat=True))
    assert fired == set(EventType.values)


def test_an_endpoint_gets_only_the_types_it_asked_for(manager, receiver):
    wants_paid, _ = services.endpoint_create(
        url=receiver.url, event_types=["invoice.paid"], actor=manager
    )
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    pay(invoice, manager, "100.00")
    relay.relay()
    event = WebhookEvent.objects.get()
    assert event.type == "invoice.paid"
    assert list(event.deliveries.values_list("endpoint", flat=True)) == [wants_paid.pk]


def test_with_no_endpoint_enabled_the_relay_writes_no_event_and_only_moves_its_cursors(
    manager, django_assert_num_queries
):
    relay.start()
    invoice = issued_invoice(CustomerFactory(), manager, "100.00")
    pay(invoice, manager, "100.00")
    # The endpoints, then one UPDATE per source table.
    with django_assert_num_queries(1 + 3):
        assert relay.relay() == 0
    assert not WebhookEvent.objects.exists()
    cursor = RelayCursor.objects.get(source="invoice_event")
    assert cursor.last_id == InvoiceEvent.objects.latest("pk").pk
