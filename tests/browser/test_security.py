"""The browser side of the security settings: every back-office and admin page
loads under the Content-Security-Policy with no violation (the `page` fixture fails
a test on any, tests/browser/conftest.py), that check itself catches one, and a
locked-out sign-in shows its page."""

import re

import pytest
from axes.models import AccessLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from moneyed import Money
from playwright.sync_api import expect

from billing import services
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory
from tests.helpers import ADMIN_MODELS as BILLING_MODELS
from tests.helpers import issued_invoice, pay

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def records(superuser):
    """One of every kind of billing record, made through the real services."""
    customer = CustomerFactory()
    services.payment_method_add(
        customer=customer,
        gateway="sandbox",
        token="sandbox_ok",
        brand="Visa",
        last4="4242",
        exp_month=12,
        exp_year=2099,
        actor=superuser,
    )
    invoice = issued_invoice(customer, superuser, "100.00")
    payment = pay(invoice, superuser, "100.00", idempotency_key="csp-test")
    services.credit_note_issue(
        invoice=invoice,
        actor=superuser,
        reason="goodwill",
        to_credit=Money("10.00", "USD"),
        refund=Money("5.00", "USD"),
        refund_payment=payment,
    )
    draft = services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "Later", "quantity": 1, "unit_price": Money("5.00", "USD")}],
        actor=superuser,
    )
    return invoice, draft


def visit(page, url):
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("networkidle")


def test_the_csp_check_catches_an_inline_script_and_an_inline_style(page, csp_violations):
    """The check every journey relies on, proved able to fail: what the policy
    forbids is blocked, and reported."""
    visit(page, reverse("billing:login"))
    ran = page.evaluate(
        """() => {
          window.inlineScriptRan = false;
          const script = document.createElement("script");
          script.textContent = "window.inlineScriptRan = true;";
          document.body.appendChild(script);
          const styled = document.createElement("div");
          styled.innerHTML = '<p style="color: red">styled</p>';
          document.body.appendChild(styled);
          return window.inlineScriptRan;
        }"""
    )
    assert ran is False
    for _ in range(50):  # the reports arrive asynchronously
        if len(csp_violations) >= 2:
            break
        page.wait_for_timeout(50)
    assert {v["directive"] for v in csp_violations} == {"script-src-elem", "style-src-attr"}
    csp_violations.clear()  # provoked on purpose


def test_every_back_office_page_loads_under_the_csp(page, manager, records):
    invoice, draft = records
    sign_in(page, "manager")
    for url in [
        reverse("billing:dashboard"),
        reverse("billing:invoice_list"),
        reverse("billing:invoice_list") + "?status=paid",
        reverse("billing:invoice_detail", args=[invoice.pk]),
        reverse("billing:invoice_create"),
        reverse("billing:invoice_edit", args=[draft.pk]),
        reverse("billing:customer_list"),
        reverse("billing:customer_detail", args=[invoice.customer_id]),
        reverse("billing:payment_list"),
        reverse("billing:credit_note_list"),
    ]:
        visit(page, url)


def test_every_admin_page_loads_under_the_csp(page, superuser, records):
    page.goto("/admin/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    urls = ["/admin/", "/admin/billing/", "/admin/auth/user/", "/admin/auth/group/add/"]
    urls.append(reverse("admin:auth_user_change", args=[superuser.pk]))
    for model in BILLING_MODELS:
        name = model._meta.model_name
        urls.append(reverse(f"admin:billing_{name}_changelist"))
        urls.append(reverse(f"admin:billing_{name}_change", args=[model.objects.first().pk]))
    urls += [
        reverse("admin:billing_customer_add"),
        reverse("admin:billing_paymentmethod_add"),
        # django-axes' records of sign-ins.
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:axes_accesslog_changelist"),
        reverse("admin:axes_accesslog_change", args=[AccessLog.objects.get().pk]),
    ]
    for url in urls:
        visit(page, url)


def test_admin_widgets_work_under_the_csp(page, superuser, records):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()

    # select2 autocomplete
    visit(page, reverse("admin:billing_paymentmethod_add"))
    page.locator(".select2-selection").first.click()
    page.locator(".select2-search__field").fill(records[0].customer.name[:3])
    expect(page.locator(".select2-results__option").first).to_contain_text(
        records[0].customer.name[:3]
    )
    page.locator(".select2-results__option").first.click()

    # calendar and clock
    visit(page, reverse("admin:auth_user_change", args=[superuser.pk]))
    page.locator("#calendarlink0").click()
    page.locator("#calendarbox0 a", has_text="Today").click()
    page.locator("#clocklink0").click()
    page.locator("#clockbox0 a", has_text="Now").click()

    # filter_horizontal
    visit(page, "/admin/auth/group/add/")
    page.locator("#id_permissions_input").fill("invoice")
    page.locator(".selector-chooseall").first.click()

    # changelist: select all, action, filters, date hierarchy
    visit(page, reverse("admin:billing_invoice_changelist"))
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option(index=1)
    page.get_by_role("link", name="Paid").first.click()
    page.wait_for_load_state("networkidle")


def test_repeated_wrong_passwords_lock_signing_in_with_a_clear_page(page, clerk):
    page.goto(reverse("billing:login"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page.get_by_label("Username").fill("clerk")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("div.errorlist")).to_contain_text("correct username and password")
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Signing in is locked")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"locked for 15 minutes"))
    page.get_by_role("link", name="Back to the sign-in page").click()
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signing in is locked")
