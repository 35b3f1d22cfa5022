"""billing.middleware: no page is cached (static files are); a session ends after
its idle timeout, and use keeps it alive."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.middleware import SessionIdleTimeoutMiddleware
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


# Sessions -------------------------------------------------------------------

DASHBOARD = reverse("billing:dashboard")
REFRESHED_AT = SessionIdleTimeoutMiddleware.REFRESHED_AT


def expiry(client):
    return Session.objects.get(pk=client.session.session_key).expire_date


def nobody_asks_for(client, minutes):
    """As if ``minutes`` passed without a request: the session's expiry and its
    last refresh move that far into the past."""
    before = expiry(client)
    session = client.session
    if REFRESHED_AT in session:
        session[REFRESHED_AT] -= minutes * 60
    session.save()  # this also sets a new expiry: put the old one back, moved
    Session.objects.filter(pk=session.session_key).update(
        expire_date=before - datetime.timedelta(minutes=minutes)
    )


@pytest.fixture
def signed_in(client, clerk):
    client.force_login(clerk)
    assert client.get(DASHBOARD).status_code == 200
    return client


def test_the_idle_timeout_is_thirty_minutes_by_default():
    assert settings.BILLING_SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_a_session_idle_longer_than_the_timeout_is_signed_out(signed_in):
    nobody_asks_for(signed_in, 31)
    response = signed_in.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("billing:login"))


def test_using_the_session_keeps_it_alive(signed_in):
    for _ in range(3):  # 87 minutes in all, never 30 without a request
        nobody_asks_for(signed_in, 29)
        response = signed_in.get(DASHBOARD)
        assert response.status_code == 200
        assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 30 * 60
        left = expiry(signed_in) - timezone.now()
        assert datetime.timedelta(minutes=29) < left <= datetime.timedelta(minutes=30)


def test_the_session_is_saved_at_most_once_a_minute(client, clerk):
    # Signing in saved it; the requests of the next minute write nothing.
    response = client.post(reverse("billing:login"), {"username": "clerk", "password": "pw"})
    assert response.status_code == 302
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(DASHBOARD)
        assert response.status_code == 200
        assert settings.SESSION_COOKIE_NAME not in response.cookies
        assert not [q for q in queries if q["sql"].startswith("UPDATE") and "session" in q["sql"]]


def test_anonymous_visitors_get_no_session(client):
    assert client.get(reverse("billing:login")).status_code == 200
    assert client.get(DASHBOARD).status_code == 302
    assert not Session.objects.exists()
