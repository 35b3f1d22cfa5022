"""Running a command the way a shell or cron runs it, inside a test.

``shell(...)`` goes through ``ManagementUtility``, as ``manage.py`` does: argv is
parsed by argparse (bad usage exits 2), a refusal is printed by Django to stderr
and exits 1, and the exit status is what ``sys.exit`` got. Only the closing of
database connections at the end of a run is held back, since the test's
transaction lives on that connection.
"""

import contextlib
import io
import json
from dataclasses import dataclass
from unittest import mock

from django.core.management import ManagementUtility


@dataclass
class Run:
    status: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)

    def refused(self, code):
        """Exit 1 with ``Refused: <code>: <sentence>`` on stderr."""
        assert self.status == 1, (self.status, self.out, self.err)
        assert self.err.startswith(f"Refused: {code}: "), self.err
        return self


class Terminal(io.StringIO):
    """Output that says it is a terminal, as a person's shell is (a pipe is not)."""

    def isatty(self):
        return True


def shell(*argv, stdin=None, terminal=False):
    out, err = io.StringIO(), Terminal() if terminal else io.StringIO()
    status = 0
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        mock.patch("django.core.management.base.connections.close_all"),
        mock.patch("sys.stdin", io.StringIO(stdin or "")),
    ):
        try:
            ManagementUtility(["manage.py", *map(str, argv)]).execute()
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 1
    return Run(status=status, out=out.getvalue(), err=err.getvalue())


def ok(*argv, **kwargs):
    """``shell`` that must exit 0."""
    run = shell(*argv, **kwargs)
    assert run.status == 0, (run.status, run.out, run.err)
    return run


def refused(code, *argv, **kwargs):
    """``shell`` that must be refused with ``code`` and change nothing: no record
    made, no running total or status moved (tests/helpers.py record_counts and
    the services' tests' snapshot)."""
    from tests.billing.services._refusals import snapshot

    before = snapshot()
    run = shell(*argv, **kwargs).refused(code)
    assert snapshot() == before
    return run
