"""Middleware of the back office (config/settings.py MIDDLEWARE)."""

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
