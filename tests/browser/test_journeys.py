"""The journeys billing staff make, in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_sign_in_and_land_on_the_dashboard(page, manager):
    sign_in(page, "manager")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.get_by_role("link", name="Invoices")).to_be_visible()
