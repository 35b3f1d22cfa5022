from django.db import models

from billing.models._base import actor_field


class IdempotencyKey(models.Model):
    """A client's key for one operation, so a retried request records once.

    (operation, created_by, key) is unique: a key is its actor's, so another
    person's same key is simply another key and never replays their result.
    ``fingerprint`` hashes the request's arguments: the
    same key with another request is refused. ``result_model``/``result_id`` name
    the record the first request returned. The row is written in the operation's
    own transaction, so a refused operation leaves no key behind.
    ``response_status``/``response_body`` keep the API's first response
    (``services._common.ResponseKey``), written in that same transaction.
    """

    operation = models.CharField(max_length=50)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    result_model = models.CharField(max_length=100)
    result_id = models.BigIntegerField(null=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["operation", "created_by", "key"], name="idempotency_key_unique_per_actor"
            ),
        ]

    def __str__(self):
        return f"{self.operation}:{self.key}"
