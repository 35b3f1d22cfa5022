from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from billing.permissions import ensure_groups

        # Permissions exist only after post_migrate, so the ready-made groups are
        # made (and kept up to date) there, not in a data migration.
        post_migrate.connect(ensure_groups, sender=self)

        from billing.middleware import stamp_signed_in_session

        user_logged_in.connect(stamp_signed_in_session, dispatch_uid="billing-session-stamp")
