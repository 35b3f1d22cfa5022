from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.shortcuts import resolve_url
from django.urls import URLResolver, get_resolver, reverse
from moneyed import Money

from bank.models import StatementLine
from bank.services import statement_import
from billing import permissions, services
from billing.models import PaymentStatus
from tests.billing.views.conftest import htmx
from tests.billing.views.doors import rolled_back, send, signed_in
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay
from webhooks import services as webhooks

pytestmark = pytest.mark.django_db


# Who may open which page is the permission matrix's (at the end of this
# module); here the answers it does not vary.


def test_an_anonymous_htmx_request_redirects_the_whole_browser_to_login(client):
    url = reverse("billing:invoice_list")
    response = client.get(url, headers=htmx("invoice-table", **{"HX-Current-URL": url}))
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('billing:login')}?next={url}"
    assert b"<table" not in response.content


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


# -- the permission matrix: every route × every kind of user ------------------------------

P = permissions


@dataclass(frozen=True)
class Route:
    """What a route of the "billing" namespace needs, and what fills its URL."""

    needs: tuple = ()  # The billing permissions, all required (after staff and active).
    # page (GET), action (GET and POST), export and download (GET only), public
    kind: str = "page"
    pk: str | None = None  # The record of ``matrix_records`` whose id is <pk>.
    currency: str | None = None


# THE table: every route of billing/urls.py and the permission it needs
# (billing/permissions.py). A route missing here fails
# test_every_billing_route_is_in_the_permission_table: a new view comes with
# its entry, and the matrix then checks that it asks for it.
ROUTES = {
    "dashboard": Route((P.VIEW,)),
    "invoice_list": Route((P.VIEW,)),
    "invoice_detail": Route((P.VIEW,), pk="open invoice"),
    "invoice_create": Route((P.VIEW, P.MANAGE_INVOICES), "action"),
    "invoice_edit": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="draft"),
    "invoice_issue": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="draft"),
    "invoice_issue_and_charge": Route((P.VIEW, P.MANAGE_INVOICES, P.CHARGE), "action", pk="draft"),
    "invoice_void": Route((P.VIEW, P.VOID_INVOICE), "action", pk="open invoice"),
    "credit_apply": Route((P.VIEW, P.RECORD), "action", pk="open invoice"),
    "credit_note_issue": Route((P.VIEW, P.ISSUE_CREDIT_NOTE), "action", pk="paid invoice"),
    "invoice_schedule": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="open invoice"),
    "invoice_schedule_remove": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="scheduled invoice"),
    "payment_record": Route((P.VIEW, P.RECORD), "action", pk="open invoice"),
    "payment_charge": Route((P.VIEW, P.CHARGE), "action", pk="open invoice"),
    # Opens with record_payment or charge_payment (names record_payment when both
    # are missing); GET only: each source's form posts to its own action.
    "payment_take": Route((P.VIEW, P.RECORD), pk="open invoice"),
    "customer_list": Route((P.VIEW,)),
    "customer_detail": Route((P.VIEW,), pk="customer"),
    "customer_create": Route((P.VIEW, P.MANAGE_INVOICES), "action"),
    "customer_edit": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="customer"),
    "payment_method_add": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="customer"),
    "payment_method_make_default": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="saved card"),
    "payment_method_remove": Route((P.VIEW, P.MANAGE_INVOICES), "action", pk="saved card"),
    "balance_adjust": Route((P.VIEW, P.ADJUST_BALANCE), "action", pk="customer"),
    "balance_pay_out": Route((P.VIEW, P.ADJUST_BALANCE), "action", pk="customer", currency="USD"),
    "customer_credit_apply": Route((P.VIEW, P.RECORD), "action", pk="customer", currency="USD"),
    "payment_list": Route((P.VIEW,)),
    "payment_detail": Route((P.VIEW,), pk="cash payment"),
    "refund_list": Route((P.VIEW,)),
    "refund_export": Route((P.VIEW,), "export"),
    "payment_refund": Route((P.VIEW, P.REFUND), "action", pk="cash payment"),
    "payment_void": Route((P.VIEW, P.VOID_PAYMENT), "action", pk="cash payment"),
    "payment_retry": Route((P.VIEW, P.CHARGE), "action", pk="failed charge"),
    "payment_check_status": Route((P.VIEW, P.CHARGE), "action", pk="failed charge"),
    "payment_export": Route((P.VIEW,), "export"),
    "payment_receipt_pdf": Route((P.VIEW,), "download", pk="cash payment"),
    "payment_receipt_email": Route((P.VIEW,), "action", pk="cash payment"),
    "refund_receipt_pdf": Route((P.VIEW,), "download", pk="refund"),
    "invoice_pdf": Route((P.VIEW,), "download", pk="open invoice"),
    "invoice_email": Route((P.VIEW,), "action", pk="open invoice"),
    "credit_note_pdf": Route((P.VIEW,), "download", pk="credit note"),
    "credit_note_email": Route((P.VIEW,), "action", pk="credit note"),
    "credit_note_list": Route((P.VIEW,)),
    "credit_note_export": Route((P.VIEW,), "export"),
    "bank": Route((P.VIEW,)),
    "bank_line_confirm": Route((P.VIEW, P.RECORD), "action", pk="suggested bank line"),
    "bank_line_match": Route((P.VIEW, P.RECORD), "action", pk="suggested bank line"),
    "bank_line_ignore": Route((P.VIEW, P.RECORD), "action", pk="suggested bank line"),
    "bank_line_undo": Route((P.VIEW, P.VOID_PAYMENT), "action", pk="recorded bank line"),
    # The API keys page (api/urls.py), under the user menu: a person's own keys.
    "api:key_list": Route((P.VIEW,), "action"),
    # The webhooks pages (webhooks/urls.py), under the user menu: a manager's.
    "webhooks:endpoint_list": Route((P.VIEW, P.MANAGE_WEBHOOKS), "action"),
    "webhooks:endpoint_detail": Route((P.VIEW, P.MANAGE_WEBHOOKS), "action", pk="webhook endpoint"),
    # Stripe's events: signed by Stripe, no session (tests/billing/test_stripe_webhooks.py).
    "stripe_webhook": Route(kind="public"),
    "login": Route(kind="public"),
    "logout": Route(kind="public"),
}

