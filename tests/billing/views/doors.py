"""What the fuzz and permission tests share: one request at a time, each in a
savepoint rolled back after it, with a snapshot of the billing tables to tell
whether the request wrote anything, and a server error turned into a failure
that names the request that caused it.

Services open ``transaction.atomic(durable=True)``; inside a test's own
transaction Django allows that only under the atomic blocks Django's TestCase
opens, which it marks ``_from_testcase``. ``rolled_back`` marks its savepoint
the same way, so a service behaves as in any other test.
"""

import contextlib
import traceback
from html.parser import HTMLParser

from django.db import connection, transaction
from django.test import Client

from bank.models import LinePayment, Statement, StatementLine
from billing.integrity import find_disagreements
from billing.models import InvoiceLine
from tests.helpers import ADMIN_MODELS

# Every table a door of the back office may write.
BILLING_MODELS = (*ADMIN_MODELS, InvoiceLine, Statement, StatementLine, LinePayment)


@contextlib.contextmanager
def rolled_back():
    """A savepoint undone afterwards (also when the block raises): each request
    starts from the fixture's records and leaves nothing behind."""
    atomic = transaction.atomic()
    atomic._from_testcase = True  # As Django's TestCase marks its own blocks.
    with atomic:
        yield
        transaction.set_rollback(True)


def snapshot():
    """Every row of every billing table, all columns, in id order (plain SQL:
    the ORM's money fields would make this the slowest part of an example)."""
    rows = {}
    with connection.cursor() as cursor:
        for model in BILLING_MODELS:
            table = connection.ops.quote_name(model._meta.db_table)
            key = connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {key}")
            rows[model.__name__] = cursor.fetchall()
    return rows


def changes(before, after):
    """What differs between two snapshots, per table, for a failure message."""
    lines = []
    for table in before:
        old, new = set(map(repr, before[table])), set(map(repr, after[table]))
        if old != new:
            lines.append(f"{table}: removed {sorted(old - new)!r}, added {sorted(new - old)!r}")
    return "\n".join(lines)


class ServerError(AssertionError):
    """A request answered with a server error; ``__cause__`` is the exception."""


def shorten(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def describe(method, url, data, headers):
    return f"{method} {url} data={shorten(data, 2000)} headers={headers!r}"


def send(client, method, url, data=None, headers=None):
    """``client``'s answer to the request, its streamed body read to the end.

    An exception in the view (or in the middle of a streamed body) or any 5xx
    fails with the request that caused it; the original exception stays the
    cause, so hypothesis tells two different server errors apart."""
    request = describe(method, url, data, headers)
    try:
        response = getattr(client, method.lower())(url, data or {}, headers=headers or {})
        if response.streaming:
            # Read to the end (the test client then signals the request's end
            # itself; response.close() would close the database connection).
            response.body = b"".join(response.streaming_content)
    except Exception as error:
        summary = "".join(traceback.format_exception_only(error)).strip()
        raise ServerError(f"Server error for {request}:\n{summary}") from error
    if response.status_code >= 500:
        raise ServerError(f"{response.status_code} for {request}")
    return response


def signed_in(user):
    """A new client (no cookies, no messages left over) signed in as ``user``."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def assert_records_agree():
    """The invoice identity, the payments' and the balances' totals still hold."""
    disagreements = find_disagreements()
    assert disagreements == [], "\n".join(disagreements)


class FormFields(HTMLParser):
    """The fields a page's forms would post as they are shown: inputs (ticked
    boxes and radios only), selected options and textareas. Submit buttons and
    the CSRF token are left out."""

    def __init__(self):
        super().__init__()
        self.fields = {}
        self._select = None
        self._first_option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields[name] = attrs.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in attrs:
                self.fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if self._select not in self.fields and self._first_option is not None:
                self.fields[self._select] = self._first_option
            self._select = None
        elif tag == "textarea" and self._textarea:
            # A browser drops the newline right after <textarea>.
            text = self.fields[self._textarea]
            self.fields[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None


def form_fields(html):
    parser = FormFields()
    parser.feed(html)
    return parser.fields
