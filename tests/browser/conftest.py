"""Browser journeys: Debian's Chromium driven by Playwright against a live server.

Playwright cannot download its own browser here, so it launches the `chromium`
on PATH (make test installs it). Without it the journeys are skipped, except with
CI=true, where that is a failure. Each journey's end state is saved as a
screenshot under test-artifacts/screenshots/ (BROWSER_ARTIFACTS overrides).

Every page a journey opens runs under the site's Content-Security-Policy, and a
journey fails if the browser reports any violation of it (`csp_violations`): an
inline script or style, an eval, a resource from elsewhere.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connection

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls
# are still synchronous, so Django's async-safety guard must not refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", "test-artifacts/screenshots"))
HEADLESS_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true needs the browser journeys.")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=HEADLESS_FLAGS)
        yield browser
        browser.close()


# Each document reports every securitypolicyviolation event to the test at once
# (through a binding, so a report survives the navigation that follows it).
# Listening in the capture phase on the document catches all of them: the event is
# fired at the offending element, or at the document itself (eval).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.reportCspViolation({
    page: document.location.pathname,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
}, true);
"""


@pytest.fixture
def csp_violations():
    """The CSP violations the browser reported during the test (a list, appended to
    as they happen). The test fails at teardown unless it is empty; a test that
    provokes violations on purpose clears it."""
    violations = []
    yield violations
    if violations:
        pytest.fail(
            "Content-Security-Policy violations:\n" + "\n".join(map(str, violations)),
            pytrace=False,
        )


@pytest.fixture
def page(browser, live_server, request, csp_violations):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.expose_binding(
        "reportCspViolation", lambda source, violation: csp_violations.append(violation)
    )
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    # Let refreshes the last action triggered finish: the database is emptied next,
    # and a request still running on the live server would hold its tables.
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{request.node.name}-{connection.vendor}.png", full_page=True)
    context.close()


def sign_in(page, username, password="pw"):
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").wait_for()


def take_payment(page, source):
    """Open the invoice page's "Take payment" dialog, choose ``source`` ("Saved
    card", "Customer credit", "Paid outside") and wait for that source's own
    form to be loaded into it. Returns the dialog."""
    page.get_by_role("link", name="Take payment").click()
    dialog = page.locator("dialog#modal-dialog")
    choice = dialog.get_by_label(source)
    choice.check()
    dialog.locator(f'form#modal-form[hx-post="{choice.get_attribute("hx-get")}"]').wait_for()
    return dialog
