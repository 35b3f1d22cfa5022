"""The Idempotency-Key header on every POST, with Stripe's semantics, kept in
billing's own idempotency keys (billing.services._common.ResponseKey):

- the service claims (operation, actor, key) in its transaction, so a refused
  request leaves no key and a retried one records once;
- the key is scoped to the API key (``api<key id>:<client key>``), so two keys of
  one person never share keys, nor with the pages' forms;
- the fingerprint adds the method, path and body, so the same key with another
  body is ``idempotency_conflict`` (409), as is a key whose first request runs;
- the first response (status and body) is written in the operation's
  transaction and a replay answers it unchanged, writing nothing. Charges keep
  none (their outcome is recorded after that transaction): a replay answers the
  payment as it is now.
"""

from typing import Annotated

from ninja import Header, Status

from billing.services._common import ResponseKey

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="A unique key per operation (a UUID); a retry sends the same key.",
    ),
]


class Call:
    """One POST's key: pass ``key`` to the service, then ``answer(result)``."""

    def __init__(self, request, client_key, body, *, status, render, keep=True):
        self.status = status
        self.render = render
        self.body = None
        payload = body.model_dump(mode="json") if body is not None else None
        self.key = ResponseKey(
            f"api{request.api_key.pk}:{client_key}",
            request=dict(method=request.method, path=request.path, body=payload),
            respond=self._respond if keep else lambda result: None,
        )

    def _respond(self, result):
        self.body = self.render(result)
        return self.status, self.body

    def answer(self, result):
        """The kept first response on a replay, else this one's."""
        if self.key.response is not None:
            return Status(*self.key.response)
        if self.body is None:
            self.body = self.render(result)
        return Status(self.status, self.body)
