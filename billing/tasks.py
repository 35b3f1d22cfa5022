"""Background work, on Django's tasks framework (settings.TASKS).

A task carries at most an outbox row's id: the row, written in the operation's
transaction, is what must not be lost (billing/services/documents.py).
"""

from django.tasks import task

from billing import services


@task
def outbox_handle(message_id):
    return services.outbox_handle(message_id)


@task
def outbox_drain():
    return services.outbox_drain()
