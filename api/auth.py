"""API keys as the only way in: a browser's session never authenticates the API,
so no page's cookie can be replayed against it (and no CSRF token is needed)."""

import datetime

from django.utils import timezone
from ninja.security import APIKeyHeader, HttpBearer

from api.models import ApiKey, hash_key
from billing.backends import keep_permissions, permission_names

# last_used_at is shown to the minute; writing it on every request would add a
# statement to each, so it is written when it moved by more than this.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)


def authenticate_key(request, secret):
    """The key's user (active staff) for a valid, unrevoked key, else None (401).
    The key is kept on the request: it scopes idempotency keys."""
    if not secret:
        return None
    # The user and their permissions come with the key: one query a request.
    key = (
        ApiKey.objects.select_related("user")
        .annotate(permissions=permission_names("user"))
        .filter(hashed=hash_key(secret), revoked_at__isnull=True)
        .first()
    )
    if key is None or not (key.user.is_active and key.user.is_staff):
        return None
    keep_permissions(key.user, key.permissions)
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    request.api_key = key
    return key.user


class BearerKey(HttpBearer):
    def authenticate(self, request, token):
        return authenticate_key(request, token.strip())


class DolfinKey(APIKeyHeader):
    """Dolfin's clients send the key in their own header."""

    param_name = "x-dolfin-api-key"

    def authenticate(self, request, key):
        return authenticate_key(request, (key or "").strip())
