"""Take payment: one dialog on the invoice page where the clerk chooses where
the money comes from (a saved card, customer credit, or money paid outside);
the chosen source's own form follows and posts to its own action."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.views import payments
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import (
    get_ok,
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    saved_card,
    take_payment_sources,
    triggers,
    user_with,
)

pytestmark = pytest.mark.django_db

KEY = "6f1c1a9e-4f8e-4a8e-9c43-2f4d1e0b9a11"


@pytest.fixture
def customer(manager):
    return CustomerFactory(name="Acme Corporation")


@pytest.fixture
def invoice(customer, manager):
    return issued_invoice(customer, manager, "100.00")


@pytest.fixture
def card(customer, manager):
    return saved_card(customer, manager)


def give_credit(customer, manager, amount, currency="USD"):
    services.balance_adjust(
        customer=customer, amount=Money(amount, currency), reason="Goodwill", actor=manager
    )


def url(invoice):
    return reverse("billing:payment_take", args=[invoice.pk])


def action(name, invoice):
    return reverse(f"billing:{name}", args=[invoice.pk])


def test_the_invoice_page_has_one_take_payment_button_in_place_of_three(
    clerk_client, invoice, card, customer, manager
):
    give_credit(customer, manager, "30.00")
    page = invoice_page(clerk_client, invoice)
    assert f'hx-get="{url(invoice)}" hx-target="#modal">Take payment</a>' in page
    for name in ("payment_record", "payment_charge", "credit_apply"):
        assert f'href="{action(name, invoice)}"' not in page


def test_the_dialog_offers_every_source_the_rules_allow_the_first_one_chosen(
    clerk_client, invoice, card, customer, manager
):
    give_credit(customer, manager, "30.00")
    response = get_ok(clerk_client, url(invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert "Take payment" in content and "payable now 100.00 USD" in content
    assert take_payment_sources(clerk_client, invoice) == {
        "card": action("payment_charge", invoice),
        "credit": action("credit_apply", invoice),
        "external": action("payment_record", invoice),
    }
    assert 'value="card" checked autofocus' in content
    assert "30.00 USD of credit to pay from." in content
    # The chosen source's form is loaded from its own action at once.
    assert (
        f'id="modal-form" class="take-payment-form" hx-get="{action("payment_charge", invoice)}"'
        in content
    )


def test_credit_is_offered_only_in_the_invoice_currency(clerk_client, invoice, customer, manager):
    give_credit(customer, manager, "5.00", currency="EUR")
    assert set(take_payment_sources(clerk_client, invoice)) == {"external"}


def test_credit_is_not_offered_when_pending_charges_reserve_the_due(
    clerk_client, customer, manager
):
    saved_card(customer, manager, token="sandbox_timeout_not_charged")
    invoice = issued_invoice(customer, manager, "100.00")
    give_credit(customer, manager, "30.00")
    pending = services.payment_charge(invoice=invoice, actor=manager)
    assert pending.status == "pending"
    invoice.refresh_from_db()
    assert not invoice.can_take_payment
    # Money paid outside may still be recorded on a payable invoice.
    assert set(take_payment_sources(clerk_client, invoice)) == {"external"}


@pytest.mark.parametrize("name", ["payment_charge", "credit_apply", "payment_record"])
def test_each_source_form_loads_alone_into_the_dialog(
    clerk_client, invoice, card, customer, manager, name
):
    give_credit(customer, manager, "30.00")
    response = get_ok(clerk_client, action(name, invoice), headers=htmx("modal-form"))
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="modal-form"')
    assert f'hx-post="{action(name, invoice)}"' in content
    assert "<dialog" not in content


def test_a_paid_invoice_offers_nothing_and_says_why(clerk_client, clerk, invoice):
    pay(invoice, clerk, "100.00")
    response = get_ok(clerk_client, url(invoice), headers=htmx("modal"))
    assert "Nothing can be taken on" in response.content.decode()
    assert take_payment_sources(clerk_client, invoice) == {}


def test_someone_who_may_only_charge_is_offered_only_the_card(client, invoice, card):
    client.force_login(user_with("charge_payment"))
    assert set(take_payment_sources(client, invoice)) == {"card"}


def test_without_record_or_charge_the_dialog_is_refused_naming_what_is_missing(client, invoice):
    client.force_login(user_with())
    response = client.get(url(invoice), headers=htmx("modal"))
    assert response.status_code == 403
    assert "record payments" in response.content.decode()


def test_the_dialog_only_shows_a_post_is_not_allowed(clerk_client, invoice):
    before = record_counts()
    assert clerk_client.post(url(invoice), {"source": "external"}).status_code == 405
    assert record_counts() == before


def test_without_javascript_continue_leads_to_the_chosen_action_page(clerk_client, invoice, card):
    page = get_ok(clerk_client, url(invoice)).content.decode()
    assert "<html" in page and "<noscript>" in page and "Continue" in page
    response = clerk_client.get(url(invoice), {"source": "external"})
    assert response.status_code == 302
    assert response["Location"] == action("payment_record", invoice)
    # A source that is not offered shows the dialog again.
    assert get_ok(clerk_client, url(invoice), {"source": "credit"}).status_code == 200


def test_the_card_source_charges_through_payment_charge(clerk_client, invoice, card):
    response = clerk_client.post(
        action("payment_charge", invoice),
        {"payment_method": card.pk, "amount": "100.00", "idempotency_key": KEY},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    assert "closeModal" in triggers(response)
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_the_credit_source_pays_through_credit_apply(clerk_client, invoice, customer, manager):
    give_credit(customer, manager, "30.00")
    response = clerk_client.post(
        action("credit_apply", invoice),
        {"amount": "30.00", "idempotency_key": KEY},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    assert list(triggers(response))[:2] == ["invoice-changed", "customer-changed"]
    invoice.refresh_from_db()
    assert invoice.amount_due == Money("70.00", "USD")


def test_the_external_source_records_through_payment_record(clerk_client, invoice):
    response = clerk_client.post(
        action("payment_record", invoice),
        {
            "amount": "100.00",
            "method": "cash",
            "paid_at": invoice.issue_date.isoformat(),
            "idempotency_key": KEY,
        },
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_a_refused_source_form_comes_back_with_422_and_writes_nothing(
    clerk_client, invoice, customer, manager
):
    give_credit(customer, manager, "30.00")
    before = record_counts()
    response = clerk_client.post(
        action("credit_apply", invoice),
        {"amount": "50.00", "idempotency_key": KEY},
        headers=htmx("modal-form"),
    )
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<form id="modal-form"')
    assert record_counts() == before


def test_the_invoice_page_query_count_does_not_grow_with_payments_or_saved_cards(
    clerk_client, invoice, card, customer, manager, clerk
):
    give_credit(customer, manager, "30.00")
    pay(invoice, clerk, "1.00")  # The payments' refunds are prefetched once there are rows.
    page = reverse("billing:invoice_detail", args=[invoice.pk])
    few = count_queries(clerk_client, page)
    for _ in range(5):
        pay(invoice, clerk, "1.00")
        saved_card(customer, manager, default=False)
    assert count_queries(clerk_client, page) == few


def header_queries(client, invoice):
    """The SQL the invoice header's refresh sends, once it answered 200."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(action("invoice_detail", invoice), headers=htmx("invoice-header"))
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in captured]


