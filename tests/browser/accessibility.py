"""axe-core in the browser journeys: every page and open dialog is checked against
WCAG 2.0/2.1 A and AA and axe's best practices, and must have no violation.

    from tests.browser.accessibility import assert_accessible

    page.goto("/payments/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
    assert_accessible(page)

Check a page once what it shows has arrived (an `expect` first): axe judges the
document as it is at that moment. With a modal dialog open, axe checks the dialog
and skips the page behind it (inert), so check the page on its own as well.

axe-core comes bundled with axe-playwright-python (pinned in pyproject.toml): no
network. It runs in the page through Playwright's evaluate, which the page's
Content-Security-Policy does not govern.
"""

import pytest
from axe_playwright_python.base import AXE_SCRIPT

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}


def axe_run(page):
    """axe's results for the whole document. The library's `Axe.run` would inject
    axe's half a megabyte of script before every run; a page keeps it until the
    next navigation, so the dialogs of one page reuse it."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate("(options) => window.axe.run(document, options)", OPTIONS)


def axe_violations(page, label=""):
    """axe's violations on the page as it is now, as a readable report ("" if none):
    per rule its id, impact and help page; per element its selector, its HTML and
    the fix axe suggests."""
    violations = axe_run(page)["violations"]
    if not violations:
        return ""
    count = sum(len(violation["nodes"]) for violation in violations)
    where = f"{page.url} ({label})" if label else page.url
    lines = [f"axe: {count} element(s) break {len(violations)} rule(s) on {where}"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} [{violation['impact']}]: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            lines.append(f"       {_shorten(node['html'])}")
            for fix in node.get("failureSummary", "").splitlines():
                lines.append(f"       {fix.strip()}")
    return "\n".join(lines)


def assert_accessible(page, label=""):
    """Fail the test if axe finds any violation on the page (or the open dialog)."""
    report = axe_violations(page, label)
    if report:
        pytest.fail(report, pytrace=False)


def _shorten(html, limit=200):
    html = " ".join(html.split())
    return html if len(html) <= limit else html[: limit - 1] + "…"