# Who holds what: the two groups as billing/permissions.py makes them.
GRANTED = {
    "staff without permissions": set(),
    "staff who may only view": {P.VIEW},
    "clerk": set(P.GROUPS[P.CLERK]),
    "manager": set(P.GROUPS[P.MANAGER]),
    "superuser": set(P.LABELS),
}
# Signed in, but not active staff: the back office is not for them.
TURNED_AWAY = ("inactive staff", "non-staff with every permission")
USERS = ("anonymous", *TURNED_AWAY, *GRANTED)


def billing_routes(patterns=None, namespaces=()):
    """{name: URLPattern} of every route in the "billing" namespace, and the
    back-office pages of the "api" and "webhooks" ones ("api:name"), walked
    from the project's URL configuration."""
    found = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
            found.update(billing_routes(pattern.url_patterns, inner))
        elif namespaces == ("billing",):
            found[pattern.name] = pattern
        elif namespaces in (("api",), ("webhooks",)):
            found[f"{namespaces[0]}:{pattern.name}"] = pattern
    return found


def test_every_billing_route_is_in_the_permission_table():
    routes = billing_routes()
    assert None not in routes, "a billing route without a name cannot be checked"
    assert sorted(set(routes) - set(ROUTES)) == [], "routes missing from ROUTES"
    assert sorted(set(ROUTES) - set(routes)) == [], "ROUTES lists routes that do not exist"


@pytest.fixture
def matrix_records():
    manager = get_user_model().objects.create_user("records", is_staff=True)
    manager.groups.add(Group.objects.get(name=P.MANAGER))
    customer = CustomerFactory(name="Matrix customer")
    card = services.payment_method_add(
        customer=customer,
        gateway="sandbox",
        token="sandbox_declined",
        brand="visa",
        last4="0002",
        exp_month=12,
        exp_year=2099,
        actor=manager,
    )
    paid = issued_invoice(customer, manager, "50.00")
    cash = pay(paid, manager, "50.00")
    open_invoice = issued_invoice(customer, manager, "100.00")
    failed = services.payment_charge(
        invoice=open_invoice, amount=Money("10.00", "USD"), payment_method=card, actor=manager
    )
    assert failed.status == PaymentStatus.FAILED
    draft = services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "Work", "quantity": 1, "unit_price": Money("20.00", "USD")}],
        actor=manager,
    )
    services.balance_adjust(
        customer=customer, amount=Money("5.00", "USD"), reason="Goodwill", actor=manager
    )
    transferred = issued_invoice(customer, manager, "30.00")
    statement_import(
        data=(
            "account,bank_reference,booking_date,amount,currency,remittance\n"
            f"NL91ABNA0417164300,M-1,2026-02-02,10.00,USD,{open_invoice.number}\n"
            f"NL91ABNA0417164300,M-2,2026-02-02,30.00,USD,{transferred.number}\n"
        ).encode(),
        actor=manager,
    )
    bank_lines = dict(StatementLine.objects.values_list("bank_ref", "pk"))
    refund = services.payment_refund(
        payment=pay(open_invoice, manager, "20.00"),
        amount=Money("5.00", "USD"),
        destination="external",
        reason="requested_by_customer",
        actor=manager,
    )
    scheduled = issued_invoice(customer, manager, "90.00")
    services.schedule_set(
        invoice=scheduled,
        split="equal",
        due_dates=["2026-06-01", "2026-07-01", "2026-08-01"],
        actor=manager,
    )
    note = services.credit_note_issue(
        invoice=open_invoice, reduce_due=Money("1.00", "USD"), reason="goodwill", actor=manager
    ).credit_note
    endpoint, _ = webhooks.endpoint_create(
        url="https://93.184.215.14/hooks", event_types=["invoice.paid"], actor=manager
    )
    return {
        "webhook endpoint": endpoint.pk,
        "suggested bank line": bank_lines["M-1"],
        "recorded bank line": bank_lines["M-2"],
        "customer": customer.pk,
        "draft": draft.pk,
        "open invoice": open_invoice.pk,
        "scheduled invoice": scheduled.pk,
        "paid invoice": paid.pk,
        "cash payment": cash.pk,
        "failed charge": failed.pk,
        "saved card": card.pk,
        "refund": refund.pk,
        "credit note": note.pk,
    }


