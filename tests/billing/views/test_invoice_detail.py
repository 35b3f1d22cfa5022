import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape
from moneyed import Money

from billing import services
from tests.billing.views.conftest import count_queries, htmx
from tests.factories import CustomerFactory
from tests.helpers import get_ok, issued_invoice, pay, saved_card, text

pytestmark = pytest.mark.django_db

REGIONS = ("invoice-header", "totals", "lines", "payments", "credit-notes", "timeline")


def url(invoice):
    return reverse("billing:invoice_detail", args=[invoice.pk])


@pytest.mark.parametrize(
    ("currency", "price", "total", "paid", "due"),
    [
        ("USD", "1250.00", "1,250.00 USD", "250.00 USD", "1,000.00 USD"),
        ("JPY", "48000", "48,000 JPY", "250 JPY", "47,750 JPY"),
        ("KWD", "375.125", "375.125 KWD", "250.000 KWD", "125.125 KWD"),
    ],
)
def test_amounts_show_in_the_currency_s_own_decimals(
    staff_client, clerk, currency, price, total, paid, due
):
    invoice = issued_invoice(CustomerFactory(currency=currency), clerk, price)
    pay(invoice, clerk, "250")
    response = staff_client.get(url(invoice))
    page = text(response)
    assert f"Total {total}" in page
    assert f"Paid {paid}" in page
    assert f"Due {due}" in page


def test_the_page_shows_header_totals_lines_payments_credit_notes_and_timeline(
    staff_client, manager
):
    customer = CustomerFactory(name="Acme Corporation")
    invoice = issued_invoice(customer, manager, "100.00")
    cheque = pay(invoice, manager, "30.00", method="cheque", details={"cheque_number": "123"})
    pay(
        invoice,
        manager,
        "20.00",
        method="card",
        details={"card_brand": "visa", "card_last4": "4242"},
    )
    services.payment_refund(
        payment=cheque,
        amount=Money("5.00", "USD"),
        destination="external",
        actor=manager,
        reason="requested_by_customer",
        reference="BACK-1",
    )
    services.credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="goodwill",
        reduce_due=Money("10.00", "USD"),
        memo="Sorry for the delay",
    )
    page = text(staff_client.get(url(invoice)))
    assert f"Invoice {invoice.number}" in page and "Acme Corporation" in page
    assert "Partially paid" in page
    assert "Total 100.00 USD Credited 10.00 USD Paid 45.00 USD Due 45.00 USD" in page
    assert "Service" in page  # the line
    assert "Cheque #123" in page
    assert "Card terminal: Visa •••• 4242" in page
    assert "Refund: Paid back outside the system (ref BACK-1)" in page
    assert "Requested by customer" in page
    assert "CN-" in page and "Goodwill" in page and "Sorry for the delay" in page
    for kind in ("Issued", "Payment recorded", "Refund issued", "Credit note issued"):
        assert kind in page
    assert "manager" in page


def test_pending_charges_show_only_when_there_are_some(staff_client, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk)
    assert "Pending charges" not in text(get_ok(staff_client, url(invoice)))


def test_a_charge_the_gateway_did_not_answer_shows_in_the_totals_as_pending(staff_client, clerk):
    customer = CustomerFactory()
    saved_card(customer, clerk, "sandbox_timeout_not_charged")
    invoice = issued_invoice(customer, clerk, "2000.00")
    payment = services.payment_charge(invoice=invoice, actor=clerk, amount=Money("1234.50", "USD"))
    assert payment.status == "pending"
    page = text(get_ok(staff_client, url(invoice)))
    assert "Pending charges 1,234.50 USD" in page
    assert "Due 2,000.00 USD" in page  # reserved, not yet paid


def test_a_paid_by_credit_invoice_says_so(staff_client, manager):
    invoice = issued_invoice(CustomerFactory(), manager, "40.00")
    services.credit_note_issue(
        invoice=invoice, actor=manager, reason="goodwill", reduce_due=Money("40.00", "USD")
    )
    assert "Paid by credit" in text(staff_client.get(url(invoice)))


