"""The admin's receipts and outbox pages: read only, with the columns, filters
and search that answer "was this receipt made, and if not, why not?"."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from moneyed import Money

from billing import permissions, services
from billing.models import OutboxMessage, OutboxTopic, Receipt
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay, record_counts

pytestmark = pytest.mark.django_db


def admin_url(model, view, *args):
    return reverse(f"admin:billing_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def documents(superuser):
    """Two paid invoices with receipts (one with a refund's receipt too) and an
    outbox row that failed twice."""
    paid = []
    for name in ("Dolfin Ltd", "Lago SA"):
        invoice = issued_invoice(CustomerFactory(name=name), superuser, "100.00")
        paid.append(pay(invoice, superuser, "100.00"))
    refund = services.payment_refund(
        payment=paid[0],
        amount=Money("30.00", "USD"),
        destination="customer_credit",
        reason="requested_by_customer",
        actor=superuser,
    )
    receipts = [services.receipt_issue(payment=payment) for payment in paid]
    receipts.append(services.receipt_issue(refund=refund))
    failing = OutboxMessage.objects.create(
        topic=OutboxTopic.EMAIL,
        document="receipt",
        receipt=receipts[0],
        invoice=paid[0].invoice,
        recipient="ap@dolfin.example",
        attempts=2,
        last_error="SMTPServerDisconnected('Connection unexpectedly closed')",
    )
    return receipts, failing


def listed(response):
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_receipts_are_listed_with_what_they_are_of_and_found_by_number(admin_client, documents):
    receipts, _ = documents
    page = get_ok(admin_client, admin_url(Receipt, "changelist")).content.decode()
    assert all(receipt.number in page for receipt in receipts)
    assert "Dolfin Ltd" in page and "Lago SA" in page
    assert f"refund #{receipts[2].refund_id}" in page
    assert reverse("billing:refund_receipt_pdf", args=[receipts[2].refund_id]) in page

    found = listed(admin_client.get(admin_url(Receipt, "changelist"), {"q": receipts[1].number}))
    assert found == [receipts[1]]
    of_refunds = listed(admin_client.get(admin_url(Receipt, "changelist"), {"of": "refund"}))
    assert of_refunds == [receipts[2]]


def test_the_outbox_is_filtered_by_state_topic_and_error(admin_client, documents, settings):
    _, failing = documents
    settings.BILLING_OUTBOX_MAX_ATTEMPTS = 3
    url = admin_url(OutboxMessage, "changelist")

    page = get_ok(admin_client, url).content.decode()
    assert "SMTPServerDisconnected" in page and "ap@dolfin.example" in page

    assert listed(admin_client.get(url, {"state": "failing"})) == [failing]
    assert listed(admin_client.get(url, {"error": "yes"})) == [failing]
    assert listed(admin_client.get(url, {"topic": "email"})) == [failing]
    assert listed(admin_client.get(url, {"state": "given_up"})) == []
    done = listed(admin_client.get(url, {"state": "done"}))
    assert failing not in done and len(done) == OutboxMessage.objects.exclude(done_at=None).count()
    assert all(message.topic == OutboxTopic.RECEIPT for message in done)

    OutboxMessage.objects.filter(pk=failing.pk).update(attempts=3)
    assert listed(admin_client.get(url, {"state": "given_up"})) == [failing]
    assert listed(admin_client.get(url, {"q": "dolfin.example"})) == [failing]


def test_receipts_and_the_outbox_cannot_be_added_changed_or_deleted(admin_client, documents):
    receipts, failing = documents
    before = record_counts()
    for model, record in ((Receipt, receipts[0]), (OutboxMessage, failing)):
        assert admin_client.get(admin_url(model, "add")).status_code == 403
        assert admin_client.get(admin_url(model, "delete", record.pk)).status_code == 403
        change = get_ok(admin_client, admin_url(model, "change", record.pk)).content.decode()
        assert 'name="_save"' not in change and "View " in change
        changelist = get_ok(admin_client, admin_url(model, "changelist")).content.decode()
        assert "delete_selected" not in changelist

    response = admin_client.post(
        admin_url(OutboxMessage, "change", failing.pk),
        {"done_at_0": timezone.localdate().isoformat(), "attempts": "0"},
    )
    assert response.status_code == 403
    response = admin_client.post(admin_url(Receipt, "change", receipts[0].pk), {"number": "X"})
    assert response.status_code == 403
    assert record_counts() == before
    failing.refresh_from_db()
    assert failing.attempts == 2 and failing.done_at is None


def test_staff_who_may_view_billing_see_the_pages(client, django_user_model, documents):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename=permissions.VIEW))
    client.force_login(viewer)
    for model in (Receipt, OutboxMessage):
        get_ok(client, admin_url(model, "changelist"))


def test_the_lists_queries_do_not_grow_with_rows(admin_client, superuser, documents):
    counts = {}
    for model in (Receipt, OutboxMessage):
        admin_client.get(admin_url(model, "changelist"))  # warm up
        with CaptureQueriesContext(connection) as few:
            admin_client.get(admin_url(model, "changelist"))
        counts[model] = len(few)
    for _ in range(4):
        payment = pay(issued_invoice(CustomerFactory(), superuser, "10.00"), superuser, "10.00")
        services.receipt_issue(payment=payment)
    for model in (Receipt, OutboxMessage):
        with CaptureQueriesContext(connection) as many:
            admin_client.get(admin_url(model, "changelist"))
        assert len(many) == counts[model], model.__name__
