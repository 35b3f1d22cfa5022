from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0012_currency_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="meta",
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
    ]
