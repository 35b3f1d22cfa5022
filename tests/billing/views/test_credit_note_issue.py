"""Issue credit note: the modal, its preview, its refusals (docs/frontend.md)."""

import re

import pytest
from django.urls import reverse
from moneyed import Money

from billing import selectors, services
from billing.models import CreditNote, Invoice, Payment, Refund
from tests.billing.views.conftest import htmx
from tests.factories import CustomerFactory
from tests.helpers import (
    get_ok,
    invoice_page,
    issued_invoice,
    pay,
    record_counts,
    saved_card,
    text,
    triggers,
)

pytestmark = pytest.mark.django_db

KEY = "0b7c3f52-5d2e-4f6a-8d1e-5b8f0a2c9e71"


def url(invoice):
    return reverse("billing:credit_note_issue", args=[invoice.pk])


def detail(invoice):
    return reverse("billing:invoice_detail", args=[invoice.pk])


def data(**fields):
    return {"reason": "goodwill", "memo": "", "idempotency_key": KEY, **fields}


@pytest.fixture
def customer():
    return CustomerFactory(name="Acme Corporation", currency="USD")


@pytest.fixture
def invoice(customer, manager):
    """100.00 USD, 40.00 paid by cheque: 60.00 due."""
    invoice = issued_invoice(customer, manager, "100.00")
    pay(invoice, manager, "40.00", method="cheque", details={"cheque_number": "123"})
    invoice.refresh_from_db()
    return invoice


@pytest.fixture
def cheque(invoice):
    return invoice.payments.get()


def card_payment(customer, manager, token="sandbox_ok", amount="100.00"):
    saved_card(customer, manager, token)
    invoice = issued_invoice(customer, manager, amount)
    payment = services.payment_charge(invoice=invoice, actor=manager)
    assert payment.status == "succeeded"
    invoice.refresh_from_db()
    return invoice, payment


# -- the modal -----------------------------------------------------------------------


def test_the_modal_opens_as_a_dialog_with_the_three_parts_and_the_payments(
    staff_client, invoice, cheque
):
    response = get_ok(staff_client, url(invoice), headers=htmx("modal"))
    content = response.content.decode()
    assert content.lstrip().startswith('<dialog id="modal-dialog"')
    for label in (
        "Reason",
        "Reduce what is due",
        "Refund",
        "From payment",
        "Move to customer credit",
        "Notes",
    ):
        assert re.search(rf'<label for="id_\w+">{label}</label>', content), label
    assert "Cheque #123 · " in content and "40.00 USD refundable (paid back outside" in content
    assert f'<option value="{cheque.pk}" selected>' in content  # the only one
    assert 'name="idempotency_key"' in content
    assert ">Preview</button>" in content and "Confirm" not in content
    assert 'hx-trigger="change"' in content and "&quot;preview&quot;" not in content


def test_without_payments_only_the_due_can_be_reduced(staff_client, customer, manager):
    unpaid = issued_invoice(customer, manager)
    content = get_ok(staff_client, url(unpaid), headers=htmx("modal")).content.decode()
    assert 'name="reduce_due"' in content
    assert 'name="refund"' not in content and 'name="to_credit"' not in content


def test_without_javascript_the_modal_is_a_page(staff_client, invoice):
    assert "<html" in staff_client.get(url(invoice)).content.decode()


def test_the_invoice_page_offers_issue_credit_note_to_managers_only(
    staff_client, client, clerk, invoice, customer, manager
):
    assert ">Issue credit note</a>" in invoice_page(staff_client, invoice)
    draft = services.invoice_create(customer=customer, currency="USD", lines=[], actor=manager)
    assert "Issue credit note" not in invoice_page(staff_client, draft)
    client.force_login(clerk)
    assert "Issue credit note" not in invoice_page(client, invoice)


# -- the preview ---------------------------------------------------------------------


