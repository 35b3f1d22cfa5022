"""Sign-in throttling (django-axes, billing/lockout.py): after
BILLING_LOGIN_FAILURE_LIMIT failures for a username or from an address, signing in
as it or from there is refused, the right password included, for a while.

Attempts are rows in axes' tables, rolled back with each test like the rest.
"""

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.test import RequestFactory
from django.urls import reverse

from billing.lockout import client_ip
from tests.billing.views.conftest import htmx

pytestmark = pytest.mark.django_db

BACK_OFFICE = reverse("billing:login")
ADMIN = reverse("admin:login")
LIMIT = settings.AXES_FAILURE_LIMIT
HERE = "192.0.2.10"
ELSEWHERE = "198.51.100.20"


def sign_in(client, url, username, password, address=HERE, **headers):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address, headers=headers
    )


def assert_locked_out(response):
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    content = response.content.decode()
    assert "Too many failed sign-ins" in content
    assert "locked for 15 minutes" in content
    assert re.search(r"try again after \d\d:\d\d \S+\.", content)


def assert_signed_in(response, url):
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == (reverse("admin:index") if url == ADMIN else "/")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every attempt here checks a password; the real hasher takes ~0.3 s a time.
    Autouse, so it is in place before the users' passwords are set."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    cool_off = settings.AXES_COOLOFF_TIME
    assert cool_off == datetime.timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


@pytest.mark.parametrize("url", [BACK_OFFICE, ADMIN], ids=["back-office", "admin"])
def test_after_the_limit_even_the_right_password_is_refused(client, superuser, url):
    for _ in range(LIMIT - 1):
        response = sign_in(client, url, "admin", "wrong")
        assert response.status_code == 200  # the form again, with its error
        assert "correct username and password" in response.content.decode()
    assert_locked_out(sign_in(client, url, "admin", "wrong"))

    response = sign_in(client, url, "admin", "pw")
    assert_locked_out(response)
    assert "_auth_user_id" not in client.session


def test_the_lockout_page_is_the_site_s_own(client, superuser):
    for _ in range(LIMIT):
        response = sign_in(client, BACK_OFFICE, "admin", "wrong")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    content = response.content.decode()
    assert "<h1>Signing in is locked</h1>" in content
    assert "/static/css/app.css" in content
    assert f'href="{BACK_OFFICE}"' in content


def test_fifty_wrong_passwords_in_a_row_are_not_all_checked(client, clerk, monkeypatch):
    checked = []
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        checked.append(password)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    statuses = [sign_in(client, BACK_OFFICE, "clerk", f"guess-{n}").status_code for n in range(50)]

    assert statuses == [200] * (LIMIT - 1) + [429] * (50 - LIMIT + 1)
    assert len(checked) == LIMIT  # from then on no password is even looked at
    assert_locked_out(sign_in(client, BACK_OFFICE, "clerk", "pw"))
    assert len(checked) == LIMIT


def test_a_different_user_from_another_address_is_unaffected(client, clerk, manager):
    for _ in range(LIMIT):
        sign_in(client, BACK_OFFICE, "clerk", "wrong")
    assert_locked_out(sign_in(client, BACK_OFFICE, "clerk", "pw"))

    assert_signed_in(sign_in(client, BACK_OFFICE, "manager", "pw", ELSEWHERE), BACK_OFFICE)


def test_username_and_address_are_each_locked_on_their_own(client, clerk, manager):
    for _ in range(LIMIT):
        sign_in(client, BACK_OFFICE, "clerk", "wrong")
    # The username, from anywhere.
    assert_locked_out(sign_in(client, BACK_OFFICE, "clerk", "pw", ELSEWHERE))
    # The address, for anyone.
    assert_locked_out(sign_in(client, BACK_OFFICE, "manager", "pw", HERE))


