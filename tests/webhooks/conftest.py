import json

import pytest
from standardwebhooks import Webhook
from werkzeug import Response

from webhooks import services
from webhooks.models import EventType


class Receiver:
    """A real HTTP receiver on loopback (pytest-httpserver) that verifies every
    request's signature with the standardwebhooks library, as a customer would,
    and answers ``status`` (a list: one per request, the last one repeated)."""

    def __init__(self, httpserver, secrets):
        self.httpserver = httpserver
        self.secrets = secrets
        self.received = []  # (headers, payload) of each verified request
        self.unverified = []
        self.statuses = [204]
        httpserver.expect_request("/hooks", method="POST").respond_with_handler(self.handle)

    @property
    def url(self):
        return self.httpserver.url_for("/hooks")

    def handle(self, request):
        body = request.get_data()
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, dict(request.headers))
            except Exception as error:
                self.unverified.append((secret, repr(error)))
                continue
            self.received.append((dict(request.headers), payload))
        index = min(len(self.received) + len(self.unverified) - 1, len(self.statuses) - 1)
        return Response(json.dumps({"ok": True}), status=self.statuses[max(index, 0)])

    def types(self):
        return [payload["type"] for _, payload in self.received]


@pytest.fixture
def receiver(httpserver):
    return Receiver(httpserver, secrets=[])


@pytest.fixture
def endpoint(manager, receiver):
    """An endpoint for every event type, pointed at ``receiver``, whose secret the
    receiver verifies with."""
    endpoint, secret = services.endpoint_create(
        url=receiver.url, event_types=EventType.values, actor=manager
    )
    receiver.secrets.append(secret)
    return endpoint
