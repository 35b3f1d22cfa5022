"""Making and revoking API keys: the back-office page and create_api_key ask these."""

from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, hash_key, new_secret
from billing.errors import BillingError, ErrorCode


def _may_manage(actor, user):
    # A key acts as its user: only that user, or a superuser, may give it out.
    return actor.is_active and actor.is_staff and (actor.pk == user.pk or actor.is_superuser)


@transaction.atomic(durable=True)
def api_key_create(*, user, name, actor):
    """A new key for ``user`` (a staff member). Returns ``(ApiKey, secret)``:
    the secret is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise BillingError(ErrorCode.INVALID_VALUE, "Name the key.", field="name")
    if len(name) > ApiKey._meta.get_field("name").max_length:
        raise BillingError(ErrorCode.INVALID_VALUE, "The name is too long.", field="name")
    if not (user.is_active and user.is_staff):
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"{user.get_username()} is not active staff.", field="user"
        )
    if not _may_manage(actor, user):
        raise BillingError(
            ErrorCode.PERMISSION_DENIED, "Only the user themselves may make their API keys."
        )
    secret = new_secret()
    key = ApiKey.objects.create(
        name=name, user=user, hashed=hash_key(secret), hint=secret[:10], created_by=actor
    )
    return key, secret


@transaction.atomic(durable=True)
def api_key_revoke(*, key, actor):
    """Revoke a key for good: it answers 401 from now on."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if not _may_manage(actor, key.user):
        raise BillingError(ErrorCode.PERMISSION_DENIED, "Only the key's user may revoke it.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked_at", "revoked_by"])
    return key
