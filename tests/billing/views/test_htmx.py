"""billing.views._htmx: the shape every back-office view shares."""

import json

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse, QueryDict
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from billing import permissions
from billing.errors import BillingError, ErrorCode
from billing.views import _htmx
from tests.billing.views.conftest import htmx

pytestmark = pytest.mark.django_db

# A modal as docs/frontend.md says: it extends the modal shell and fills its blocks.
MODAL = """{% extends "billing/modals/base.html" %}{% block modal_title %}Toy{% endblock %}
{% block modal_fields %}{{ form.amount.errors }}{% endblock %}"""
DIALOG = '<dialog id="modal-dialog" class="modal" aria-labelledby="modal-title"'
# Two of the billing permissions, as a template asks for them.
TOY_PERMS = (permissions.RECORD, permissions.REFUND)
PERMS = "".join(
    f"{{% if perms.billing.{codename} %}}{codename} {{% endif %}}" for codename in TOY_PERMS
)
PAGE = """{% extends "base.html" %}{% block content %}<h1>Whole page</h1>
{% partialdef region inline %}<section id="region">{{ value }}</section>{% endpartialdef %}
{% endblock %}"""

TEMPLATES_WITH_TOYS = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {"toy/modal.html": MODAL, "toy/page.html": PAGE, "toy/perms.html": PERMS},
                ),
                "django.template.loaders.filesystem.Loader",
                "django.template.loaders.app_directories.Loader",
            ],
        },
    }
]


class ToyForm(forms.Form):
    amount = forms.CharField()


def make_request(user, method="get", headers=None, data=None):
    request = getattr(RequestFactory(), method)("/toy/", data or {}, headers=headers or {})
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request.htmx = HtmxDetails(request)
    return request


def rendered(response):
    response.render()
    return response.content.decode()


@pytest.fixture(autouse=True)
def toy_templates(settings):
    settings.TEMPLATES = TEMPLATES_WITH_TOYS
    settings.TEMPLATES[0]["DIRS"] = [settings.BASE_DIR / "templates"]


def test_render_page_gives_the_whole_page_without_htmx(clerk):
    response = _htmx.render_page(
        make_request(clerk), "toy/page.html", {"value": 7}, partials=("region",)
    )
    content = rendered(response)
    assert "<h1>Whole page</h1>" in content and '<section id="region">7</section>' in content
    assert "HX-Request" in response["Vary"]


def test_render_page_gives_only_the_targeted_region_to_htmx(clerk):
    request = make_request(clerk, headers=htmx("region"))
    response = _htmx.render_page(request, "toy/page.html", {"value": 7}, partials=("region",))
    assert rendered(response).strip() == '<section id="region">7</section>'
    assert {"HX-Request", "HX-Target"} <= {v.strip() for v in response["Vary"].split(",")}


@pytest.mark.parametrize(
    "headers",
    [
        htmx("somewhere-else"),
        htmx("region", **{"HX-History-Restore-Request": "true"}),
        htmx("region", **{"HX-Boosted": "true"}),
    ],
    ids=["unknown target", "history restore", "boosted"],
)
def test_render_page_gives_the_whole_page_to_other_htmx_requests(clerk, headers):
    request = make_request(clerk, headers=headers)
    response = _htmx.render_page(request, "toy/page.html", {"value": 7}, partials=("region",))
    assert "<h1>Whole page</h1>" in rendered(response)


def test_render_page_pushes_the_canonical_url_only_with_a_region(clerk):
    request = make_request(clerk, headers=htmx("region"))
    response = _htmx.render_page(
        request, "toy/page.html", partials=("region",), push_url="/toy/?a=1"
    )
    assert response["HX-Push-Url"] == "/toy/?a=1"
    response = _htmx.render_page(make_request(clerk), "toy/page.html", push_url="/toy/?a=1")
    assert "HX-Push-Url" not in response


def test_templates_ask_djangos_perms_which_agrees_with_permissions_has(clerk, manager):
    manager.is_active = False
    gone = get_user_model().objects.create_superuser("gone", password="pw", is_active=False)
    shown = {
        user: rendered(_htmx.render_page(make_request(user), "toy/perms.html")).split()
        for user in (clerk, manager, gone)
    }
    assert shown[clerk] == [permissions.RECORD]
    assert shown[manager] == shown[gone] == []
    for user, codenames in shown.items():
        assert codenames == [c for c in TOY_PERMS if permissions.has(user, c)]


def test_render_modal_gives_htmx_the_dialog_and_a_browser_the_page(clerk):
    request = make_request(clerk, headers=htmx("modal"))
    response = _htmx.render_modal(request, "toy/modal.html", {"form": ToyForm()})
    assert response.status_code == 200
    content = rendered(response)
    assert content.startswith(f"{DIALOG}>")
    assert "<html" not in content and '<h2 id="modal-title">Toy</h2>' in content
    content = rendered(
        _htmx.render_modal(make_request(clerk), "toy/modal.html", {"form": ToyForm()})
    )
    assert "<html" in content
    assert f"{DIALOG} open>" in content


