"""The payment page, /payments/<id>/ (views/payments.py payment_detail), and the
links that lead to it from every page showing a payment."""

import json
from html import escape

import pytest
from django.urls import reverse
from moneyed import Money

from billing import services
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, invoice_page, issued_invoice, pay, saved_card, text, user_with

pytestmark = pytest.mark.django_db


def url(payment):
    return reverse("billing:payment_detail", args=[payment.pk])


@pytest.fixture
def customer():
    return CustomerFactory(name="Bäckerei Müller", currency="USD")


@pytest.fixture
def invoice(customer, manager):
    return issued_invoice(customer, manager, "500.00")


def refund(payment, actor, amount, destination="external", **kwargs):
    return services.payment_refund(
        payment=payment,
        amount=Money(amount, payment.currency),
        destination=destination,
        reason=kwargs.pop("reason", "requested_by_customer"),
        actor=actor,
        **kwargs,
    )


def test_the_page_shows_what_how_who_and_when(staff_client, manager, invoice):
    payment = pay(
        invoice,
        manager,
        "120.00",
        method="bank_transfer",
        details={"bank_reference": "ACME-TRF-88812"},
        notes="Paid early",
    )
    response = staff_client.get(url(payment))
    assert response.status_code == 200
    page = text(response)
    assert f"Payment #{payment.pk} 120.00 USD Succeeded" in page
    assert "Method Bank transfer" in page
    assert "Bank reference ACME-TRF-88812" in page
    assert "Notes Paid early" in page
    assert f"Recorded {payment.created_at:%Y-%m-%d} " in page and f"by {manager.username}" in page
    content = response.content.decode()
    assert f'href="{invoice.get_absolute_url()}"' in content
    assert f'href="{invoice.customer.get_absolute_url()}"' in content
    assert "Bäckerei Müller" in page


def test_an_integrations_meta_is_shown_as_json_and_escaped(staff_client, manager, invoice):
    plain = pay(invoice, manager, "1.00")
    page = text(get_ok(staff_client, url(plain)))
    assert "Integration data" not in page
    meta = {"crmId": "<b>abc</b>", "n": 2}
    payment = pay(invoice, manager, "1.00", meta=meta)
    content = get_ok(staff_client, url(payment)).content.decode()
    assert "Integration data" in content
    assert f"<code>{escape(json.dumps(meta))}</code>" in content
    assert "<b>abc</b>" not in content


@pytest.mark.parametrize(
    ("method", "details", "shown"),
    [
        ("cheque", {"cheque_number": "104233"}, "Cheque number 104233"),
        ("card", {"card_brand": "visa", "card_last4": "4242"}, "Card Visa •••• 4242"),
        ("cash", {}, "Method Cash"),
    ],
)
def test_each_method_shows_its_details(staff_client, manager, invoice, method, details, shown):
    payment = pay(invoice, manager, "10.00", method=method, details=details)
    assert shown in text(get_ok(staff_client, url(payment)))


def test_a_charge_shows_its_saved_card_and_gateway_charge(staff_client, manager, invoice):
    saved_card(invoice.customer, manager, last4="1881", exp_month=3, exp_year=2031)
    payment = services.payment_charge(invoice=invoice, actor=manager)
    page = text(get_ok(staff_client, url(payment)))
    assert "Card Visa •••• 1881 · expires 03/2031" in page
    assert f"Gateway charge {payment.gateway_charge_id}" in page


def test_refunds_show_amount_destination_who_when_and_notes(staff_client, manager, invoice):
    payment = pay(invoice, manager, "300.00")
    first = refund(payment, manager, "50.00", notes="Damaged box", reference="BACK-7")
    refund(payment, manager, "25.00", destination="customer_credit", reason="duplicate")
    page = text(get_ok(staff_client, url(payment)))
    assert "Refunded 75.00 USD" in page and "can still be refunded 225.00 USD" in page
    assert (
        f"{first.created_at:%Y-%m-%d %H:%M} 50.00 USD Paid back outside the system Ref. BACK-7 "
        f"Requested by customer Damaged box Succeeded {manager.username}"
    ) in page
    assert "25.00 USD To customer credit Duplicate" in page


def test_a_refund_with_a_credit_note_names_the_note(staff_client, manager, invoice):
    payment = pay(invoice, manager, "500.00")
    issued = services.credit_note_issue(
        invoice=invoice,
        reason="product_unsatisfactory",
        refund=Money("40.00", "USD"),
        refund_payment=payment,
        actor=manager,
    )
    assert f"With credit note {issued.credit_note.number}" in text(
        get_ok(staff_client, url(payment))
    )


