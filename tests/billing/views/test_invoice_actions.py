"""Invoice lifecycle actions: new draft, edit lines, issue, issue and charge,
void, apply credit (docs/frontend.md, "Invoice lifecycle and credit note actions")."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from moneyed import Money

from billing import selectors, services
from billing.models import Invoice, Payment
from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import (
    get_ok,
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    saved_card,
    take_payment_sources,
    text,
    triggers,
    user_with,
)

pytestmark = pytest.mark.django_db

KEY = "6f1c1a9e-4f8e-4a8e-9c43-2f4d1e0b9a11"


def draft_for(customer, actor, *lines):
    return services.invoice_create(
        customer=customer,
        currency=customer.currency,
        lines=[
            {"description": d, "quantity": Decimal(q), "unit_price": Money(p, customer.currency)}
            for d, q, p in lines or [("Consulting", "1", "100.00")]
        ],
        actor=actor,
    )


def give_credit(customer, actor, amount):
    services.balance_adjust(
        customer=customer, amount=Money(amount, customer.currency), actor=actor, reason="test"
    )


def lines_data(*rows, total=None, initial=0):
    """A draft form's POST: its lines formset, one dict per row."""
    data = {
        "lines-TOTAL_FORMS": str(total if total is not None else len(rows)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"lines-{index}-{name}"] = value
    return data


def row(description="", quantity="1", unit_price="", tax_rate="0", **extra):
    return {
        "description": description,
        "quantity": quantity,
        "unit_price": unit_price,
        "tax_rate": tax_rate,
        **extra,
    }


@pytest.fixture
def customer():
    return CustomerFactory(name="Acme Corporation", currency="USD")


@pytest.fixture
def draft(customer, manager):
    return draft_for(customer, manager, ("Consulting", "2", "50.00"))


def detail(invoice):
    return reverse("billing:invoice_detail", args=[invoice.pk])


# -- new invoice -----------------------------------------------------------------

NEW = reverse("billing:invoice_create")


def test_the_new_invoice_modal_opens_as_a_dialog_with_spare_line_rows(clerk_client, customer):
    response = get_ok(clerk_client, NEW, headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert 'name="lines-TOTAL_FORMS" value="3"' in content
    for name, label in (
        ("customer_search", "Customer"),
        ("currency", "Currency"),
        ("due_date", "Due date"),
    ):
        assert f'<label for="id_{name}">{label}</label>' in content
    assert "Description, line 3" in content and "Tax rate %, line 1" in content
    assert 'name="add_line"' in content and ">Add line</button>" in content
    # Customers are searched for, not listed: thousands would not fit a select.
    assert "Acme Corporation" not in content
    assert '<fieldset id="customer-choices"' in content


def test_the_new_invoice_form_from_a_customer_preselects_the_customer_and_currency(
    clerk_client,
):
    yen = CustomerFactory(name="Yamada KK", currency="JPY")
    content = clerk_client.get(NEW, {"customer": yen.pk}, headers=htmx("modal")).content.decode()
    assert f'id="id_customer_{yen.pk}" value="{yen.pk}" checked> Yamada KK' in content
    assert '<option value="JPY" selected>JPY</option>' in content
    assert reverse("billing:customer_detail", args=[yen.pk]) in content  # Cancel goes back


def test_the_customer_page_and_the_invoice_list_offer_new_invoice(
    staff_client, customer, client, nobody
):
    page = staff_client.get(reverse("billing:customer_detail", args=[customer.pk]))
    assert f'href="{NEW}?customer={customer.pk}"' in page.content.decode()
    assert ">New invoice</a>" in staff_client.get(reverse("billing:invoice_list")).content.decode()
    viewer = user_with()
    client.force_login(viewer)
    assert "New invoice" not in get_ok(client, reverse("billing:invoice_list")).content.decode()


def test_creating_a_draft_sends_htmx_to_its_page_with_the_lines_and_totals(clerk_client, customer):
    data = {
        "customer": customer.pk,
        "currency": "",
        "due_date": "",
        **lines_data(
            row("Consulting", "2", "12.50", "10"),
            row("Travel", "1", "0.05", "0"),
            row(),
        ),
    }
    response = clerk_client.post(NEW, data, headers=htmx("modal-form"))
    assert response.status_code == 200
    invoice = Invoice.objects.get()
    assert response["HX-Redirect"] == detail(invoice)
    assert invoice.status == "draft" and invoice.currency == "USD"
    assert invoice.total == Money("27.55", "USD")  # 25.00 + 2.50 tax + 0.05
    assert [line.description for line in invoice.lines.order_by("position")] == [
        "Consulting",
        "Travel",
    ]
    page = text(clerk_client.get(detail(invoice)))
    assert f"Created {invoice} for Acme Corporation." in page
    assert "Consulting 2 12.50 USD 10% 25.00 USD 2.50 USD 27.50 USD" in page


def test_creating_a_draft_without_javascript_redirects_to_it(clerk_client, customer):
    assert "<html" in clerk_client.get(NEW).content.decode()
    data = {"customer": customer.pk, **lines_data(row("Work", "1", "10"))}
    response = clerk_client.post(NEW, data)
    assert response.status_code == 302
    assert response["Location"] == detail(Invoice.objects.get())


def test_a_new_draft_takes_the_customer_s_currency_unless_another_is_chosen(clerk_client):
    yen = CustomerFactory(currency="JPY")
    clerk_client.post(NEW, {"customer": yen.pk, **lines_data(row("Work", "3", "1500"))})
    clerk_client.post(
        NEW, {"customer": yen.pk, "currency": "KWD", **lines_data(row("Work", "1", "1.125"))}
    )
    jpy, kwd = Invoice.objects.order_by("pk")
    assert jpy.total == Money("4500", "JPY")
    assert kwd.total == Money("1.125", "KWD")
    assert "4,500 JPY" in text(clerk_client.get(detail(jpy)))
    assert "1.125 KWD" in text(clerk_client.get(detail(kwd)))


def test_add_line_comes_back_with_one_more_row_keeping_what_was_typed(clerk_client, customer):
    data = {
        "customer": customer.pk,
        "add_line": "1",
        **lines_data(row("Consulting", "2", "12.5"), row(), row()),
    }
    response = clerk_client.post(NEW, data, headers=htmx("modal-form"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="modal-form"')
    assert 'name="lines-TOTAL_FORMS" value="4"' in content
    assert 'value="Consulting"' in content and 'value="12.5"' in content
    assert "errorlist" not in content
    assert not Invoice.objects.exists()


def test_add_line_works_without_javascript_and_drops_removed_rows(clerk_client, customer):
    data = {
        "customer": customer.pk,
        "add_line": "1",
        **lines_data(row("Keep", "1", "1"), row("Drop", "1", "1", DELETE="on")),
    }
    response = clerk_client.post(NEW, data)
    content = response.content.decode()
    assert response.status_code == 200 and "<html" in content
    assert 'value="Keep"' in content and 'value="Drop"' not in content
    assert 'name="lines-TOTAL_FORMS" value="2"' in content


@pytest.mark.parametrize(
    ("currency", "line", "error"),
    [
        ("JPY", row("Work", "1", "10.5"), "JPY amounts have no decimals"),
        ("KWD", row("Work", "1", "1.1255"), "KWD amounts have at most 3 decimals"),
        ("USD", row("Work", "1", ""), "Enter the unit price."),
        ("USD", row("", "1", "5"), "Describe the line."),
        ("USD", row("Work", "0", "5"), "The quantity must be above zero."),
        ("USD", row("Work", "1", "5", "101"), "less than or equal to 100"),
    ],
)
def test_a_bad_line_shows_the_form_again_with_422_and_creates_nothing(
    clerk_client, currency, line, error
):
    customer = CustomerFactory(currency=currency)
    before = record_counts()
    response = clerk_client.post(
        NEW, {"customer": customer.pk, **lines_data(line)}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not Invoice.objects.exists()
    assert record_counts() == before


def test_a_new_invoice_needs_a_customer(clerk_client):
    response = clerk_client.post(NEW, lines_data(row("Work", "1", "5")), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert "Choose the customer" in response.content.decode()
    assert not Invoice.objects.exists()


def choices(response):
    """The customers offered, in order, and the one checked."""
    content = response.content.decode()
    offered = re.findall(r'<input type="radio" name="customer"[^>]*> ([^<]+?) <span', content)
    checked = re.findall(r'value="\d+" checked> ([^<]+?) <span', content)
    return offered, checked


def search(client, text, **data):
    return client.post(
        NEW, {"customer_search": text, **data, **lines_data(row())}, headers=htmx(CHOICES)
    )


CHOICES = "customer-choices"


def test_typing_a_search_offers_the_matching_customers_and_creates_nothing(clerk_client):
    for name in ("Globex Europe", "Globex Asia", "Initech"):
        CustomerFactory(name=name)
    CustomerFactory(name="Umbrella", email="ap@globex.example")

    response = search(clerk_client, " globex ")

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<fieldset id="{CHOICES}"')
    assert choices(response) == (["Globex Asia", "Globex Europe", "Umbrella"], [])
    assert not Invoice.objects.exists()


def test_the_search_shows_a_few_matches_and_says_when_there_are_more(
    clerk_client, django_assert_max_num_queries
):
    for number in range(12):
        CustomerFactory(name=f"Store {number:02d}")
    with django_assert_max_num_queries(8):
        response = search(clerk_client, "store")
    offered, _ = choices(response)
    assert offered == [f"Store {number:02d}" for number in range(8)]
    assert "More customers match" in response.content.decode()


def test_the_chosen_customer_stays_first_and_checked_while_the_search_changes(clerk_client):
    chosen = CustomerFactory(name="Yamada KK")
    CustomerFactory(name="Yamamoto GmbH")
    response = search(clerk_client, "yamamoto", customer=chosen.pk)
    assert choices(response) == (["Yamada KK", "Yamamoto GmbH"], ["Yamada KK"])


def test_a_search_with_a_nul_byte_offers_only_the_chosen_customer_and_creates_nothing(
    clerk_client,
):
    # PostgreSQL text cannot hold a NUL byte: searching with one was a server error.
    chosen = CustomerFactory(name="Initech")
    response = search(clerk_client, "ini\x00", customer=chosen.pk)
    assert response.status_code == 200
    assert choices(response) == (["Initech"], ["Initech"])
    assert not Invoice.objects.exists()


def test_a_search_matching_one_customer_chooses_it(clerk_client):
    CustomerFactory(name="Initech")
    hooli = CustomerFactory(name="Hooli", currency="EUR")
    data = {"customer_search": "hool", **lines_data(row("Work", "1", "5"))}
    response = clerk_client.post(NEW, data, headers=htmx("modal-form"))
    invoice = Invoice.objects.get()
    assert response["HX-Redirect"] == detail(invoice)
    assert invoice.customer == hooli and invoice.currency == "EUR"


@pytest.mark.parametrize(
    ("typed", "error", "offered"),
    [
        ("globex", "Several customers match “globex”; choose one.", ["Globex Asia", "Globex US"]),
        ("wonka", "No customer matches “wonka”.", []),
    ],
)
def test_a_search_that_is_not_one_customer_is_refused_and_shows_the_matches(
    clerk_client, typed, error, offered
):
    CustomerFactory(name="Globex US")
    CustomerFactory(name="Globex Asia")
    before = record_counts()
    data = {"customer_search": typed, **lines_data(row("Work", "1", "5"))}
    response = clerk_client.post(NEW, data, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert error in response.content.decode()
    assert choices(response) == (offered, [])
    assert 'value="Work"' in response.content.decode()  # the lines are kept
    assert not Invoice.objects.exists() and record_counts() == before


def test_without_javascript_a_refused_search_then_a_choice_makes_the_draft(clerk_client):
    us, asia = CustomerFactory(name="Globex US"), CustomerFactory(name="Globex Asia")
    data = {"customer_search": "globex", **lines_data(row("Work", "1", "5"))}
    assert clerk_client.post(NEW, data).status_code == 422
    response = clerk_client.post(NEW, {**data, "customer": asia.pk})
    assert response.status_code == 302
    assert Invoice.objects.get().customer == asia != us


def test_add_line_keeps_the_chosen_customer_checked(clerk_client, customer):
    data = {"customer": customer.pk, "add_line": "1", **lines_data(row("Work", "1", "5"))}
    response = clerk_client.post(NEW, data, headers=htmx("modal-form"))
    assert choices(response) == (["Acme Corporation"], ["Acme Corporation"])


def test_only_people_who_manage_invoices_may_make_drafts(client, nobody, customer):
    viewer = user_with()
    client.force_login(viewer)
    assert client.get(NEW).status_code == 403
    response = client.post(NEW, {"customer": customer.pk, **lines_data(row("Work", "1", "5"))})
    assert response.status_code == 403
    assert "create and issue invoices" in response.content.decode()
    assert not Invoice.objects.exists()
    client.force_login(nobody)
    assert client.post(NEW, {}).status_code == 403


# -- edit lines ------------------------------------------------------------------


def edit_url(invoice):
    return reverse("billing:invoice_edit", args=[invoice.pk])


def test_edit_lines_shows_the_draft_s_lines_and_spare_rows(clerk_client, customer, clerk):
    draft = draft_for(customer, clerk, ("Consulting", "100", "12.50"))
    content = get_ok(clerk_client, edit_url(draft), headers=htmx("modal")).content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert 'value="Consulting"' in content
    assert 'value="100"' in content and 'value="12.50"' in content  # never 1E+2
    assert 'name="lines-TOTAL_FORMS" value="4"' in content
    assert 'name="customer"' not in content  # a draft keeps its customer


def test_saving_lines_replaces_them_recomputes_the_totals_and_tells_the_page(clerk_client, draft):
    data = {
        "due_date": "2031-01-31",
        **lines_data(
            row("Consulting", "2", "50.00", DELETE="on"),
            row("Design", "3", "33.33", "20"),
            row(),
            initial=1,
        ),
    }
    response = clerk_client.post(edit_url(draft), data, headers=htmx("modal-form"))
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    draft.refresh_from_db()
    assert draft.total == Money("119.99", "USD")  # 99.99 + 20.00 tax (19.998 rounded)
    assert [line.description for line in draft.lines.all()] == ["Design"]
    assert str(draft.due_date) == "2031-01-31"


def test_the_lines_of_an_issued_invoice_cannot_change(clerk_client, customer, clerk):
    invoice = issued_invoice(customer, clerk)
    before = record_counts()
    response = clerk_client.post(
        edit_url(invoice), lines_data(row("Other", "1", "1")), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "its lines cannot change" in response.content.decode()
    assert record_counts() == before
    invoice.refresh_from_db()
    assert invoice.total == Money("100.00", "USD")


def test_the_draft_page_offers_edit_lines_and_issue(staff_client, draft, customer, manager):
    content = invoice_page(staff_client, draft)
    assert ">Edit lines</a>" in content and ">Issue</a>" in content
    assert "Issue and charge" not in content  # no saved method yet
    saved_card(customer, manager)
    content = invoice_page(staff_client, draft)
    assert ">Issue and charge</a>" in content


def test_an_empty_draft_offers_no_issue(staff_client, customer, manager):
    empty = services.invoice_create(customer=customer, currency="USD", lines=[], actor=manager)
    content = invoice_page(staff_client, empty)
    assert ">Edit lines</a>" in content and ">Issue</a>" not in content


# -- issue -------------------------------------------------------------------------


def issue_url(invoice):
    return reverse("billing:invoice_issue", args=[invoice.pk])


def test_the_issue_modal_says_the_number_comes_now_and_shows_the_credit(
    clerk_client, draft, customer, manager
):
    give_credit(customer, manager, "30.00")
    response = clerk_client.get(issue_url(draft), headers=htmx("modal"))
    content = text(response)
    assert response.content.decode().lstrip().startswith('<dialog id="modal-dialog"')
    assert "next invoice number" in content
    assert "30.00 USD of credit" in content
    assert re.search(r'<input type="checkbox" name="apply_credit"[^>]*checked', text_raw(response))
    assert "Apply customer credit" in content


def text_raw(response):
    return response.content.decode()


def test_issuing_a_draft_numbers_it_and_tells_the_page(clerk_client, draft):
    response = clerk_client.post(issue_url(draft), {"apply_credit": "on"}, headers=htmx("x"))
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    draft.refresh_from_db()
    assert draft.status == "open" and draft.number.startswith("INV-")
    assert triggers(response)["showMessage"]["text"] == f"Issued {draft.number} for 100.00 USD."


def test_issuing_applies_the_customer_s_credit_and_tells_the_customer_page(
    clerk_client, draft, customer, manager
):
    give_credit(customer, manager, "30.00")
    response = clerk_client.post(issue_url(draft), {"apply_credit": "on"}, headers=htmx("x"))
    assert list(triggers(response)) == [
        "invoice-changed",
        "customer-changed",
        "showMessage",
        "closeModal",
    ]
    draft.refresh_from_db()
    assert draft.amount_paid == Money("30.00", "USD")
    assert draft.amount_due == Money("70.00", "USD")
    assert "30.00 USD was paid from customer credit" in triggers(response)["showMessage"]["text"]


def test_unticking_apply_credit_issues_without_it(clerk_client, draft, customer, manager):
    give_credit(customer, manager, "30.00")
    response = clerk_client.post(issue_url(draft), {}, headers=htmx("x"))
    assert response.status_code == 204
    draft.refresh_from_db()
    assert draft.status == "open" and draft.amount_paid == Money("0", "USD")


def test_issuing_an_issued_invoice_is_refused_with_422_and_writes_nothing(
    clerk_client, customer, clerk
):
    invoice = issued_invoice(customer, clerk)
    before = record_counts()
    response = clerk_client.post(issue_url(invoice), {}, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<form id="modal-form"')
    assert "already open" in response.content.decode()
    assert record_counts() == before


def test_issuing_without_javascript_redirects_with_the_message(clerk_client, draft):
    assert "<html" in clerk_client.get(issue_url(draft)).content.decode()
    response = clerk_client.post(issue_url(draft), {"apply_credit": "on"})
    assert response.status_code == 302 and response["Location"] == detail(draft)
    draft.refresh_from_db()
    assert f"Issued {draft.number}" in text(clerk_client.get(detail(draft)))


def test_only_people_who_manage_invoices_may_issue(client, draft, nobody):
    viewer = user_with("charge_payment")
    for user in (nobody, viewer):
        client.force_login(user)
        assert client.get(issue_url(draft)).status_code == 403
        assert client.post(issue_url(draft), {}, headers=htmx("x")).status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"


# -- issue and charge --------------------------------------------------------------


def charge_url(invoice):
    return reverse("billing:invoice_issue_and_charge", args=[invoice.pk])


def test_the_issue_and_charge_modal_shows_the_card_and_the_amount_after_credit(
    clerk_client, manager
):
    customer = CustomerFactory(currency="JPY")
    saved_card(customer, manager, brand="jcb", last4="0005")
    give_credit(customer, manager, "8000")
    draft = draft_for(customer, manager, ("Seats", "4", "12000"))
    content = text(clerk_client.get(charge_url(draft), headers=htmx("modal")))
    assert "JCB •••• 0005" in content
    assert "From credit 8,000 JPY" in content
    assert "To charge 40,000 JPY" in content


def test_issue_and_charge_with_a_good_card_issues_and_pays_the_invoice(
    clerk_client, draft, customer, manager
):
    saved_card(customer, manager, token="sandbox_ok")
    response = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    assert response.status_code == 204
    draft.refresh_from_db()
    assert draft.status == "paid" and draft.amount_paid == Money("100.00", "USD")
    message = triggers(response)["showMessage"]
    assert message == {
        "text": f"Issued {draft.number} and charged 100.00 USD to Visa •••• 4242.",
        "level": "success",
    }
    assert Payment.objects.get().status == "succeeded"


def test_a_declined_card_still_issues_the_invoice_with_a_warning(
    clerk_client, draft, customer, manager
):
    saved_card(customer, manager, token="sandbox_declined")
    response = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    assert response.status_code == 204
    draft.refresh_from_db()
    assert draft.status == "open" and draft.amount_due == Money("100.00", "USD")
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    assert triggers(response)["showMessage"] == {
        "text": f"Issued {draft.number}; the charge was declined: Your card was declined.",
        "level": "warning",
    }
    assert Payment.objects.get().status == "failed"


def test_a_charge_without_an_answer_stays_pending_for_reconciliation(
    clerk_client, draft, customer, manager
):
    saved_card(customer, manager, token="sandbox_timeout_charged")
    response = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    assert response.status_code == 204
    message = triggers(response)["showMessage"]
    assert message["level"] == "warning"  # like a timed-out Charge
    assert "the charge of 100.00 USD is pending" in message["text"]
    assert "reconciliation will settle it" in message["text"]
    assert Payment.objects.get().status == "pending"


def test_a_declined_card_without_javascript_redirects_with_a_warning(
    clerk_client, draft, customer, manager
):
    saved_card(customer, manager, token="sandbox_declined")
    response = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, follow=True)
    content = response.content.decode()
    assert response.redirect_chain[-1][0] == detail(draft)
    assert 'class="message message--warning"' in content
    assert "the charge was declined: Your card was declined." in content


def test_issue_and_charge_applies_credit_first_and_charges_the_rest(
    clerk_client, draft, customer, manager
):
    saved_card(customer, manager)
    give_credit(customer, manager, "30.00")
    response = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    assert list(triggers(response))[:2] == ["invoice-changed", "customer-changed"]
    charge = Payment.objects.get(method="saved_method")
    assert charge.amount == Money("70.00", "USD") and charge.status == "succeeded"


def test_issue_and_charge_charges_nothing_when_credit_pays_it_all(
    clerk_client, draft, customer, manager
):
    saved_card(customer, manager)
    give_credit(customer, manager, "150.00")
    response = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    draft.refresh_from_db()
    assert draft.status == "paid"
    assert not Payment.objects.filter(method="saved_method").exists()
    assert triggers(response)["showMessage"] == {
        "text": f"Issued {draft.number}; customer credit paid it in full, nothing was charged.",
        "level": "success",
    }


def test_a_double_submit_of_issue_and_charge_charges_once(clerk_client, draft, customer, manager):
    saved_card(customer, manager)
    first = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    counts = record_counts()
    second = clerk_client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    assert first.status_code == second.status_code == 204
    assert record_counts() == counts
    assert Payment.objects.count() == 1


def test_issue_and_charge_without_a_saved_method_is_refused_and_writes_nothing(clerk_client, draft):
    content = text(clerk_client.get(charge_url(draft), headers=htmx("modal")))
    assert "no default saved payment method" in content
    before = record_counts()
    response = clerk_client.post(
        charge_url(draft), {"idempotency_key": KEY}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "has no default saved payment method" in response.content.decode()
    assert record_counts() == before
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_issue_and_charge_needs_both_manage_and_charge(client, draft, customer, manager):
    saved_card(customer, manager)
    issuer = user_with("manage_invoices", username="issuer")
    client.force_login(issuer)
    assert client.get(charge_url(draft)).status_code == 403
    response = client.post(charge_url(draft), {"idempotency_key": KEY}, headers=htmx("x"))
    assert response.status_code == 403
    assert "charge saved payment methods" in response.content.decode()
    assert "Issue and charge" not in invoice_page(client, draft)
    draft.refresh_from_db()
    assert draft.status == "draft"


# -- void --------------------------------------------------------------------------


def void_url(invoice):
    return reverse("billing:invoice_void", args=[invoice.pk])


@pytest.fixture
def open_invoice(customer, manager):
    return issued_invoice(customer, manager)


def test_the_void_modal_asks_for_a_reason(staff_client, open_invoice):
    response = staff_client.get(void_url(open_invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert '<label for="id_reason">Reason</label>' in content
    assert "keeps its number" in content


def test_voiding_an_open_invoice_keeps_its_number_and_tells_the_page(staff_client, open_invoice):
    response = staff_client.post(
        void_url(open_invoice), {"reason": "Sent twice"}, headers=htmx("x")
    )
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    number = open_invoice.number
    open_invoice.refresh_from_db()
    assert open_invoice.status == "void" and open_invoice.number == number
    assert open_invoice.events.get(kind="voided").message == "Sent twice"


def test_voiding_needs_a_reason_and_writes_nothing_without(staff_client, open_invoice):
    before = record_counts()
    response = staff_client.post(
        void_url(open_invoice), {"reason": "  "}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert record_counts() == before
    open_invoice.refresh_from_db()
    assert open_invoice.status == "open"


def test_a_paid_invoice_cannot_be_voided(staff_client, open_invoice, manager):
    pay(open_invoice, manager, "10.00")
    assert "Void invoice" not in invoice_page(staff_client, open_invoice)
    before = record_counts()
    response = staff_client.post(
        void_url(open_invoice), {"reason": "Oops"}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "only an open invoice" in response.content.decode()
    assert record_counts() == before


def test_voiding_without_javascript_redirects(staff_client, open_invoice):
    response = staff_client.post(void_url(open_invoice), {"reason": "Sent twice"})
    assert response.status_code == 302 and response["Location"] == detail(open_invoice)


def test_a_clerk_may_not_void_invoices(clerk_client, open_invoice):
    assert "Void invoice" not in invoice_page(clerk_client, open_invoice)
    assert clerk_client.get(void_url(open_invoice)).status_code == 403
    response = clerk_client.post(void_url(open_invoice), {"reason": "x"}, headers=htmx("x"))
    assert response.status_code == 403
    assert "void invoices" in response.content.decode()
    open_invoice.refresh_from_db()
    assert open_invoice.status == "open"


def test_a_manager_sees_void_invoice_on_an_open_invoice(staff_client, open_invoice):
    assert ">Void invoice</a>" in staff_client.get(detail(open_invoice)).content.decode()


# -- apply credit ------------------------------------------------------------------


def apply_url(invoice):
    return reverse("billing:credit_apply", args=[invoice.pk])


def test_apply_credit_shows_only_when_the_customer_has_credit_in_the_currency(
    clerk_client, customer, manager
):
    invoice = issued_invoice(customer, manager, apply_credit=False)
    assert "credit" not in take_payment_sources(clerk_client, invoice)
    services.balance_adjust(
        customer=customer, amount=Money("5", "EUR"), actor=manager, reason="other currency"
    )
    assert "credit" not in take_payment_sources(clerk_client, invoice)
    give_credit(customer, manager, "30.00")
    assert take_payment_sources(clerk_client, invoice)["credit"] == apply_url(invoice)


@pytest.mark.parametrize(
    ("currency", "price", "credit", "prefilled", "shown"),
    [
        ("USD", "100.00", "30.00", "30.00", "30.00 USD"),
        ("USD", "20.00", "30.00", "20.00", "30.00 USD"),
        ("KWD", "375.125", "400.5", "375.125", "400.500 KWD"),
        ("JPY", "48000", "50000", "48000", "50,000 JPY"),
    ],
)
def test_the_apply_credit_amount_is_prefilled_with_what_can_be_applied(
    clerk_client, manager, currency, price, credit, prefilled, shown
):
    customer = CustomerFactory(currency=currency)
    invoice = issued_invoice(customer, manager, price)
    give_credit(customer, manager, credit)
    response = clerk_client.get(apply_url(invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert f'value="{prefilled}"' in content
    assert f"credit {shown}" in text(response)
    assert '<label for="id_amount">Amount</label>' in content  # exactly: no currency, no mark
    assert f'<span class="suffix">{currency}</span>' in content


def test_applying_credit_pays_the_invoice_and_tells_both_pages(clerk_client, customer, manager):
    invoice = issued_invoice(customer, manager, apply_credit=False)
    give_credit(customer, manager, "30.00")
    response = clerk_client.post(
        apply_url(invoice), {"amount": "25.00", "idempotency_key": KEY}, headers=htmx("x")
    )
    assert response.status_code == 204
    assert list(triggers(response)) == [
        "invoice-changed",
        "customer-changed",
        "showMessage",
        "closeModal",
    ]
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("25.00", "USD")
    assert selectors.customer_credit(customer=customer, currency="USD") == Money("5.00", "USD")


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("31.00", "has only 30.00 USD of credit"),
        ("0", "must not be zero"),
        ("1.005", "at most 2 decimals"),
    ],
)
def test_a_refused_credit_application_shows_422_and_writes_nothing(
    clerk_client, customer, manager, amount, error
):
    invoice = issued_invoice(customer, manager, apply_credit=False)
    give_credit(customer, manager, "30.00")
    before = record_counts()
    response = clerk_client.post(
        apply_url(invoice), {"amount": amount, "idempotency_key": KEY}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert error in response.content.decode()
    assert record_counts() == before


def test_applying_credit_without_javascript_redirects(clerk_client, customer, manager):
    invoice = issued_invoice(customer, manager, apply_credit=False)
    give_credit(customer, manager, "30.00")
    response = clerk_client.post(apply_url(invoice), {"amount": "30", "idempotency_key": KEY})
    assert response.status_code == 302 and response["Location"] == detail(invoice)


def test_only_people_who_record_payments_may_apply_credit(client, nobody, customer, manager):
    invoice = issued_invoice(customer, manager, apply_credit=False)
    give_credit(customer, manager, "30.00")
    client.force_login(nobody)
    before = record_counts()
    assert client.get(apply_url(invoice)).status_code == 403
    assert client.post(apply_url(invoice), {"amount": "1"}, headers=htmx("x")).status_code == 403
    assert record_counts() == before


def test_applying_credit_twice_with_one_form_applies_it_once(clerk_client, customer, manager):
    invoice = issued_invoice(customer, manager, apply_credit=False)
    give_credit(customer, manager, "50.00")
    fields = {"amount": "10.00", "idempotency_key": KEY}
    for _ in range(2):
        assert clerk_client.post(apply_url(invoice), fields, headers=htmx("x")).status_code == 204
    invoice.refresh_from_db()
    assert invoice.amount_paid == Money("10.00", "USD")
