"""Middleware of the back office (config/settings.py MIDDLEWARE)."""

import time

from django.contrib.auth import SESSION_KEY
from django.utils.cache import add_never_cache_headers


class NeverCacheMiddleware:
    """``Cache-Control: no-store`` (with ``no-cache``, ``must-revalidate``,
    ``private``, ``max-age=0``) on every response that does not set its own.

    Every page shows customers' money: no browser cache, shared proxy or back
    button after signing out may keep a copy. A response that chose its caching
    (the CSV exports, the admin's ``never_cache``) keeps it. Static files never
    reach this: whitenoise answers them earlier in ``MIDDLEWARE``, with its own
    long-lived headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class SessionIdleTimeoutMiddleware:
    """Keep a signed-in session alive while it is used: it ends after
    ``SESSION_COOKIE_AGE`` (``BILLING_SESSION_IDLE_MINUTES``) without a request.

    Each save moves the session's expiry, in the database and in the cookie,
    ``SESSION_COOKIE_AGE`` ahead. ``SESSION_SAVE_EVERY_REQUEST`` would do that on
    every request, at the price of one more transaction (an UPDATE of
    django_session and its commit) on each; this saves at most once every
    ``REFRESH_SECONDS`` per session, so the timeout falls between
    ``SESSION_COOKIE_AGE - REFRESH_SECONDS`` and ``SESSION_COOKIE_AGE`` after the
    last request. Anonymous visitors' sessions are left alone (never created).
    Listed after SessionMiddleware, so SessionMiddleware saves what this marks.
    Signing in stamps the session too (``stamp_signed_in_session``): the sign-in
    saves it anyway, and the requests of the next minute then write nothing.
    """

    REFRESH_SECONDS = 60
    REFRESHED_AT = "_billing_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = request.session
        # A visitor without a session cookie costs no query here.
        if session.session_key is not None and SESSION_KEY in session:
            now = int(time.time())
            if now - session.get(self.REFRESHED_AT, 0) >= self.REFRESH_SECONDS:
                session[self.REFRESHED_AT] = now  # modified: SessionMiddleware saves it
        return response


def stamp_signed_in_session(sender, request, user, **kwargs):
    """``user_logged_in``: the session is about to be saved with a fresh expiry, so
    the next refresh is due in a minute, not on the next request."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SessionIdleTimeoutMiddleware.REFRESHED_AT] = int(time.time())