def test_the_preview_shows_the_amounts_after_the_credit_note_and_writes_nothing(
    staff_client, invoice, cheque
):
    before = record_counts()
    response = staff_client.post(
        url(invoice),
        data(
            preview="1", reduce_due="10.00", refund="5.00", refund_payment=cheque.pk, to_credit="15"
        ),
        headers=htmx("modal-form"),
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<form id="modal-form"')
    page = text(response)
    assert "After this credit note" in page
    assert "Total 100.00 USD 100.00 USD" in page
    assert "Credited 0.00 USD 30.00 USD" in page
    assert "Paid 40.00 USD 20.00 USD" in page
    assert "Due 60.00 USD 50.00 USD" in page
    assert "Customer credit 0.00 USD 15.00 USD" in page
    assert "Status Partially paid Partially paid" in page
    assert ">Confirm</button>" in response.content.decode()
    assert f'value="{KEY}"' in response.content.decode()  # the same key confirms
    assert record_counts() == before


def test_htmx_previews_on_change_into_the_preview_region_alone(staff_client, invoice):
    before = record_counts()
    response = staff_client.post(
        url(invoice),
        data(preview="1", reason="", reduce_due="60"),
        headers=htmx("credit-note-preview"),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="credit-note-preview">')
    assert 'name="reduce_due"' not in content  # the fields stay as typed
    assert "Due 60.00 USD 0.00 USD" in text(response)
    assert ">Confirm</button>" in content
    assert record_counts() == before


def test_htmx_s_preview_lists_what_is_wrong_in_the_preview_region(staff_client, invoice):
    response = staff_client.post(
        url(invoice),
        data(preview="1", reduce_due="61", to_credit="1.005"),
        headers=htmx("credit-note-preview"),
    )
    assert response.status_code == 200
    page = text(response)
    assert "Move to customer credit: USD amounts have at most 2 decimals" in page
    assert "After this credit note" not in page and "Confirm" not in page
    response = staff_client.post(
        url(invoice), data(preview="1", reduce_due="61"), headers=htmx("credit-note-preview")
    )
    assert "Reduce what is due: Only 60.00 USD is due on invoice" in text(response)


def test_the_preview_needs_no_reason_yet_and_nothing_to_preview_is_no_error(staff_client, invoice):
    response = staff_client.post(
        url(invoice), data(preview="1", reason=""), headers=htmx("modal-form")
    )
    assert response.status_code == 200
    assert "errorlist" not in response.content.decode()
    assert "After this credit note" not in response.content.decode()


def test_a_preview_beyond_the_due_is_shown_as_an_error_and_writes_nothing(staff_client, invoice):
    before = record_counts()
    response = staff_client.post(
        url(invoice), data(preview="1", reduce_due="60.01"), headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert "Only 60.00 USD is due on invoice" in response.content.decode()
    assert "Confirm" not in response.content.decode()
    assert record_counts() == before


def test_the_preview_works_without_javascript(staff_client, invoice):
    response = staff_client.post(url(invoice), data(preview="1", reduce_due="60"))
    assert response.status_code == 200
    page = text(response)
    assert "<html" in response.content.decode()
    assert "Due 60.00 USD 0.00 USD" in page and "Status Partially paid Paid" in page


@pytest.mark.parametrize(
    ("currency", "price", "paid", "reduce", "shown"),
    [
        ("JPY", "48000", "8000", "1000", ["Due 40,000 JPY 39,000 JPY", "Credited 0 JPY 1,000 JPY"]),
        (
            "KWD",
            "375.125",
            "100",
            "0.125",
            ["Due 275.125 KWD 275.000 KWD", "Paid 100.000 KWD 100.000 KWD"],
        ),
    ],
)
def test_the_preview_shows_each_currency_with_its_own_decimals(
    staff_client, manager, currency, price, paid, reduce, shown
):
    invoice = issued_invoice(CustomerFactory(currency=currency), manager, price)
    pay(invoice, manager, paid)
    page = text(staff_client.post(url(invoice), data(preview="1", reduce_due=reduce)))
    for expected in shown:
        assert expected in page


def test_credit_note_after_adds_up_the_parts(customer):
    # Unsaved records: the preview reads only what it is given.
    usd = Invoice(
        currency="USD",
        status="partially_paid",
        total=Money("100.00", "USD"),
        amount_credited=Money("10.00", "USD"),
        amount_paid=Money("50.00", "USD"),
        amount_due=Money("40.00", "USD"),
        amount_pending=Money("0.00", "USD"),
    )
    after = selectors.credit_note_after(
        invoice=usd,
        credit=Money("5.00", "USD"),
        reduce_due=Money("40.00", "USD"),
        refund=Money("20.00", "USD"),
        to_credit=Money("10.00", "USD"),
    )
    assert (after.total, after.credited, after.paid, after.due, after.credit) == (
        Money("100.00", "USD"),
        Money("80.00", "USD"),
        Money("20.00", "USD"),
        Money("0.00", "USD"),
        Money("15.00", "USD"),
    )
    assert after.status == "paid" and after.status_label == "Paid" and after.exceeds == {}


def test_credit_note_after_sends_a_refund_of_credit_back_to_credit_and_names_what_exceeds():
    kwd = Invoice(
        currency="KWD",
        status="partially_paid",
        total=Money("10.000", "KWD"),
        amount_credited=Money("0.000", "KWD"),
        amount_paid=Money("4.000", "KWD"),
        amount_due=Money("6.000", "KWD"),
        amount_pending=Money("1.000", "KWD"),
    )
    from_credit = Payment(
        currency="KWD",
        status="succeeded",
        method="customer_credit",
        amount=Money("4.000", "KWD"),
        amount_refunded=Money("0.000", "KWD"),
        amount_to_credit=Money("0.000", "KWD"),
    )
    after = selectors.credit_note_after(
        invoice=kwd,
        credit=Money("0.500", "KWD"),
        reduce_due=Money("0", "KWD"),
        refund=Money("1.250", "KWD"),
        to_credit=Money("0", "KWD"),
        refund_payment=from_credit,
    )
    assert after.credit == Money("1.750", "KWD") and after.paid == Money("2.750", "KWD")
    assert after.status == "partially_paid"
    too_much = selectors.credit_note_after(
        invoice=kwd,
        credit=Money("0", "KWD"),
        reduce_due=Money("5.500", "KWD"),  # 6 due, 1 reserved by a pending charge
        refund=Money("4.001", "KWD"),
        to_credit=Money("0", "KWD"),
        refund_payment=from_credit,
    )
    assert set(too_much.exceeds) == {"reduce_due", "refund"}
    assert too_much.exceeds["reduce_due"].startswith("Only 5.000 KWD is due")


# -- issuing -------------------------------------------------------------------------


def test_reducing_the_due_issues_a_credit_note_and_tells_the_invoice_page(staff_client, invoice):
    response = staff_client.post(
        url(invoice), data(reduce_due="10.00", memo="Late delivery"), headers=htmx("x")
    )
    assert response.status_code == 204
    assert list(triggers(response)) == ["invoice-changed", "showMessage", "closeModal"]
    note = CreditNote.objects.get()
    assert note.reduce_due == Money("10.00", "USD") and note.memo == "Late delivery"
    assert triggers(response)["showMessage"] == {
        "text": f"Issued credit note {note.number} for 10.00 USD.",
        "level": "success",
    }
    invoice.refresh_from_db()
    assert invoice.amount_credited == Money("10.00", "USD")
    assert invoice.amount_due == Money("50.00", "USD")


def test_all_three_parts_at_once_move_the_invoice_and_the_customer_s_credit(
    staff_client, invoice, cheque, customer
):
    response = staff_client.post(
        url(invoice),
        data(reduce_due="60", refund="15", refund_payment=cheque.pk, to_credit="25"),
        headers=htmx("x"),
    )
    assert response.status_code == 204
    assert list(triggers(response)) == [
        "invoice-changed",
        "customer-changed",
        "showMessage",
        "closeModal",
    ]
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.amount_credited == Money("100.00", "USD")
    assert invoice.amount_paid == Money("0.00", "USD")
    assert Refund.objects.get().destination == "external"
    assert selectors.customer_credit(customer=customer, currency="USD") == Money("25.00", "USD")


def test_issuing_without_javascript_redirects_to_the_invoice(staff_client, invoice):
    response = staff_client.post(url(invoice), data(reduce_due="1"))
    assert response.status_code == 302 and response["Location"] == detail(invoice)


def test_a_double_submit_with_the_same_key_issues_once(staff_client, invoice, cheque):
    fields = data(refund="5", refund_payment=cheque.pk)
    first = staff_client.post(url(invoice), fields, headers=htmx("x"))
    counts = record_counts()
    second = staff_client.post(url(invoice), fields, headers=htmx("x"))
    assert first.status_code == second.status_code == 204
    assert record_counts() == counts
    assert CreditNote.objects.count() == 1 and Refund.objects.count() == 1


def test_a_refund_the_gateway_refuses_shows_on_the_page_as_refund_failed(
    staff_client, customer, manager
):
    invoice, payment = card_payment(customer, manager, token="sandbox_refund_fails")
    response = staff_client.post(
        url(invoice), data(refund="30.00", refund_payment=payment.pk), headers=htmx("x")
    )
    assert response.status_code == 204
    message = triggers(response)["showMessage"]
    assert message["level"] == "warning"
    assert (
        "The refund failed at the gateway: The refund was refused by the card issuer."
        in (message["text"])
    )
    page = text(staff_client.get(detail(invoice)))
    assert "refund failed: The refund was refused by the card issuer." in page


def test_a_card_refund_through_a_credit_note_goes_back_to_the_card(staff_client, customer, manager):
    invoice, payment = card_payment(customer, manager)
    content = staff_client.get(url(invoice), headers=htmx("modal")).content.decode()
    assert "Visa •••• 4242 · " in content and "(back to the card)" in content
    response = staff_client.post(
        url(invoice), data(refund="30.00", refund_payment=payment.pk), headers=htmx("x")
    )
    assert triggers(response)["showMessage"]["level"] == "success"
    refund = Refund.objects.get()
    assert refund.destination == "original_method" and refund.status == "succeeded"
    assert "refund failed" not in text(get_ok(staff_client, detail(invoice)))


# -- refusals: 422, next to the field or at the top, nothing written ----------------


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"reduce_due": "60.01"}, "Only 60.00 USD is due on invoice"),  # credit_note_exceeds
        ({"to_credit": "40.01"}, "paid on invoice"),  # credit_note_exceeds_invoice
        ({"refund": "40.01", "refund_payment": "CHEQUE"}, "At most 40.00 USD of this payment"),
        ({"refund": "5"}, "Choose the payment to refund."),
        ({}, "Enter what the credit note credits: at least one part."),
        ({"reduce_due": "1.001"}, "USD amounts have at most 2 decimals"),
        ({"reduce_due": "-1"}, "The amount must be positive."),
        ({"reduce_due": "1", "reason": ""}, "This field is required."),
        ({"reduce_due": "1", "reason": "whim"}, "Select a valid choice."),
    ],
)
def test_a_refused_credit_note_shows_the_form_again_with_422_and_writes_nothing(
    staff_client, invoice, cheque, fields, error
):
    if fields.get("refund_payment") == "CHEQUE":
        fields = {**fields, "refund_payment": cheque.pk}
    before = record_counts()
    response = staff_client.post(url(invoice), data(**fields), headers=htmx("modal-form"))
    assert response.status_code == 422
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="modal-form"')
    assert error in content
    assert record_counts() == before
    invoice.refresh_from_db()
    assert invoice.amount_credited == Money("0.00", "USD")


