import hashlib
import secrets

from django.conf import settings
from django.db import models

# "bk_" marks the product's keys in logs and secret scanners; 32 random bytes.
KEY_PREFIX = "bk_"


def hash_key(secret):
    """The stored form of a key. The key is 256 random bits, so a fast hash
    suffices (no dictionary to attack) and lets one indexed lookup find it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret():
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKey(models.Model):
    """A program's key to the API, acting as ``user``.

    Only the key's hash is stored: the key itself is shown once, when made.
    ``user`` is the actor on everything the key does, and their permissions
    apply. A revoked key (``revoked_at``) stays, so what it did still names it.
    ``last_used_at`` is kept to the minute (api.auth), not written on every request.
    """

    name = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    hashed = models.CharField(max_length=64, unique=True)
    # The first characters, so people can tell their keys apart.
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @property
    def is_active(self):
        return self.revoked_at is None