def make_user(kind):
    """The user of ``kind`` (None: not signed in). No password: hashing one
    would be most of this test's time."""
    users = get_user_model().objects
    if kind == "anonymous":
        return None
    if kind == "superuser":
        return users.create_superuser("root", "root@example.com", None)
    user = users.create_user(
        kind.replace(" ", "-"),
        is_staff=kind != "non-staff with every permission",
        is_active=kind != "inactive staff",
    )
    if kind in ("inactive staff", "manager"):
        user.groups.add(Group.objects.get(name=P.MANAGER))
    elif kind == "clerk":
        user.groups.add(Group.objects.get(name=P.CLERK))
    elif kind == "non-staff with every permission":
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="billing", codename__in=P.LABELS)
        )
    elif kind == "staff who may only view":
        user.user_permissions.set(Permission.objects.filter(codename=P.VIEW))
    return user


def route_url(name, pattern, records):
    route = ROUTES[name]
    values = {"pk": records.get(route.pk), "currency": route.currency}
    kwargs = {key: values[key] for key in pattern.pattern.converters}
    assert None not in kwargs.values(), f"ROUTES[{name!r}] does not fill {sorted(kwargs)}"
    return reverse(name if ":" in name else f"billing:{name}", kwargs=kwargs)


def sent_to_login(response, path, is_htmx):
    """A plain request redirected to the login page, or htmx told to go there,
    with ``next`` the page asked for."""
    if is_htmx:
        assert response.status_code == 200
        location = response["HX-Redirect"]
    else:
        assert response.status_code == 302
        location = response["Location"]
    target = urlsplit(location)
    assert target.path == resolve_url(settings.LOGIN_URL)
    assert parse_qs(target.query)["next"] == [path]
    assert b"<table" not in getattr(response, "body", response.content)


def refused(response, missing, is_htmx):
    """403 naming one of the missing permissions: plain text for htmx's toast."""
    assert response.status_code == 403
    body = response.content.decode()
    assert any(P.LABELS[needed] in body for needed in missing), body[:300]
    if is_htmx:
        assert response["Content-Type"].startswith("text/plain")


def answered(response, method, kind, is_htmx):
    """An allowed request: the page, or the action form's own answer (re-shown
    with errors, done, or refused by a rule), never a permission's refusal."""
    if method == "GET":
        assert response.status_code == 200
        if kind == "export":
            assert response["Content-Type"].startswith("text/csv")
        if kind == "download":
            assert response["Content-Type"] == "application/pdf"
        return
    assert response.status_code in {200, 204, 302, 422}
    if response.status_code == 302:
        assert not response["Location"].startswith(resolve_url(settings.LOGIN_URL))


def requests_for(kind):
    """(method, htmx headers or None) to send to a route of ``kind``."""
    gets = [("GET", None), ("GET", htmx("modal"))]
    if kind == "action":
        return [*gets, ("POST", None), ("POST", htmx("modal-form"))]
    if kind in ("export", "download"):
        return [("GET", None), ("POST", None)]
    return gets


@pytest.mark.parametrize("kind", USERS)
def test_every_route_answers_every_kind_of_user_as_its_permission_says(kind, matrix_records):
    user = make_user(kind)
    wrong = []
    for name, pattern in sorted(billing_routes().items()):
        route = ROUTES.get(name)
        if route is None:
            wrong.append(f"{name}: not in ROUTES")
            continue
        url = route_url(name, pattern, matrix_records)
        for method, headers in requests_for(route.kind):
            with rolled_back():
                response = send(signed_in(user), method, url, headers=headers)
            missing = [needed for needed in route.needs if needed not in GRANTED.get(kind, ())]
            try:
                if route.kind == "public":
                    public_answer(name, method, response)
                elif route.kind in ("export", "download") and method == "POST":
                    assert response.status_code == 405  # Read only, for everyone.
                elif kind == "anonymous" or kind in TURNED_AWAY:
                    sent_to_login(response, url, headers is not None)
                elif missing:
                    refused(response, missing, headers is not None)
                else:
                    answered(response, method, route.kind, headers is not None)
            except (AssertionError, KeyError) as error:
                status = response.status_code
                wrong.append(f"{name}: {method} {url} {headers or ''} → {status} ({error!r})")
    assert wrong == [], f"{kind}:\n" + "\n".join(wrong)


def public_answer(name, method, response):
    """The login page is for everyone; signing out is a POST that leads there;
    Stripe's webhook takes only a POST, and one not signed reads nothing."""
    if name == "stripe_webhook":
        assert response["Content-Type"] == "application/json"
        assert response.status_code == (405 if method == "GET" else 503)
    elif name == "login":
        assert response.status_code == 200
    elif method == "GET":
        assert response.status_code == 405
    else:
        assert response.status_code == 302
