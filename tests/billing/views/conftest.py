import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext


def htmx(target=None, **extra):
    """Request headers of an htmx request aimed at the element ``target``."""
    headers = {"HX-Request": "true", **extra}
    if target:
        headers["HX-Target"] = target
    return headers


def count_queries(client, url, **kwargs):
    """How many queries a page makes (asserting it rendered)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


@pytest.fixture
def staff_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client
