"""billing.middleware.NeverCacheMiddleware: no page is cached, static files are."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db


def assert_never_cached(response):
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "no-cache", "must-revalidate", "private", "max-age=0"} <= directives


@pytest.fixture
def pages(clerk):
    customer = CustomerFactory()
    invoice = issued_invoice(customer, clerk, "10.00")
    return [
        reverse("billing:dashboard"),
        reverse("billing:invoice_list"),
        reverse("billing:invoice_detail", args=[invoice.pk]),
        reverse("billing:invoice_create"),
        reverse("billing:payment_record", args=[invoice.pk]),
        reverse("billing:customer_list"),
        reverse("billing:customer_detail", args=[customer.pk]),
        reverse("billing:payment_list"),
        reverse("billing:credit_note_list"),
        "/admin/",
        "/admin/billing/invoice/",
    ]


def test_every_page_and_region_is_never_cached(client, manager, pages):
    client.force_login(manager)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_never_cached(response)
    region = client.get(pages[1], headers=htmx("invoice-table"))
    assert region.status_code == 200
    assert_never_cached(region)


def test_refusals_redirects_and_the_login_page_are_never_cached(client, nobody, pages):
    assert_never_cached(client.get(reverse("billing:login")))
    assert_never_cached(client.get(pages[0]))  # 302 to the login page
    client.force_login(nobody)
    forbidden = client.get(pages[0])
    assert forbidden.status_code == 403
    assert_never_cached(forbidden)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert_never_cached(missing)


def test_a_response_that_chose_its_caching_keeps_it(client, manager):
    client.force_login(manager)
    response = client.get(reverse("billing:payment_export"))
    assert response["Cache-Control"] == "private, no-store"


def test_static_files_stay_cacheable(settings):
    # Tests run without collectstatic: let whitenoise find the files itself. A new
    # client builds its middleware with this setting.
    settings.WHITENOISE_USE_FINDERS = True
    response = Client().get("/static/js/app.js")
    assert response.status_code == 200
    cache_control = response["Cache-Control"]
    assert "public" in cache_control
    assert "max-age=" in cache_control
    assert "no-store" not in cache_control
    assert "no-cache" not in cache_control