def test_the_timeline_holds_this_payments_entries_and_no_other(staff_client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    other = pay(invoice, manager, "33.00")
    refund(payment, manager, "10.00")
    response = get_ok(staff_client, url(payment), headers=htmx("payment-timeline"))
    timeline = text(response)
    assert timeline.index("Refund issued 10.00 USD") < timeline.index("Payment recorded 100.00 USD")
    assert "33.00 USD" not in timeline and "Issued" not in timeline
    assert other.pk != payment.pk


def test_each_region_renders_alone_for_htmx(staff_client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    for region in ("payment-header", "payment-details", "payment-refunds", "payment-timeline"):
        response = get_ok(staff_client, url(payment), headers=htmx(region))
        assert response.content.decode().lstrip().startswith("<")
        assert f'id="{region}"' in response.content.decode()
        assert "<html" not in response.content.decode()
        assert "HX-Target" in response["Vary"]


def test_the_actions_follow_the_models_rules(staff_client, manager, invoice):
    cash = pay(invoice, manager, "100.00")
    content = get_ok(staff_client, url(cash)).content.decode()
    assert reverse("billing:payment_refund", args=[cash.pk]) in content
    assert reverse("billing:payment_void", args=[cash.pk]) in content
    refund(cash, manager, "10.00")
    content = get_ok(staff_client, url(cash)).content.decode()
    # Refunded in part: still refundable, no longer voidable (Payment.can_void).
    assert reverse("billing:payment_refund", args=[cash.pk]) in content
    assert reverse("billing:payment_void", args=[cash.pk]) not in content


def test_a_succeeded_payment_offers_its_receipt_to_download_and_e_mail(
    staff_client, manager, invoice
):
    cash = pay(invoice, manager, "100.00")
    content = get_ok(staff_client, url(cash)).content.decode()
    assert reverse("billing:payment_receipt_pdf", args=[cash.pk]) in content
    assert reverse("billing:payment_receipt_email", args=[cash.pk]) in content


def test_a_failed_charge_offers_retry_and_no_refund(staff_client, manager, invoice):
    saved_card(invoice.customer, manager, token="sandbox_declined")
    failed = services.payment_charge(invoice=invoice, actor=manager)
    assert failed.status == "failed"
    response = get_ok(staff_client, url(failed))
    content = response.content.decode()
    assert reverse("billing:payment_retry", args=[failed.pk]) in content
    assert reverse("billing:payment_refund", args=[failed.pk]) not in content
    assert reverse("billing:payment_receipt_pdf", args=[failed.pk]) not in content
    assert "Failed" in text(response)


def test_a_viewer_sees_the_page_without_actions(client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    client.force_login(user_with())
    content = get_ok(client, url(payment)).content.decode()
    assert reverse("billing:payment_refund", args=[payment.pk]) not in content
    assert reverse("billing:payment_void", args=[payment.pk]) not in content


def test_a_voided_payment_says_who_voided_it_and_why(staff_client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    services.payment_void(payment=payment, reason="Recorded twice", actor=manager)
    page = text(get_ok(staff_client, url(payment)))
    assert "Voided" in page and f"by {manager.username}: Recorded twice" in page


def test_no_such_payment_is_a_404(staff_client):
    assert staff_client.get(reverse("billing:payment_detail", args=[2**63 - 1])).status_code == 404


def test_the_query_count_does_not_grow_with_refunds(staff_client, manager, invoice):
    payment = pay(invoice, manager, "300.00")
    refund(payment, manager, "1.00")
    one = count_queries(staff_client, url(payment))
    for _ in range(5):
        refund(payment, manager, "1.00", destination="customer_credit")
    assert count_queries(staff_client, url(payment)) == one


# -- the links to it -------------------------------------------------------------------------


def test_the_invoice_pages_payment_rows_link_to_the_payment(staff_client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    assert f'href="{url(payment)}"' in invoice_page(staff_client, invoice)


def test_the_payments_list_links_each_payment(staff_client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    content = get_ok(staff_client, reverse("billing:payment_list")).content.decode()
    assert f'href="{url(payment)}"' in content


def test_the_customer_ledger_links_the_payment_of_a_refund_to_credit(
    staff_client, manager, invoice, customer
):
    payment = pay(invoice, manager, "100.00")
    refund(payment, manager, "10.00", destination="customer_credit")
    content = get_ok(staff_client, customer.get_absolute_url()).content.decode()
    assert f'href="{url(payment)}"' in content


def test_the_dashboard_activity_links_the_payment_it_names(staff_client, manager, invoice):
    payment = pay(invoice, manager, "100.00")
    content = get_ok(staff_client, reverse("billing:dashboard")).content.decode()
    assert f'href="{url(payment)}"' in content
