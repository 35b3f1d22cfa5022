"""Ask for the receipts of payments and refunds that succeeded before receipts
existed (migration 0013): every succeeded payment and refund gets one, and
``check_billing`` finds any that no worker will ever make. The worker numbers
them when it drains the outbox, as it does any other."""

from django.db import migrations

BATCH = 2000


def ask_for_missing_receipts(apps, schema_editor):
    Payment = apps.get_model("billing", "Payment")
    Refund = apps.get_model("billing", "Refund")
    Receipt = apps.get_model("billing", "Receipt")
    OutboxMessage = apps.get_model("billing", "OutboxMessage")
    wanted = OutboxMessage.objects.filter(topic="receipt", done_at__isnull=True)

    def missing(model, link):
        return (
            model.objects.filter(status="succeeded")
            .exclude(pk__in=Receipt.objects.filter(**{f"{link}__isnull": False}).values(link))
            .exclude(pk__in=wanted.filter(**{f"{link}__isnull": False}).values(link))
            .values_list("pk", flat=True)
            .order_by("pk")
        )

    for model, link in ((Payment, "payment"), (Refund, "refund")):
        ids = list(missing(model, link))
        for start in range(0, len(ids), BATCH):
            OutboxMessage.objects.bulk_create(
                OutboxMessage(topic="receipt", **{f"{link}_id": pk})
                for pk in ids[start : start + BATCH]
            )


class Migration(migrations.Migration):
    dependencies = [("billing", "0017_sched_schedules")]

    operations = [migrations.RunPython(ask_for_missing_receipts, migrations.RunPython.noop)]
