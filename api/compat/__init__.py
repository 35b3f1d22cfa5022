"""The seeds' payment APIs as their own documents describe them, each mounted
under its own prefix (/compat/lago, /compat/dolfin,
/compat/gohighlevel), so a client configured with
that base URL works unchanged. Each module reads like a translation table:
their field names in, one service call, their field names out, error codes
mapped by one dict. No rule lives here.

An Idempotency-Key header is honoured when sent (their clients do not send one);
the key is scoped to the API key and kept with billing's own keys.
"""

import datetime

from django.utils import timezone

from api.idempotency import Call


def optional_call(request, key, body, *, status, render):
    """A ``Call`` when the client sent an Idempotency-Key, else nothing to pass."""
    if not key:
        return None
    return Call(request, key, body, status=status, render=render)


def day_of(value):
    """A payment date from a date-time (its local day), a date, or None (today)."""
    if value is None:
        return timezone.localdate()
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value
