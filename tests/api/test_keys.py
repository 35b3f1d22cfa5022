"""API keys: stored hashed, shown once, acting as their staff user; revoked,
unknown or missing keys and browser sessions are 401."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.models import ApiKey
from tests.api.conftest import Api, key_for, problem_of
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_its_hash(clerk):
    key, secret = key_for(clerk)
    assert secret.startswith("bk_") and len(secret) > 40
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert secret not in [str(value) for value in stored.values()]
    assert stored["hashed"] == hashlib.sha256(secret.encode()).hexdigest()


def test_a_valid_key_acts_as_its_user_and_notes_its_last_use(client, clerk):
    key, secret = key_for(clerk)
    assert key.last_used_at is None
    response = Api(client, secret).get("/invoices")
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer bk_not-a-key", "Basic Y2xlcms6cHc=", "Bearer ", "bk_no_scheme"],
)
def test_a_missing_or_unknown_key_is_401(client, clerk, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/invoices", headers=headers)
    problem_of(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_is_401(client, clerk):
    key, secret = key_for(clerk)
    from api.keys import api_key_revoke

    api_key_revoke(key=key, actor=clerk)
    problem_of(Api(client, secret).get("/invoices"), 401, "authentication_failed")


def test_a_key_of_a_deactivated_or_non_staff_user_is_401(client, clerk):
    _, secret = key_for(clerk)
    clerk.is_active = False
    clerk.save()
    problem_of(Api(client, secret).get("/invoices"), 401, "authentication_failed")
    clerk.is_active, clerk.is_staff = True, False
    clerk.save()
    problem_of(Api(client, secret).get("/invoices"), 401, "authentication_failed")


def test_a_browser_session_does_not_authenticate_the_api(client, clerk):
    client.force_login(clerk)
    problem_of(client.get("/api/v1/invoices"), 401, "authentication_failed")
    response = client.post("/api/v1/invoices/1/payments", "{}", content_type="application/json")
    assert response.status_code in (400, 401)
    assert response["Content-Type"] == "application/problem+json"


def test_create_api_key_prints_a_working_key(client, clerk, capsys):
    call_command("create_api_key", "--user", "clerk", "--name", "ERP")
    secret = capsys.readouterr().out.strip()
    assert ApiKey.objects.get(user=clerk).name == "ERP"
    assert Api(client, secret).get("/invoices").status_code == 200


def test_create_api_key_refuses_unknown_and_non_staff_users(db):
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_key", "--user", "ghost")
    get_user_model().objects.create_user("outsider", password="pw")
    with pytest.raises(CommandError, match="not active staff"):
        call_command("create_api_key", "--user", "outsider")
    assert not ApiKey.objects.exists()


def test_the_keys_page_shows_a_new_key_once_and_revokes_it(client, clerk):
    client.force_login(clerk)
    url = reverse("api:key_list")
    page = client.get(url)
    assert page.status_code == 200
    assert "You have no API keys" in page.content.decode()

    created = client.post(url, {"name": "ERP sync"})
    assert created.status_code == 200
    key = ApiKey.objects.get(user=clerk)
    secret = created.context["secret"]
    assert secret in created.content.decode()
    assert key.hashed == hashlib.sha256(secret.encode()).hexdigest()

    again = client.get(url)
    assert again.status_code == 200
    assert secret not in again.content.decode()
    assert "ERP sync" in again.content.decode() and key.hint in again.content.decode()

    revoked = client.post(url, {"revoke": key.pk})
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == clerk
    problem_of(Api(client, secret).get("/invoices"), 401, "authentication_failed")


def test_the_keys_page_refuses_a_nameless_key_and_others_keys(client, clerk, manager):
    client.force_login(clerk)
    response = client.post(reverse("api:key_list"), {"name": " "})
    assert response.status_code == 422
    assert not ApiKey.objects.exists()
    others, _ = key_for(manager)
    assert client.post(reverse("api:key_list"), {"revoke": others.pk}).status_code == 404
    others.refresh_from_db()
    assert others.revoked_at is None


def test_the_user_menu_links_the_keys_page(client, clerk):
    client.force_login(clerk)
    page = client.get(reverse("billing:dashboard"))
    assert page.status_code == 200
    assert reverse("api:key_list") in page.content.decode()


def test_the_key_s_query_brings_its_user_s_permissions_read_anew_each_request(client, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk, "100.00")
    api = Api(client, key_for(clerk)[1])
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/invoices/{invoice.pk}")
    assert response.status_code == 200
    # One query reads the permissions: the key's own, with its user.
    reads = [q["sql"] for q in queries.captured_queries if "auth_permission" in q["sql"]]
    assert len(reads) == 1 and "api_apikey" in reads[0]

    clerk.groups.clear()  # taken away: the next request knows
    response = api.get(f"/invoices/{invoice.pk}")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
