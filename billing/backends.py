"""The authentication backend (config/settings.py AUTHENTICATION_BACKENDS)."""

import functools

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import router
from django.db.models import OuterRef, Q, StringAgg, Subquery, Value
from django.db.models.functions import Concat

# Between permission names in ``permission_names``; no name holds it.
SEPARATOR = "\n"


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, reading a user's permissions in one query, and for a
    signed-in request's user in the query that reads the user.

    Every back-office request asks for a permission (``staff_required``, the
    page's buttons), and Django's backend answers the first ask of a request
    with two queries, the user's own permissions and their groups'. This reads
    both in one ``UNION``: the same set, kept on the user for the rest of the
    request as Django keeps it (``_perm_cache``), one round trip fewer per page.
    Superusers, inactive users and per-object checks are Django's own.
    """

    def get_user(self, user_id):
        """The signed-in user of a request (read from its session), with their
        permissions in the same query (``permission_names``): a page asks
        for one in ``staff_required`` anyway, and it costs no second round trip.
        Read anew on each request, so a permission taken away counts at once."""
        User = get_user_model()
        try:
            user_id = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        sql, params = _user_query(router.db_for_read(User))
        params = [user_id if param == _USER_ID else param for param in params]
        user = next(iter(User._default_manager.raw(sql, params)), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        keep_permissions(user, user._permission_names)
        return user

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


# Stands for the user's id in the query compiled once (a value no id takes).
_USER_ID = -2_013_265_921


@functools.cache
def _user_query(alias):
    """``get_user``'s query, compiled by the ORM once per database: compiling the
    subquery on every request cost about 2 ms of CPU, more than the round trip
    it saves (benchmarks/README.md, http_pages.py)."""
    User = get_user_model()
    query = User._default_manager.annotate(_permission_names=permission_names("pk")).filter(
        pk=_USER_ID
    )
    return query.query.get_compiler(using=alias).as_sql()


def permission_names(user_field):
    """A subquery of the permissions (own and groups') of the user whose id is the
    outer query's ``user_field``, as text ``ModelBackend`` reads with
    ``keep_permissions``: a query that reads the user anyway (``api.auth``'s key
    lookup) brings them along, and the request asks no second query."""
    names = (
        Permission.objects.filter(
            Q(user=OuterRef(user_field)) | Q(group__user=OuterRef(user_field))
        )
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(
            names=StringAgg(
                Concat("content_type__app_label", Value("."), "codename"), Value(SEPARATOR)
            )
        )
        .values("names")
    )
    return Subquery(names)


def keep_permissions(user, names):
    """Give ``user`` the permissions ``permission_names`` read, as
    ``ModelBackend.get_all_permissions`` keeps them for the request (the cases
    it leaves to Django, superusers and inactive users, are left alone)."""
    if user.is_active and not user.is_superuser:
        user._perm_cache = set(names.split(SEPARATOR)) if names else set()
