"""The refund modal's choices (views/refunds.py, forms/refunds.py): the invoice
after each option shown before confirming, a default that follows the reason,
and only the destinations valid with the choice offered (Payment's rules)."""

import re

import pytest
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.models import RefundReason
from tests.billing.views.conftest import htmx
from tests.billing.views.payment_actions import KEY
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay, record_counts, saved_card, user_with

pytestmark = pytest.mark.django_db

REGION = "refund-choices"


@pytest.fixture
def invoice(manager):
    return issued_invoice(CustomerFactory(currency="USD"), manager, "500.00")


@pytest.fixture
def payment(invoice, manager):
    return pay(invoice, manager, "500.00")


def url(payment):
    return reverse("billing:payment_refund", args=[payment.pk])


def data(**fields):
    return {
        "amount": "100.00",
        "destination": "external",
        "reason": "",
        "reason_shown": "",
        "invoice_effect": "owes_again",
        "notes": "",
        "reference": "",
        "idempotency_key": KEY,
        **fields,
    }


def refresh(client, payment, **fields):
    """What htmx gets when a field of the modal changes (nothing is written)."""
    before = record_counts()
    response = client.post(url(payment), data(**fields), headers=htmx(REGION))
    assert response.status_code == 200
    assert record_counts() == before
    content = response.content.decode()
    assert content.lstrip().startswith(f'<div id="{REGION}"')
    return content


def figures(content):
    """The preview table's rows: {row: [now, owes again, with a credit note]}."""
    table = re.search(r"<table.*?</table>", content, re.S).group(0)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def checked(content, name):
    return re.findall(rf'name="{name}" value="([^"]+)"[^>]*checked', content)


def offered(content, name):
    return re.findall(rf'name="{name}" value="([^"]+)"', content)


def test_the_modal_shows_the_invoice_after_each_option_for_the_prefilled_amount(
    staff_client, payment
):
    response = get_ok(staff_client, url(payment), headers=htmx("modal"))
    content = response.content.decode()
    assert "The invoice after refunding 500.00 USD" in content
    assert figures(content) == {
        "": ["Now", "The customer owes it again", "With a credit note"],
        "Credited": ["0.00 USD", "0.00 USD", "500.00 USD"],
        "Paid": ["500.00 USD", "0.00 USD", "0.00 USD"],
        "Due": ["0.00 USD", "500.00 USD", "0.00 USD"],
        "Status": ["Paid", "Open", "Paid"],
        "Customer credit": ["0.00 USD", "0.00 USD", "0.00 USD"],
    }


def test_a_changed_amount_refreshes_the_figures_and_writes_nothing(staff_client, payment):
    content = refresh(staff_client, payment, amount="120.50")
    assert "The invoice after refunding 120.50 USD" in content
    rows = figures(content)
    assert rows["Due"] == ["0.00 USD", "120.50 USD", "0.00 USD"]
    assert rows["Status"] == ["Paid", "Partially paid", "Paid"]


def test_a_refund_to_credit_shows_the_customers_credit_growing(staff_client, payment):
    content = refresh(staff_client, payment, destination="customer_credit")
    assert figures(content)["Customer credit"] == ["0.00 USD", "100.00 USD", "0.00 USD"]


@pytest.mark.parametrize("amount", ["600.00", "1e3", ""])
def test_an_amount_the_payment_cannot_give_back_shows_no_figures(staff_client, payment, amount):
    content = refresh(staff_client, payment, amount=amount)
    assert "<table" not in content
    assert "Type an amount of at most 500.00 USD" in content


@pytest.mark.parametrize(
    ("reason", "effect"),
    [
        ("requested_by_customer", "credit_note"),
        ("product_unsatisfactory", "credit_note"),
        ("bounced", "owes_again"),
        ("fraudulent", "owes_again"),
        ("duplicate", "owes_again"),
        ("other", "owes_again"),
    ],
)
def test_choosing_a_reason_chooses_its_default(staff_client, payment, reason, effect):
    # Whatever was chosen before, a new reason brings its own default.
    other = "owes_again" if effect == "credit_note" else "credit_note"
    content = refresh(staff_client, payment, reason=reason, reason_shown="", invoice_effect=other)
    assert checked(content, "invoice_effect") == [effect]
    assert f'name="reason_shown" value="{reason}"' in content


