"""The security settings as a client sees them: the Content-Security-Policy header.

The browser side (no page violates the policy) is tests/browser/test_security.py.
"""

import re

import pytest
from django.urls import reverse

from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"^'nonce-[A-Za-z0-9_-]{22}'$")


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    return {
        name: sources
        for name, *sources in (part.split() for part in header.split(";") if part.strip())
    }


def assert_strict(response):
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    for name in ("script-src", "style-src"):
        # Our own origin, and at most this response's nonce: never 'unsafe-inline',
        # 'unsafe-eval' or another host.
        self_, *nonce = directives[name]
        assert self_ == "'self'", directives[name]
        assert len(nonce) <= 1 and all(NONCE.match(n) for n in nonce), directives[name]
    return directives


@pytest.fixture
def invoice(clerk):
    return issued_invoice(CustomerFactory(), clerk, "10.00")


def test_every_kind_of_response_carries_the_strict_policy(client, manager, invoice):
    assert_strict(client.get(reverse("billing:login")))
    assert_strict(client.get("/admin/login/"))
    client.force_login(manager)
    for url in (
        reverse("billing:dashboard"),
        reverse("billing:invoice_detail", args=[invoice.pk]),
        reverse("billing:payment_export"),
        "/admin/",
        "/no-such-page/",
    ):
        assert_strict(client.get(url))
    region = client.get(reverse("billing:invoice_list"), headers=htmx("invoice-table"))
    assert region.status_code == 200
    assert_strict(region)


def test_the_nonce_is_fresh_per_response_and_is_the_one_the_page_uses(client):
    first = client.get(reverse("billing:login"))
    second = client.get(reverse("billing:login"))
    (nonce,) = policy(first)["script-src"][1:]
    assert nonce != policy(second)["script-src"][1]
    # The one script tag given it (htmx, from static like the rest) carries it.
    assert f'nonce="{nonce[7:-1]}"' in first.content.decode()


def test_the_benchmark_s_bare_view_is_not_a_production_url(client):
    """benchmarks/http_urls.py adds a view that writes payments with no sign-in;
    only the benchmark's own settings mount it."""
    from django.urls import Resolver404, resolve

    with pytest.raises(Resolver404):
        resolve("/bench/bare-payment/1/")
    assert client.post("/bench/bare-payment/1/").status_code == 404
