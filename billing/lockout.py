"""Sign-in throttling's two hooks into django-axes (config/settings.py, AXES_*):
the address attempts are counted by, and what a locked-out sign-in is answered.
"""

import ipaddress

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

STATUS = 429  # Too Many Requests


def client_ip(request):
    """The address a sign-in attempt comes from (``AXES_CLIENT_IP_CALLABLE``).

    ``REMOTE_ADDR``, unless the app is behind a proxy (``DJANGO_BEHIND_PROXY``):
    then ``REMOTE_ADDR`` is the proxy's, the same for everyone, and the client's is
    the last ``X-Forwarded-For`` entry, the one our proxy appended (a client can put
    anything before it, nothing after). Anything that is not an IP address counts
    as the proxy's address rather than break the sign-in.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return remote


def lockout_message():
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    until = timezone.localtime() + settings.AXES_COOLOFF_TIME
    return (
        f"Too many failed sign-ins for this username or from this address. Signing in "
        f"is locked for {minutes} minutes: try again after {until:%H:%M %Z}. Each attempt "
        f"before then starts the {minutes} minutes again. If you have forgotten your "
        f"password, ask an administrator."
    )


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out sign-in gets (``AXES_LOCKOUT_CALLABLE``), the right
    password included: 429 with a page saying why and for how long, or the same
    words as plain text for htmx (shown as a toast). Either sign-in page, the back
    office's or the admin's."""
    message = lockout_message()
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if getattr(request, "htmx", None):
        response = HttpResponse(message, status=STATUS, content_type="text/plain; charset=utf-8")
    else:
        response = render(
            request, "registration/locked_out.html", {"message": message}, status=STATUS
        )
    response["Retry-After"] = retry_after
    return response
