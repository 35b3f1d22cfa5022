"""The authentication backend (config/settings.py AUTHENTICATION_BACKENDS)."""

from django.contrib.auth import backends
from django.contrib.auth.models import Permission


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, reading a user's permissions in one query.

    Every back-office request asks for a permission (``staff_required``, the
    page's buttons), and Django's backend answers the first ask of a request
    with two queries, the user's own permissions and their groups'. This reads
    both in one ``UNION``: the same set, kept on the user for the rest of the
    request as Django keeps it (``_perm_cache``), one round trip fewer per page.
    Superusers, inactive users and per-object checks are Django's own.
    """

    def get_all_permissions(self, user_obj, obj=None):
        if (
            not user_obj.is_active
            or user_obj.is_anonymous
            or obj is not None
            or user_obj.is_superuser
        ):
            return super().get_all_permissions(user_obj, obj=obj)
        if not hasattr(user_obj, "_perm_cache"):
            fields = ("content_type__app_label", "codename")
            own = Permission.objects.filter(user=user_obj).values_list(*fields).order_by()
            grouped = Permission.objects.filter(group__user=user_obj).values_list(*fields)
            rows = own.union(grouped.order_by()).order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
