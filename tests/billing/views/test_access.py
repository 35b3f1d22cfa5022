import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(clerk):
    customer = CustomerFactory()
    invoice = issued_invoice(customer, clerk, "10.00")
    return [
        reverse("billing:dashboard"),
        reverse("billing:invoice_list"),
        reverse("billing:invoice_detail", args=[invoice.pk]),
        reverse("billing:customer_list"),
        reverse("billing:customer_detail", args=[customer.pk]),
        reverse("billing:payment_list"),
        reverse("billing:credit_note_list"),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page_with_next(client, pages):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('billing:login')}?next={url}"


def test_an_anonymous_htmx_request_redirects_the_whole_browser_to_login(client, pages):
    url = pages[1]
    response = client.get(url, headers=htmx("invoice-table", **{"HX-Current-URL": url}))
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('billing:login')}?next={url}"
    assert b"<table" not in response.content


def test_signed_in_users_who_are_not_staff_are_sent_to_login(client, pages):
    user = get_user_model().objects.create_user("customer", password="pw", is_staff=False)
    client.force_login(user)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("billing:login"))


def test_inactive_staff_are_sent_to_login(client, pages, clerk):
    clerk.is_active = False
    clerk.save()
    client.force_login(clerk)
    assert client.get(pages[0]).status_code == 302


def test_staff_without_the_view_permission_get_403_naming_it(client, nobody, pages):
    client.force_login(nobody)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 403
        assert "view billing" in response.content.decode()


def test_an_htmx_403_is_plain_text_for_a_toast(client, nobody, pages):
    client.force_login(nobody)
    response = client.get(pages[1], headers=htmx("invoice-table"))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert "the permission “view billing” is missing" in response.content.decode()


def test_clerks_and_managers_see_every_page(client, clerk, manager, pages):
    for user in (clerk, manager):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == 200, url


def test_unknown_records_are_404(staff_client):
    assert staff_client.get(reverse("billing:invoice_detail", args=[999999])).status_code == 404
    assert staff_client.get(reverse("billing:customer_detail", args=[999999])).status_code == 404


def test_signing_in_leads_to_the_dashboard_and_signing_out_back_to_login(client, clerk):
    page = client.get(reverse("billing:login"))
    assert page.status_code == 200
    assert b'name="password"' in page.content
    response = client.post(reverse("billing:login"), {"username": "clerk", "password": "pw"})
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:dashboard")
    response = client.post(reverse("billing:logout"))
    assert response["Location"] == reverse("billing:login")
    assert client.get(reverse("billing:dashboard")).status_code == 302


def test_the_admin_stays_at_admin(staff_client):
    assert staff_client.get("/admin/").status_code == 200


def test_every_page_carries_csrf_for_htmx_and_loads_htmx_from_static(staff_client):
    content = get_ok(staff_client, reverse("billing:dashboard")).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in content
    assert "/static/django_htmx/htmx-2.min.js" in content
    assert "/static/js/app.js" in content
    assert '<div id="modal"></div>' in content
    # No inline scripts: a strict CSP holds.
    assert "<script>" not in content
    assert "onclick" not in content
