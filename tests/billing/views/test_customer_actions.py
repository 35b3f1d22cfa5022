import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from moneyed import Money

from billing import services
from billing.models import BalanceEntry, IdempotencyKey, Payment
from billing.selectors import customer_credit
from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, record_counts

pytestmark = pytest.mark.django_db

KEY = "6f1c1a9e-4f8e-4a8e-9c43-2f4d1e0b9a11"


def jpy(amount):
    return Money(amount, "JPY")


@pytest.fixture
def customer(manager):
    """A JPY customer with 2,000 JPY of credit and no invoice yet."""
    customer = CustomerFactory(name="Tanaka Trading", currency="JPY")
    services.balance_adjust(customer=customer, amount=jpy("2000"), actor=manager, reason="Goodwill")
    return customer


@pytest.fixture
def invoice(customer, manager):
    """An open 48,000 JPY invoice, issued without using the credit."""
    return issued_invoice(customer, manager, "48000", apply_credit=False)


def page(customer):
    return reverse("billing:customer_detail", args=[customer.pk])


def adjust_url(customer):
    return reverse("billing:balance_adjust", args=[customer.pk])


def pay_out_url(customer, currency="JPY"):
    return reverse("billing:balance_pay_out", args=[customer.pk, currency])


def apply_url(customer, currency="JPY"):
    return reverse("billing:customer_credit_apply", args=[customer.pk, currency])


def adjust(**fields):
    return {
        "currency": "JPY",
        "amount": "500",
        "reason": "Rounding",
        "idempotency_key": KEY,
        **fields,
    }


def pay_out(**fields):
    return {
        "amount": "2000",
        "reference": "Transfer 77",
        "notes": "",
        "idempotency_key": KEY,
        **fields,
    }


def apply(invoice, **fields):
    return {"invoice": str(invoice.pk), "amount": "1500", "idempotency_key": KEY, **fields}


def events(response):
    return list(json.loads(response["HX-Trigger"]))


def error_next_to(content, label):
    """The errors of the form row whose label is ``label``."""
    rows = re.findall(r'<div class="form-row form-row--error">(.*?)</div>', content, re.S)
    row = next(r for r in rows if re.search(rf">{label}(?: <span|</label>)", r))
    return re.sub(r"<[^>]+>", " ", row[row.index("</label>") :])


def credit(customer, currency="JPY"):
    return customer_credit(customer=customer, currency=currency)


# -- the buttons -------------------------------------------------------------------------


def test_managers_see_adjust_pay_out_and_apply_credit_on_the_customer_page(
    staff_client, customer, invoice
):
    content = staff_client.get(page(customer)).content.decode()
    for label, url in (
        ("Adjust balance", adjust_url(customer)),
        ("Pay out", pay_out_url(customer)),
        ("Apply credit", apply_url(customer)),
    ):
        assert re.search(
            rf'href="{url}" hx-get="{url}" hx-target="#modal"[^>]*>{label}</a>', content
        )


def test_pay_out_and_apply_credit_are_offered_only_where_they_can_act(staff_client, manager):
    customer = CustomerFactory(currency="USD")
    services.balance_adjust(
        customer=customer, amount=Money("5.00", "USD"), actor=manager, reason="Goodwill"
    )
    services.balance_adjust(
        customer=customer, amount=Money("-5.00", "USD"), actor=manager, reason="Taken back"
    )
    services.balance_adjust(
        customer=customer, amount=Money("1.000", "KWD"), actor=manager, reason="Goodwill"
    )
    content = get_ok(staff_client, page(customer)).content.decode()
    assert pay_out_url(customer, "KWD") in content
    assert pay_out_url(customer, "USD") not in content  # Nothing left to pay out.
    assert "Apply credit" not in content  # No KWD invoice to pay.
    assert "Adjust balance" in content


def test_clerks_may_apply_credit_but_see_no_adjust_or_pay_out(clerk_client, customer, invoice):
    content = get_ok(clerk_client, page(customer)).content.decode()
    assert "Apply credit" in content
    assert "Adjust balance" not in content and "Pay out" not in content


# -- the modals --------------------------------------------------------------------------