def test_guessing_across_usernames_locks_the_address(client, manager):
    for n in range(LIMIT):
        assert sign_in(client, BACK_OFFICE, f"user{n}", "password").status_code in (200, 429)
    assert_locked_out(sign_in(client, BACK_OFFICE, "manager", "pw"))
    assert_signed_in(sign_in(client, BACK_OFFICE, "manager", "pw", ELSEWHERE), BACK_OFFICE)


def test_the_lock_lifts_once_the_cool_off_has_passed(client, clerk):
    for _ in range(LIMIT):
        sign_in(client, BACK_OFFICE, "clerk", "wrong")
    assert_locked_out(sign_in(client, BACK_OFFICE, "clerk", "pw"))

    # Fifteen minutes and a second without an attempt.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - datetime.timedelta(minutes=15)
    )
    assert_signed_in(sign_in(client, BACK_OFFICE, "clerk", "pw"), BACK_OFFICE)


def test_signing_in_as_someone_else_does_not_reset_the_count(client, clerk, manager):
    """Guessing a colleague's password between one's own sign-ins gains nothing."""
    for _ in range(LIMIT - 1):
        assert sign_in(client, BACK_OFFICE, "clerk", "wrong").status_code == 200
    assert_signed_in(sign_in(client, BACK_OFFICE, "manager", "pw"), BACK_OFFICE)
    client.post(reverse("billing:logout"))
    assert_locked_out(sign_in(client, BACK_OFFICE, "clerk", "wrong"))
    assert_locked_out(sign_in(client, BACK_OFFICE, "clerk", "pw", ELSEWHERE))


def test_an_htmx_request_is_told_in_plain_text_for_a_toast(client, clerk):
    for _ in range(LIMIT):
        sign_in(client, BACK_OFFICE, "clerk", "wrong")
    response = sign_in(client, BACK_OFFICE, "clerk", "pw", **htmx())
    assert_locked_out(response)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith("Too many failed sign-ins")


def test_signing_in_by_force_login_is_not_throttled(client, clerk):
    """Tests sign in with force_login, which never calls authenticate(): a locked
    username does not stop it."""
    for _ in range(LIMIT):
        sign_in(client, BACK_OFFICE, "clerk", "wrong")
    client.force_login(clerk)
    assert client.get(reverse("billing:dashboard")).status_code == 200


# The address attempts are counted by ---------------------------------------


def request_from(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().post(BACK_OFFICE, REMOTE_ADDR=remote, **extra)


def test_without_a_proxy_the_forwarded_header_is_ignored(settings):
    settings.BEHIND_PROXY = False
    assert client_ip(request_from(HERE, forwarded="203.0.113.9")) == HERE


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        # A client can put anything before the address our proxy appended.
        ("10.9.9.9, 203.0.113.9", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        # Not an address (a port, garbage, nothing): the proxy's, not an error.
        ("203.0.113.9:4711", "10.0.0.1"),
        ("unknown", "10.0.0.1"),
        ("", "10.0.0.1"),
        (None, "10.0.0.1"),
    ],
)
def test_behind_a_proxy_the_address_it_appended_counts(settings, forwarded, expected):
    settings.BEHIND_PROXY = True
    assert client_ip(request_from("10.0.0.1", forwarded)) == expected


def test_behind_a_proxy_clients_are_locked_out_one_by_one(client, settings, clerk, manager):
    settings.BEHIND_PROXY = True
    proxy = "10.0.0.1"
    for _ in range(LIMIT):
        sign_in(client, BACK_OFFICE, "nobody", "wrong", proxy, **{"X-Forwarded-For": HERE})
    locked = sign_in(client, BACK_OFFICE, "clerk", "pw", proxy, **{"X-Forwarded-For": HERE})
    assert_locked_out(locked)
    elsewhere = {"X-Forwarded-For": ELSEWHERE}
    assert_signed_in(sign_in(client, BACK_OFFICE, "clerk", "pw", proxy, **elsewhere), BACK_OFFICE)
