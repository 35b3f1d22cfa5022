"""Settings of benchmarks/http_pages.py's server: production's (DJANGO_DEBUG=false,
config/settings.py) plus the bare view's URL. Never used outside the benchmark."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.http_urls"

# Static files as in development (no collectstatic, no manifest): the pages' few
# {% static %} URLs cost the same either way.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