def test_an_overdue_invoice_is_marked_overdue(staff_client, clerk):
    customer = CustomerFactory()
    draft = services.invoice_create(
        customer=customer,
        currency="USD",
        lines=[{"description": "x", "quantity": Decimal(1), "unit_price": Money("5", "USD")}],
        actor=clerk,
        due_date=datetime.date.today() - datetime.timedelta(days=1),
    )
    invoice = services.invoice_issue(invoice=draft, actor=clerk)
    content = staff_client.get(url(invoice)).content.decode()
    assert 'class="badge badge--overdue">Overdue<' in content


def test_a_draft_shows_without_number_or_payments(staff_client, clerk):
    draft = services.invoice_create(
        customer=CustomerFactory(),
        currency="USD",
        lines=[
            {"description": "Draft work", "quantity": Decimal(2), "unit_price": Money("5", "USD")}
        ],
        actor=clerk,
    )
    page = text(staff_client.get(url(draft)))
    assert f"Draft invoice #{draft.pk}" in page and "Draft work" in page
    assert "No payments yet." in page


def test_a_failed_charge_shows_its_failure_reason(staff_client, manager):
    customer = CustomerFactory()
    saved_card(customer, manager, "sandbox_declined", last4="0002")
    invoice = issued_invoice(customer, manager, "10.00")
    payment = services.payment_charge(invoice=invoice, actor=manager)
    assert payment.status == "failed"
    content = staff_client.get(url(invoice)).content.decode()
    assert "badge--failed" in content
    assert f'<div class="error small">{escape(payment.failure_reason)}</div>' in content
    assert "Visa •••• 0002" in content


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_comes_alone_to_htmx_and_refreshes_on_invoice_changed(
    staff_client, clerk, region
):
    invoice = issued_invoice(CustomerFactory(), clerk)
    response = get_ok(staff_client, url(invoice), headers=htmx(region))
    content = response.content.decode().strip()
    assert re.match(rf'<(section|header) id="{region}"', content), content[:200]
    assert "<html" not in content
    assert f'hx-get="{url(invoice)}"' in content
    assert 'hx-trigger="invoice-changed from:body"' in content
    assert "HX-Request" in response["Vary"]


def test_the_full_page_holds_every_region_and_the_modal_container(staff_client, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk)
    content = staff_client.get(url(invoice)).content.decode()
    for region in REGIONS:
        assert f'id="{region}"' in content
    assert '<div id="modal"></div>' in content


def test_a_region_refresh_runs_only_its_own_queries(staff_client, clerk):
    invoice = issued_invoice(CustomerFactory(), clerk)
    pay(invoice, clerk, "10.00")
    totals = count_queries(staff_client, url(invoice), headers=htmx("totals"))
    payments = count_queries(staff_client, url(invoice), headers=htmx("payments"))
    page = count_queries(staff_client, url(invoice))
    assert totals < payments < page


def test_the_query_count_does_not_grow_with_payments(staff_client, manager):
    customer = CustomerFactory()
    one = issued_invoice(customer, manager, "1000.00")
    pay(one, manager, "10.00", method="cheque", details={"cheque_number": "1"})
    ten = issued_invoice(customer, manager, "1000.00")
    for number in range(10):
        payment = pay(
            ten, manager, "10.00", method="cheque", details={"cheque_number": str(number)}
        )
        services.payment_refund(
            payment=payment,
            amount=Money("1.00", "USD"),
            destination="external",
            actor=manager,
            reason="other",
        )
        services.credit_note_issue(
            invoice=ten, actor=manager, reason="goodwill", reduce_due=Money("1.00", "USD")
        )
    assert count_queries(staff_client, url(one)) == count_queries(staff_client, url(ten))
