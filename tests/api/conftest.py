import itertools
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from api.keys import api_key_create

_keys = itertools.count(1)


class Api:
    """A client that speaks to the API as one key: JSON in, the answer's status
    checked by the caller before its content."""

    def __init__(self, client, secret):
        self.client = client
        self.secret = secret

    def headers(self, idempotency_key=None, **extra):
        headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(extra)
        return headers

    def get(self, path, params=None, **headers):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self.headers(**headers))

    def post(self, path, body=None, *, key="auto", raw=None, **headers):
        if key == "auto":
            key = f"test-{next(_keys)}"
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            f"/api/v1{path}",
            data,
            content_type="application/json",
            headers=self.headers(idempotency_key=key, **headers),
        )


def key_for(user, name="test"):
    return api_key_create(user=user, name=name, actor=user)


@pytest.fixture
def api_as(client):
    def make(user):
        return Api(client, key_for(user)[1])

    return make


@pytest.fixture
def clerk_api(api_as, clerk):
    return api_as(clerk)


@pytest.fixture
def manager_api(api_as, manager):
    return api_as(manager)


@pytest.fixture
def nobody_api(api_as, nobody):
    return api_as(nobody)


def problem_of(response, status, code):
    """The answer is a problem of ``status`` with ``code``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:billing:error:{code}"
    assert body["title"] and body["detail"]
    return body


@pytest.fixture(autouse=True)
def no_known_currencies():
    """The compat shapes remember invoices' currencies per process: each test
    starts knowing none, so none depends on the order tests ran in."""
    from api.compat import forget_currencies

    forget_currencies()
    yield
    forget_currencies()


@pytest.fixture
def keep_the_test_connection():
    """Schemathesis calls the WSGI application itself, whose request signals
    would close the test's database connection mid-transaction; Django's test
    client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