def test_a_choice_made_after_the_reason_stays(staff_client, payment):
    content = refresh(
        staff_client,
        payment,
        reason="bounced",
        reason_shown="bounced",
        invoice_effect="credit_note",
    )
    assert checked(content, "invoice_effect") == ["credit_note"]


def test_the_default_follows_the_reasons_rule():
    keeps_paid = {reason for reason in RefundReason if reason.keeps_invoice_paid}
    assert keeps_paid == {RefundReason.REQUESTED_BY_CUSTOMER, RefundReason.PRODUCT_UNSATISFACTORY}


def test_with_a_credit_note_only_the_way_the_money_came_is_offered(staff_client, payment):
    # Defect 7: "To customer credit" with a credit note was offered, then refused.
    content = refresh(
        staff_client, payment, invoice_effect="credit_note", destination="customer_credit"
    )
    assert offered(content, "destination") == ["external"]
    assert checked(content, "destination") == ["external"]
    assert "the money goes the way it came: paid back outside the system" in content


def test_owing_it_again_offers_every_destination_of_the_payment(staff_client, payment):
    content = refresh(staff_client, payment, invoice_effect="owes_again", destination="external")
    assert offered(content, "destination") == ["external", "customer_credit"]
    assert "the way it came" not in content


def test_a_charge_with_a_credit_note_goes_back_to_the_card_only(staff_client, manager, invoice):
    saved_card(invoice.customer, manager, last4="4242")
    charge = services.payment_charge(invoice=invoice, actor=manager)
    content = refresh(staff_client, charge, invoice_effect="credit_note", destination="external")
    assert offered(content, "destination") == ["original_method"]
    assert "Back to the card (Visa •••• 4242)" in content
    content = refresh(staff_client, charge, invoice_effect="owes_again")
    assert offered(content, "destination") == ["original_method", "external", "customer_credit"]


def test_a_payment_from_credit_goes_back_to_credit_with_either_choice(staff_client, manager):
    customer = CustomerFactory(currency="USD")
    services.balance_adjust(
        customer=customer, amount=Money("80.00", "USD"), reason="Goodwill", actor=manager
    )
    invoice = issued_invoice(customer, manager, "80.00")
    from_credit = invoice.payments.get()
    for effect in ("owes_again", "credit_note"):
        content = refresh(
            staff_client, from_credit, invoice_effect=effect, destination="customer_credit"
        )
        assert offered(content, "destination") == ["customer_credit"]


def test_the_rule_lives_on_the_payment(manager, payment):
    assert payment.refund_destinations_for(credit_note=True) == ("external",)
    assert payment.refund_destinations_for(credit_note=False) == payment.refund_destinations


def test_a_posted_invalid_pair_is_refused_on_the_destination_and_writes_nothing(
    staff_client, payment
):
    before = record_counts()
    response = staff_client.post(
        url(payment),
        data(invoice_effect="credit_note", destination="customer_credit", reason="other"),
        headers=htmx("modal-form"),
    )
    assert response.status_code == 422
    assert record_counts() == before
    [error] = response.context["form"].errors["destination"]
    assert "“Paid back outside the system”" in error


def test_a_refund_with_a_credit_note_from_the_modal_keeps_the_invoice_paid(
    staff_client, payment, invoice
):
    response = staff_client.post(
        url(payment),
        data(invoice_effect="credit_note", reason="product_unsatisfactory"),
        headers=htmx("modal-form"),
    )
    assert response.status_code == 204
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount) == ("paid", 0)
    assert invoice.credit_notes.get().reason == "product_unsatisfactory"


def test_without_the_credit_note_permission_there_is_one_choice_and_one_column(client, payment):
    client.force_login(user_with("refund_payment", username="refunder"))
    content = refresh(client, payment, reason="requested_by_customer")
    assert offered(content, "invoice_effect") == ["owes_again"]
    assert checked(content, "invoice_effect") == ["owes_again"]
    assert list(figures(content)) and "With a credit note" not in content


def test_a_refresh_for_someone_who_may_not_refund_is_refused(clerk_client, payment):
    response = clerk_client.post(url(payment), data(), headers=htmx(REGION))
    assert response.status_code == 403