def test_the_adjust_balance_modal_opens_as_a_dialog_for_htmx(staff_client, customer):
    response = staff_client.get(adjust_url(customer), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert '<option value="JPY" selected>' in content
    for label in ("Currency", "Amount", "Reason"):
        assert re.search(rf'<label for="id_\w+">{label}</label>', content)
    assert "a negative one (-50.00) takes credit away" in content
    assert 'type="hidden" name="idempotency_key"' in content


def test_the_pay_out_modal_is_prefilled_with_the_balance(staff_client, customer):
    content = staff_client.get(pay_out_url(customer), headers=htmx("modal")).content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert 'name="amount" value="2000"' in content
    assert '<span class="suffix">JPY</span>' in content
    assert ">Reference</label>" in content and ">Notes</label>" in content


def test_the_apply_credit_modal_offers_the_payable_invoices_and_the_most_it_can(
    staff_client, customer, invoice, manager
):
    paid = issued_invoice(customer, manager, "100", apply_credit=False)
    services.payment_record(
        invoice=paid, amount=jpy("100"), method="cash", paid_at=paid.issue_date, actor=manager
    )
    content = get_ok(staff_client, apply_url(customer), headers=htmx("modal")).content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    assert f'<option value="{invoice.pk}" selected>{invoice.number} — 48,000 JPY due' in content
    assert paid.number not in content
    assert 'name="amount" value="2000"' in content  # The credit, less than the due.


@pytest.mark.parametrize("url", [adjust_url, pay_out_url, apply_url])
def test_without_javascript_each_action_is_a_page_of_its_own(staff_client, customer, url):
    response = staff_client.get(url(customer))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" in content and '<dialog id="modal-dialog" class="modal"' in content
    assert "open>" in content


def test_an_unknown_currency_is_not_found(staff_client, customer):
    assert staff_client.get(pay_out_url(customer, "XYZ")).status_code == 404
    assert staff_client.get(apply_url(customer, "XYZ")).status_code == 404


# -- adjust balance ----------------------------------------------------------------------


def test_adjusting_a_balance_answers_htmx_with_events_and_writes_the_entry(
    staff_client, customer, manager
):
    response = staff_client.post(adjust_url(customer), adjust(), headers=htmx("modal-form"))
    assert response.status_code == 204
    assert events(response) == ["customer-changed", "showMessage", "closeModal"]
    message = json.loads(response["HX-Trigger"])["showMessage"]["text"]
    assert message == "Adjusted Tanaka Trading's JPY credit by 500 JPY; it is now 2,500 JPY."
    assert credit(customer) == jpy("2500")
    entry = BalanceEntry.objects.latest("pk")
    assert (entry.kind, entry.amount, entry.reason, entry.created_by) == (
        "adjustment",
        jpy("500"),
        "Rounding",
        manager,
    )


def test_a_negative_adjustment_takes_credit_away_in_the_chosen_currency(staff_client, customer):
    kwd = adjust(currency="KWD", amount="12.125")
    assert staff_client.post(adjust_url(customer), kwd).status_code == 302
    other_key = "0b4e1a9e-4f8e-4a8e-9c43-2f4d1e0b9a12"
    response = staff_client.post(
        adjust_url(customer), adjust(amount="-2000", idempotency_key=other_key)
    )
    assert response.status_code == 302
    assert credit(customer) == jpy("0")
    assert credit(customer, "KWD") == Money("12.125", "KWD")


def test_an_adjustment_below_zero_shows_insufficient_balance_next_to_amount_and_writes_nothing(
    staff_client, customer
):
    before = record_counts()
    response = staff_client.post(
        adjust_url(customer), adjust(amount="-2001"), headers=htmx("modal-form")
    )
    content = response.content.decode()
    assert response.status_code == 422
    assert content.lstrip().startswith('<form id="modal-form"')
    assert "has only 2,000 JPY of credit" in error_next_to(content, "Amount")
    assert record_counts() == before
    assert credit(customer) == jpy("2000")


@pytest.mark.parametrize(
    ("fields", "label", "message"),
    [
        ({"amount": "0"}, "Amount", "must not be zero"),
        ({"amount": "1.5"}, "Amount", "JPY amounts have no decimals"),
        ({"amount": "lots"}, "Amount", "is not an amount"),
        ({"amount": "100000000000"}, "Amount", "larger than the largest allowed"),
        ({"reason": "   "}, "Reason", "This field is required"),
        ({"currency": "XYZ"}, "Currency", "Select a valid choice"),
    ],
)
def test_an_invalid_adjustment_shows_the_error_next_to_its_field_and_writes_nothing(
    staff_client, customer, fields, label, message
):
    before = record_counts()
    response = staff_client.post(adjust_url(customer), adjust(**fields), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert message in error_next_to(response.content.decode(), label)
    assert record_counts() == before


def test_the_same_key_for_a_different_adjustment_is_refused_at_the_top_and_writes_nothing(
    staff_client, customer
):
    staff_client.post(adjust_url(customer), adjust(), headers=htmx("modal-form"))
    before = record_counts()
    response = staff_client.post(
        adjust_url(customer), adjust(amount="600"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert '<div class="message message--error" role="alert"><p>This idempotency key' in (
        response.content.decode()
    )
    assert record_counts() == before


# -- pay out -----------------------------------------------------------------------------


def test_paying_out_credit_answers_htmx_with_events_and_writes_the_payout(
    staff_client, customer, manager
):
    response = staff_client.post(
        pay_out_url(customer), pay_out(amount="1500", notes="By bank"), headers=htmx("modal-form")
    )
    assert response.status_code == 204
    assert events(response) == ["customer-changed", "showMessage", "closeModal"]
    assert credit(customer) == jpy("500")
    entry = BalanceEntry.objects.latest("pk")
    assert (entry.kind, entry.amount, entry.reference, entry.reason, entry.created_by) == (
        "payout",
        jpy("-1500"),
        "Transfer 77",
        "By bank",
        manager,
    )


@pytest.mark.parametrize(
    ("fields", "label", "message"),
    [
        ({"amount": "2001"}, "Amount", "has only 2,000 JPY of credit"),
        ({"amount": "-5"}, "Amount", "must be positive"),
        ({"reference": ""}, "Reference", "This field is required"),
    ],
)
def test_a_refused_pay_out_shows_the_error_next_to_its_field_and_writes_nothing(
    staff_client, customer, fields, label, message
):
    before = record_counts()
    response = staff_client.post(
        pay_out_url(customer), pay_out(**fields), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert message in error_next_to(response.content.decode(), label)
    assert record_counts() == before
    assert credit(customer) == jpy("2000")


def test_a_pay_out_without_credit_in_that_currency_is_refused(staff_client, customer):
    before = record_counts()
    response = staff_client.post(
        pay_out_url(customer, "USD"), pay_out(amount="1.00"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "has only 0.00 USD of credit" in error_next_to(response.content.decode(), "Amount")
    assert record_counts() == before


# -- apply credit ------------------------------------------------------------------------


def test_applying_credit_answers_htmx_with_both_events_and_pays_the_invoice(
    clerk_client, customer, invoice, clerk
):
    response = clerk_client.post(apply_url(customer), apply(invoice), headers=htmx("modal-form"))
    assert response.status_code == 204
    assert events(response) == ["invoice-changed", "customer-changed", "showMessage", "closeModal"]
    assert credit(customer) == jpy("500")
    invoice.refresh_from_db()
    assert invoice.amount_due == jpy("46500")
    assert invoice.status == "partially_paid"
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.method, payment.amount, payment.created_by) == (
        "customer_credit",
        jpy("1500"),
        clerk,
    )


def test_an_empty_amount_applies_the_most_it_can(staff_client, customer, invoice):
    response = staff_client.post(apply_url(customer), apply(invoice, amount=""))
    assert response.status_code == 302
    assert credit(customer) == jpy("0")
    invoice.refresh_from_db()
    assert invoice.amount_due == jpy("46000")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("2001", "has only 2,000 JPY of credit"),
        ("0", "must not be zero"),
        ("10.5", "JPY amounts have no decimals"),
    ],
)
def test_a_refused_credit_application_shows_the_error_next_to_amount_and_writes_nothing(
    staff_client, customer, invoice, amount, message
):
    before = record_counts()
    response = staff_client.post(
        apply_url(customer), apply(invoice, amount=amount), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert message in error_next_to(response.content.decode(), "Amount")
    assert record_counts() == before


def test_credit_beyond_what_the_invoice_asks_for_is_refused(staff_client, manager):
    customer = CustomerFactory(currency="JPY")
    services.balance_adjust(customer=customer, amount=jpy("9000"), actor=manager, reason="Gift")
    small = issued_invoice(customer, manager, "1000", apply_credit=False)
    before = record_counts()
    response = staff_client.post(
        apply_url(customer), apply(small, amount="1001"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "Only 1,000 JPY can be paid on invoice" in error_next_to(
        response.content.decode(), "Amount"
    )
    assert record_counts() == before


def test_another_customers_or_a_paid_invoice_cannot_be_chosen(
    staff_client, customer, invoice, manager
):
    stranger = issued_invoice(CustomerFactory(currency="JPY"), manager, "1000")
    before = record_counts()
    response = staff_client.post(apply_url(customer), apply(stranger), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert "cannot be paid now" in error_next_to(response.content.decode(), "Invoice")
    assert record_counts() == before


# -- permissions, no JavaScript, double submits -----------------------------------------------


@pytest.mark.parametrize("url", [adjust_url, pay_out_url])
def test_clerks_may_not_adjust_or_pay_out_balances(client, clerk, customer, url):
    client.force_login(clerk)
    before = record_counts()
    for response in (client.get(url(customer)), client.post(url(customer), pay_out())):
        assert response.status_code == 403
        assert "adjust customer balances" in response.content.decode()
    assert record_counts() == before


def test_applying_credit_needs_the_record_payment_permission(client, nobody, customer, invoice):
    nobody.user_permissions.add(Permission.objects.get(codename="view_billing"))
    client.force_login(nobody)
    before = record_counts()
    for response in (
        client.get(apply_url(customer)),
        client.post(apply_url(customer), apply(invoice)),
    ):
        assert response.status_code == 403
        assert "record payments" in response.content.decode()
    assert record_counts() == before


def test_an_htmx_403_is_plain_text_for_a_toast(client, clerk, customer):
    client.force_login(clerk)
    response = client.post(adjust_url(customer), adjust(), headers=htmx("modal-form"))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")


def test_staff_without_the_view_permission_are_refused_any_action(client, nobody, customer):
    client.force_login(nobody)
    for url in (adjust_url, pay_out_url, apply_url):
        assert client.get(url(customer)).status_code == 403


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (adjust_url, lambda invoice: adjust()),
        (pay_out_url, lambda invoice: pay_out(amount="700")),
        (apply_url, lambda invoice: apply(invoice)),
    ],
)
def test_without_javascript_a_success_redirects_to_the_customer_page_with_a_message(
    staff_client, customer, invoice, url, data
):
    response = staff_client.post(url(customer), data(invoice))
    assert response.status_code == 302
    assert response["Location"] == page(customer)
    assert "HX-Trigger" not in response
    followed = staff_client.get(response["Location"]).content.decode()
    assert "message--success" in followed


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (adjust_url, lambda invoice: adjust()),
        (pay_out_url, lambda invoice: pay_out(amount="700")),
        (apply_url, lambda invoice: apply(invoice)),
    ],
)
def test_a_double_submit_writes_once(staff_client, customer, invoice, url, data):
    first = staff_client.post(url(customer), data(invoice), headers=htmx("modal-form"))
    after_first = record_counts()
    second = staff_client.post(url(customer), data(invoice), headers=htmx("modal-form"))
    assert first.status_code == second.status_code == 204
    assert record_counts() == after_first
    assert IdempotencyKey.objects.count() == 1


def test_the_balances_and_ledger_regions_show_the_change_when_they_refresh(staff_client, customer):
    staff_client.post(adjust_url(customer), adjust(amount="-500"), headers=htmx("modal-form"))
    balances = staff_client.get(page(customer), headers=htmx("balances")).content.decode()
    assert balances.lstrip().startswith('<section id="balances"')
    assert "1,500 JPY" in balances
    ledger = staff_client.get(page(customer), headers=htmx("ledger")).content.decode()
    assert "Adjustment" in ledger and "-500 JPY" in ledger and "Rounding" in ledger
