"""The outbox: what an operation asks of the worker survives a lost task and a
crash mid-task, and a rolled-back operation asks nothing."""

import datetime
from io import StringIO

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from billing import services
from billing.models import InvoiceEvent, OutboxMessage, Receipt
from billing.services import _common, documents, payments
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db
def test_a_lost_task_is_enqueued_again_by_the_sweep(clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    # The test's transaction never commits: the payment's task is never enqueued,
    # as if the process died right after the commit.
    payment = pay(invoice, clerk, "10.00")
    message = OutboxMessage.objects.get(payment=payment)
    assert message.done_at is None and not Receipt.objects.exists()

    # Too young to be called lost: its task may still be on its way.
    assert services.outbox_sweep() == 0
    assert services.outbox_sweep(older_than=timezone.timedelta(0)) == 1

    assert Receipt.objects.get(payment=payment).number.endswith("-000001")
    message.refresh_from_db()
    assert message.done_at is not None
    assert services.outbox_sweep(older_than=timezone.timedelta(0)) == 0


@pytest.mark.django_db
def test_a_worker_dying_mid_task_gives_its_number_back_and_the_sweep_finishes(
    clerk, settings, monkeypatch
):
    settings.BILLING_EMAIL_RECEIPTS = True
    invoice = issued_invoice(CustomerFactory(email="payer@example.com"), clerk, "100.00")
    payment = pay(invoice, clerk, "10.00")

    def killed(*args):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(documents, "_email_receipt_automatically", killed)
        with pytest.raises(RuntimeError):
            services.outbox_handle(OutboxMessage.objects.get(payment=payment).pk)
    assert not Receipt.objects.exists()

    assert services.outbox_sweep(older_than=timezone.timedelta(0)) >= 1
    # The number the dead task took was given back with its transaction.
    assert Receipt.objects.get(payment=payment).number.endswith("-000001")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_payment_asks_for_nothing(clerk, monkeypatch, settings):
    settings.TASKS = DATABASE_BACKEND
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    before = record_counts(), DBTaskResult.objects.count()

    def fails(*args, **kwargs):
        raise RuntimeError("the database went away")

    # An overpayment to credit takes the ORM path: its outbox row is written, then
    # the operation fails after it and rolls back.
    monkeypatch.setattr(payments, "balance_move", fails)
    with pytest.raises(RuntimeError):
        pay(invoice, clerk, "150.00", excess_to_credit=True)

    assert (record_counts(), DBTaskResult.objects.count()) == before
    assert not OutboxMessage.objects.exists() and not Receipt.objects.exists()


def run_database_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_makes_the_receipt_of_a_committed_payment(clerk, settings):
    settings.TASKS = DATABASE_BACKEND
    settings.BILLING_OUTBOX_DRAIN_DELAY_SECONDS = 0
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    payment = pay(invoice, clerk, "25.00")
    # Committed: a drain task waits in the database for a worker.
    assert DBTaskResult.objects.get().task_path == "billing.tasks.outbox_drain"
    assert not Receipt.objects.exists()

    run_database_worker()

    assert Receipt.objects.get(payment=payment).number.endswith("-000001")
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert OutboxMessage.objects.get(payment=payment).done_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_payments_enqueues_one_drain_that_makes_every_receipt(clerk, settings):
    settings.TASKS = DATABASE_BACKEND
    settings.BILLING_OUTBOX_DRAIN_DELAY_SECONDS = 60
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    paid = [pay(invoice, clerk, amount) for amount in ("10.00", "20.00", "30.00")]
    # The outbox rows are the promise; one task wakes a worker for all three.
    assert OutboxMessage.objects.filter(done_at=None).count() == 3
    drain = DBTaskResult.objects.get()
    assert drain.task_path == "billing.tasks.outbox_drain"
    assert drain.run_after > timezone.now() + datetime.timedelta(seconds=50)

    run_database_worker()  # too early: the drain waits for the burst
    assert not Receipt.objects.exists()
    DBTaskResult.objects.update(run_after=timezone.now())
    run_database_worker()

    receipts = Receipt.objects.order_by("number")
    assert [r.payment for r in receipts] == paid
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert not OutboxMessage.objects.filter(done_at=None).exists()


@pytest.mark.django_db(transaction=True)
def test_a_payment_after_the_queued_drain_may_have_started_gets_its_own(
    clerk, settings, monkeypatch
):
    settings.TASKS = DATABASE_BACKEND
    settings.BILLING_OUTBOX_DRAIN_DELAY_SECONDS = 60
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    pay(invoice, clerk, "10.00")
    pay(invoice, clerk, "10.00")
    assert DBTaskResult.objects.count() == 1

    # Past half the delay the queued drain may start before the next commit.
    later = timezone.now() + datetime.timedelta(seconds=31)
    monkeypatch.setattr(_common.timezone, "now", lambda: later)
    pay(invoice, clerk, "10.00")
    assert DBTaskResult.objects.count() == 2


@pytest.mark.django_db
def test_the_drain_handles_every_pending_row_and_leaves_a_failed_one_to_the_sweep(
    clerk, settings, monkeypatch
):
    settings.BILLING_EMAIL_RECEIPTS = True
    invoice = issued_invoice(CustomerFactory(email="payer@example.com"), clerk, "100.00")
    # The test's transaction never commits: no task runs; the rows wait.
    first, second = pay(invoice, clerk, "10.00"), pay(invoice, clerk, "20.00")
    assert OutboxMessage.objects.filter(done_at=None).count() == 2

    def refused(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    with monkeypatch.context() as patch:
        patch.setattr(EmailMessage, "send", refused)
        # Two receipts, then the two e-mails they asked for (which fail).
        assert services.outbox_drain(batch=1) == 4
    assert [r.payment for r in Receipt.objects.order_by("number")] == [first, second]
    failed = OutboxMessage.objects.filter(done_at=None)
    assert [(m.topic, m.attempts) for m in failed] == [("email", 1), ("email", 1)]

    # The drain tries only rows never tried; the sweep sends them later.
    assert services.outbox_drain() == 0
    assert services.outbox_sweep(older_than=timezone.timedelta(0)) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["payer@example.com"] * 2
    assert not OutboxMessage.objects.filter(done_at=None).exists()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_command_enqueues_a_lost_task_again_for_the_worker(clerk, settings):
    settings.TASKS = DATABASE_BACKEND
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    payment = pay(invoice, clerk, "5.00")
    DBTaskResult.objects.all().delete()  # the task was lost

    out = StringIO()
    call_command("outbox_sweep", "--older-than", "0", stdout=out)
    assert out.getvalue().strip() == "enqueued 1 outbox row(s) again."
    assert DBTaskResult.objects.count() == 1
    run_database_worker()
    assert Receipt.objects.get().payment == payment


@pytest.mark.django_db
def test_a_failed_send_is_counted_and_sent_by_the_sweep_later(
    clerk, monkeypatch, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(CustomerFactory(email="ap@example.com"), clerk, "100.00")

    def refused(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    with monkeypatch.context() as patch, django_capture_on_commit_callbacks(execute=True):
        patch.setattr(EmailMessage, "send", refused)
        message = services.document_email(document=invoice, actor=clerk)
    # The task failed (the backend keeps its error); the row kept count and why.
    message.refresh_from_db()
    assert (message.attempts, message.done_at) == (1, None)
    assert "SMTP server down" in message.last_error
    assert mail.outbox == []
    assert not InvoiceEvent.objects.filter(kind="document_emailed").exists()

    assert services.outbox_sweep(older_than=timezone.timedelta(0)) == 1
    assert [m.to for m in mail.outbox] == [["ap@example.com"]]
    message.refresh_from_db()
    assert message.done_at is not None and message.attempts == 2


@pytest.mark.django_db
def test_the_sweep_leaves_a_row_that_failed_too_often_for_a_person(clerk, settings):
    settings.BILLING_OUTBOX_MAX_ATTEMPTS = 3
    invoice = issued_invoice(CustomerFactory(email="ap@example.com"), clerk, "100.00")
    message = services.document_email(document=invoice, actor=clerk)
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=3)
    assert services.outbox_sweep(older_than=timezone.timedelta(0)) == 0
    assert mail.outbox == []