def test_the_header_looks_up_no_credit_or_card_when_paid_outside_is_offered(
    clerk_client, invoice, card, customer, manager
):
    give_credit(customer, manager, "30.00")
    content, queries = header_queries(clerk_client, invoice)
    assert f'hx-get="{url(invoice)}" hx-target="#modal">Take payment</a>' in content
    for table in ("billing_paymentmethod", "billing_moneybalance"):
        assert not [sql for sql in queries if table in sql]


@pytest.mark.parametrize(
    ("codenames", "saved", "credit", "shown"),
    [
        ((), True, "30.00", False),
        (("charge_payment",), True, "0", True),
        (("charge_payment",), False, "30.00", False),
        (("record_payment",), False, "0", True),
        (("charge_payment", "record_payment"), False, "0", True),
    ],
)
def test_take_payment_is_shown_exactly_when_the_dialog_offers_a_source(
    client, invoice, customer, manager, codenames, saved, credit, shown
):
    if saved:
        saved_card(customer, manager)
    if credit != "0":
        give_credit(customer, manager, credit)
    user = user_with(*codenames)
    client.force_login(user)
    content, _ = header_queries(client, invoice)
    assert (">Take payment</a>" in content) is shown
    assert bool(payments.invoice_payment_sources(invoice, user)) is shown


def test_a_paid_invoice_shows_no_take_payment(clerk_client, clerk, invoice, card):
    pay(invoice, clerk, "100.00")
    content, _ = header_queries(clerk_client, invoice)
    assert ">Take payment</a>" not in content
