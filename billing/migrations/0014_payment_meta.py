from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0013_receipts_outbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="meta",
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
    ]
