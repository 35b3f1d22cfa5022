"""The Bank page and its actions (docs/bank.md, "The Bank page")."""

import json

import pytest
from django.urls import reverse

from bank import services
from bank.models import LineState, StatementLine
from billing.models import Payment, PaymentStatus
from tests.bank.conftest import bank_counts as record_counts
from tests.bank.conftest import read
from tests.billing.views.conftest import count_queries, htmx

pytestmark = pytest.mark.django_db

BANK = reverse("billing:bank")


@pytest.fixture
def lines(invoices, manager):
    services.statement_import(data=read("statement.csv"), file_name="s", actor=manager)
    return {line.bank_ref: line for line in StatementLine.objects.all()}


def url(name, line):
    return reverse(f"billing:bank_line_{name}", args=[line.pk])


def test_the_bank_page_lists_statements_and_suggestions_with_their_evidence(clerk_client, lines):
    response = clerk_client.get(BANK)
    assert response.status_code == 200
    content = response.content.decode()
    assert "NL91ABNA0417164300" in content
    assert "Suggested (3)" in content and "Recorded (3)" in content
    assert "INV-2026-000103" in content
    assert "its number is in the remittance text or end-to-end id" in content
    assert 'href="/bank/"' in content or f'href="{BANK}"' in content
    assert "<script>" not in content and "style=" not in content
    # A clerk may confirm but not undo.
    assert url("confirm", lines["B1-003"]) in content
    assert "/undo/" not in clerk_client.get(f"{BANK}?state=recorded").content.decode()


def test_each_state_shows_its_lines_and_who_acted(staff_client, lines, manager):
    response = staff_client.get(f"{BANK}?state=ignored")
    assert response.status_code == 200
    content = response.content.decode()
    assert "B1-006" in content and "A debit" in content and "manager" in content
    response = staff_client.get(f"{BANK}?state=recorded", headers=htmx("bank-lines"))
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="bank-lines"')
    assert url("undo", lines["B1-001"]) in response.content.decode()


def test_the_page_query_count_does_not_grow_with_lines(staff_client, invoices, manager):
    services.statement_import(data=read("statement.csv"), file_name="s", actor=manager)
    few = count_queries(staff_client, f"{BANK}?state=recorded")
    services.statement_import(data=read("overlap.csv"), file_name="o", actor=manager)
    assert StatementLine.objects.filter(state=LineState.RECORDED).count() == 4
    assert count_queries(staff_client, f"{BANK}?state=recorded") == few


def test_confirming_a_suggestion_answers_htmx_with_events(clerk_client, lines, invoices):
    line = lines["B1-003"]
    response = clerk_client.get(url("confirm", line), headers=htmx("modal"))
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<dialog id="modal-dialog"')

    response = clerk_client.post(
        url("confirm", line), {"invoice": invoices["C"].pk}, headers=htmx("modal-form")
    )

    assert response.status_code == 204
    assert list(json.loads(response["HX-Trigger"])) == ["bank-changed", "showMessage", "closeModal"]
    line.refresh_from_db()
    assert line.state == LineState.RECORDED


def test_a_refused_confirm_is_the_form_again_and_writes_nothing(clerk_client, lines, invoices):
    before = record_counts()
    # 70 on an invoice asking 60, without sending the rest to credit.
    response = clerk_client.post(
        url("confirm", lines["B1-004"]), {"invoice": invoices["E"].pk}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="modal-form"')
    assert 'data-code="invalid_amount"' in content
    # Not one of the candidates.
    response = clerk_client.post(
        url("confirm", lines["B1-004"]), {"invoice": invoices["A"].pk}, headers=htmx("modal-form")
    )
    assert response.status_code == 422
    assert record_counts() == before


def test_matching_splits_a_line_across_invoices(staff_client, lines, invoices):
    line = lines["B1-008"]  # 60.00
    response = staff_client.post(
        url("match", line),
        {
            "invoice_1": "inv 2026 000103",
            "amount_1": "40.00",
            "invoice_2": str(invoices["E"].pk),
            "amount_2": "20.00",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == BANK
    payments = Payment.objects.filter(bank_link__line=line)
    assert sorted((p.invoice.number, p.amount.amount) for p in payments) == [
        ("INV-2026-000103", 40),
        ("INV-2026-000105", 20),
    ]


def test_a_refused_match_writes_nothing(staff_client, lines):
    before = record_counts()
    for data in (
        {"invoice_1": "INV-2026-999999", "amount_1": "60.00"},
        {"invoice_1": "INV-2026-000105", "amount_1": "61.00"},
        {"invoice_1": "INV-2026-000105", "amount_1": "6.005"},
        {"invoice_1": "INV-2026-000105", "amount_1": "30.00", "invoice_2": "INV-2026-000103"},
        {},
    ):
        response = staff_client.post(
            url("match", lines["B1-008"]), data, headers=htmx("modal-form")
        )
        assert response.status_code == 422, data
    assert record_counts() == before


def test_ignore_and_undo_record_their_person_and_reason(staff_client, lines, manager):
    response = staff_client.post(url("ignore", lines["B1-007"]), {"reason": "Own transfer"})
    assert response.status_code == 302
    line = StatementLine.objects.get(pk=lines["B1-007"].pk)
    assert (line.state, line.ignored_by, line.ignore_reason) == ("ignored", manager, "Own transfer")

    response = staff_client.post(url("undo", lines["B1-001"]), {"reason": "Wrong customer"})
    assert response.status_code == 302
    payment = Payment.objects.get(bank_link__line=lines["B1-001"])
    assert (payment.status, payment.void_reason) == (PaymentStatus.VOIDED, "Wrong customer")


def test_a_clerk_may_not_undo_and_nothing_is_written(clerk_client, lines):
    before = record_counts()
    response = clerk_client.post(url("undo", lines["B1-001"]), {"reason": "x"}, headers=htmx())
    assert response.status_code == 403
    assert "void payments" in response.content.decode()
    assert record_counts() == before


def test_an_empty_reason_is_refused(staff_client, lines):
    before = record_counts()
    response = staff_client.post(url("ignore", lines["B1-007"]), {"reason": " "})
    assert response.status_code == 422
    assert StatementLine.objects.get(pk=lines["B1-007"].pk).state == LineState.UNMATCHED
    assert record_counts() == before


def test_a_candidate_shows_what_it_asks_for_at_its_currencys_decimals(staff_client, lines):
    response = staff_client.get(BANK)
    assert response.status_code == 200
    assert "asks 80.00 EUR" in response.content.decode()