def test_form_invalid_answers_422_with_only_the_form_for_htmx(clerk):
    form = ToyForm({"amount": ""})
    form.is_valid()
    request = make_request(clerk, "post", headers=htmx("modal-form"))
    response = _htmx.form_invalid(request, "toy/modal.html", {"form": form})
    assert response.status_code == 422
    content = rendered(response)
    assert content.startswith('<form id="modal-form" method="post" action="/toy/"')
    assert "This field is required." in content and "<dialog" not in content
    response = _htmx.form_invalid(make_request(clerk, "post"), "toy/modal.html", {"form": form})
    assert response.status_code == 422
    assert "<html" in rendered(response)


def test_add_billing_error_puts_a_refusal_on_its_field_or_above_the_form():
    form = ToyForm({"amount": "1"})
    form.is_valid()
    _htmx.add_billing_error(form, BillingError(ErrorCode.OVERPAYMENT, "Too much.", field="amount"))
    _htmx.add_billing_error(form, BillingError(ErrorCode.INVALID_STATE, "Not now.", field="nope"))
    assert form.errors["amount"] == ["Too much."]
    assert form.non_field_errors() == ["Not now."]


def test_modal_action_shows_the_modal_on_get_and_performs_nothing(clerk):
    performed = []
    request = make_request(clerk, headers=htmx("modal"))
    context = {"form": ToyForm(None)}
    response = _htmx.modal_action(request, "toy/modal.html", context, performed.append)
    assert response.status_code == 200 and performed == []
    assert rendered(response).startswith('<dialog id="modal-dialog"')


def test_modal_action_performs_a_valid_post_and_answers_with_what_perform_returns(clerk):
    request = make_request(clerk, "post", data={"amount": "5"})
    context = {"form": ToyForm(request.POST)}
    response = _htmx.modal_action(
        request, "toy/modal.html", context, lambda data: HttpResponse(data["amount"], status=201)
    )
    assert response.status_code == 201 and response.content == b"5"


def test_modal_action_answers_an_invalid_form_with_422_without_performing(clerk):
    performed = []
    request = make_request(clerk, "post", data={"amount": ""})
    context = {"form": ToyForm(request.POST)}
    response = _htmx.modal_action(request, "toy/modal.html", context, performed.append)
    assert response.status_code == 422 and performed == []


@pytest.mark.parametrize("error_code", [False, True])
def test_modal_action_puts_a_refusal_on_the_form_and_answers_422(clerk, error_code):
    def perform(data):
        raise BillingError(ErrorCode.OVERPAYMENT, "Too much.", field="amount")

    request = make_request(clerk, "post", headers=htmx("modal-form"), data={"amount": "5"})
    context = {"form": ToyForm(request.POST)}
    response = _htmx.modal_action(
        request, "toy/modal.html", context, perform, error_code=error_code
    )
    assert response.status_code == 422
    assert context["form"].errors["amount"] == ["Too much."]
    assert "Too much." in rendered(response)
    assert context.get("error_code") == ("overpayment" if error_code else None)


def test_action_done_answers_htmx_with_204_and_events_closing_the_modal_last(clerk):
    request = make_request(clerk, "post", headers=htmx("modal-form"))
    response = _htmx.action_done(
        request,
        message="Payment recorded.",
        redirect_to="/x/",
        events=("invoice-changed", "customer-changed"),
    )
    assert response.status_code == 204
    triggers = json.loads(response["HX-Trigger"])
    assert list(triggers) == ["invoice-changed", "customer-changed", "showMessage", "closeModal"]
    assert triggers["showMessage"] == {"text": "Payment recorded.", "level": "success"}
    assert list(get_messages(request)) == []


def test_a_toast_quoting_what_people_typed_carries_no_html_in_its_header(clerk):
    request = make_request(clerk, "post", headers=htmx("modal-form"))
    name = '<img src=x onerror="alert(1)"> & Sons'
    response = _htmx.action_done(request, message=f"Recorded on {name}.", redirect_to="/x/")
    assert response.status_code == 204
    header = response["HX-Trigger"]
    assert not {"<", ">", "&"} & set(header), header
    assert "\\u003Cimg" in header
    triggers = json.loads(header)
    assert triggers["showMessage"]["text"] == f"Recorded on {name}."
    assert list(triggers) == ["invoice-changed", "showMessage", "closeModal"]


def test_action_done_redirects_a_plain_post_with_a_message(clerk):
    request = make_request(clerk, "post")
    response = _htmx.action_done(request, message="Payment recorded.", redirect_to="/invoices/1/")
    assert response.status_code == 302 and response["Location"] == "/invoices/1/"
    assert [str(m) for m in get_messages(request)] == ["Payment recorded."]


def test_permission_or_403_answers_403_naming_the_missing_permission(clerk, manager):
    @_htmx.permission_or_403(permissions.REFUND)
    def refund(request):
        return HttpResponse("refunded")

    response = refund(make_request(clerk, "post"))
    assert response.status_code == 403
    assert "the permission “refund payments” is missing" in rendered(response)
    response = refund(make_request(clerk, "post", headers=htmx("modal-form")))
    assert response.status_code == 403 and response["Content-Type"].startswith("text/plain")
    assert refund(make_request(manager, "post")).content == b"refunded"


def test_list_url_is_the_path_with_the_filters_and_the_cursor(clerk):
    request = make_request(clerk)
    assert _htmx.list_url(request, QueryDict()) == "/toy/"
    url = _htmx.list_url(request, QueryDict("status=open"), {"after": "12"})
    assert url == "/toy/?status=open&after=12"
