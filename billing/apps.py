from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from billing.permissions import ensure_groups

        # Permissions exist only after post_migrate, so the ready-made groups are
        # made (and kept up to date) there, not in a data migration.
        post_migrate.connect(ensure_groups, sender=self)