def test_a_service_refusal_shows_next_to_its_field(staff_client, invoice, cheque):
    response = staff_client.post(
        url(invoice), data(refund="40.01", refund_payment=cheque.pk), headers=htmx("modal-form")
    )
    refund_row = re.search(
        r'<div class="form-row form-row--error">\s*<span class="form-label">'
        r'<label for="id_refund">Refund</label>.*?</div>',
        response.content.decode(),
        re.S,
    )
    assert refund_row  # the refund's row carries the error


def test_a_void_invoice_cannot_be_credited(staff_client, customer, manager):
    invoice = issued_invoice(customer, manager)
    services.invoice_void(invoice=invoice, actor=manager, reason="Sent twice")
    before = record_counts()
    response = staff_client.post(url(invoice), data(reduce_due="1"), headers=htmx("modal-form"))
    assert response.status_code == 422
    assert "only an issued invoice can be credited" in response.content.decode()
    assert record_counts() == before


@pytest.mark.parametrize("who", ["clerk", "nobody"])
def test_people_without_issue_credit_note_get_403_and_nothing_is_written(
    client, invoice, request, who
):
    client.force_login(request.getfixturevalue(who))
    before = record_counts()
    assert client.get(url(invoice)).status_code == 403
    response = client.post(url(invoice), data(reduce_due="1"), headers=htmx("x"))
    assert response.status_code == 403
    assert record_counts() == before
