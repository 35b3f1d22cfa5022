"""The Bank page and its actions (docs/bank.md, "The Bank page")."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from bank import services
from bank.models import LineState, StatementLine
from billing.models import Payment, PaymentStatus
from tests.bank.conftest import bank_counts as record_counts
from tests.bank.conftest import read
from tests.billing.views.conftest import count_queries, htmx
from tests.helpers import issued_invoice

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


def split(*rows, total=None, **extra):
    """The match form's POST: ``rows`` of (invoice as typed, amount)."""
    data = {
        "split-TOTAL_FORMS": str(total if total is not None else max(len(rows), 1)),
        "split-INITIAL_FORMS": "0",
        "split-MIN_NUM_FORMS": "0",
        "split-MAX_NUM_FORMS": "100",
    }
    for i, (invoice, amount) in enumerate(rows):
        data[f"split-{i}-invoice"], data[f"split-{i}-amount"] = invoice, amount
    return {**data, **extra}


def test_matching_splits_a_line_across_invoices(staff_client, lines, invoices):
    line = lines["B1-008"]  # 60.00
    response = staff_client.post(
        url("match", line), split(("inv 2026 000103", "40.00"), (str(invoices["E"].pk), "20.00"))
    )
    assert response.status_code == 302
    assert response["Location"] == BANK
    payments = Payment.objects.filter(bank_link__line=line)
    assert sorted((p.invoice.number, p.amount.amount) for p in payments) == [
        ("INV-2026-000103", 40),
        ("INV-2026-000105", 20),
    ]


def test_a_split_takes_as_many_invoices_as_staff_add(staff_client, lines, invoices, manager):
    line = lines["B1-008"]  # 60.00
    more = [issued_invoice(invoices["E"].customer, manager, "15.00") for _ in range(3)]
    rows = [("INV-2026-000103", "10.00"), ("INV-2026-000105", "5.00")]
    rows += [(invoice.number, "15.00") for invoice in more]
    response = staff_client.post(
        url("match", line), split(*rows, total=7), headers=htmx("modal-form")
    )
    assert response.status_code == 204
    line.refresh_from_db()
    assert line.state == LineState.RECORDED
    payments = Payment.objects.filter(bank_link__line=line)
    assert sorted((p.invoice.number, p.amount.amount) for p in payments) == sorted(
        (number, Decimal(amount)) for number, amount in rows
    )
    for invoice in more:
        invoice.refresh_from_db()
        assert invoice.amount_due.amount == 0


def test_add_another_invoice_shows_one_more_row_and_writes_nothing(staff_client, lines):
    line = lines["B1-008"]
    response = staff_client.get(url("match", line), headers=htmx("modal"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="split-1-invoice"' in content and 'name="split-2-invoice"' not in content
    assert 'value="60.00"' in content  # the whole line on the first row
    before = record_counts()
    rows = [("INV-2026-000103", "10.00"), ("", ""), ("INV-2026-000105", "")]
    response = staff_client.post(
        url("match", line), split(*rows, add_row="1"), headers=htmx("modal-form")
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="modal-form"')
    # The typed rows come back (the empty one dropped), unvalidated, and one empty row.
    assert 'name="split-0-invoice"' in content and 'value="INV-2026-000103"' in content
    assert 'name="split-1-invoice"' in content and 'value="INV-2026-000105"' in content
    assert 'name="split-2-invoice"' in content and 'name="split-3-invoice"' not in content
    assert "errorlist" not in content
    # Without JavaScript: the whole page, the dialog open, the rows kept.
    response = staff_client.post(url("match", line), split(*rows, add_row="1"))
    assert response.status_code == 200
    content = response.content.decode()
    assert '<dialog id="modal-dialog"' in content and " open>" in content
    assert 'name="split-2-invoice"' in content and 'value="INV-2026-000105"' in content
    assert record_counts() == before


def test_a_refused_match_writes_nothing(staff_client, lines, invoices, manager):
    more = issued_invoice(invoices["E"].customer, manager, "15.00")
    before = record_counts()
    for data, code in (
        (split(("INV-2026-999999", "60.00")), "invoice_not_found"),
        (split(("INV-2026-000105", "61.00")), "invalid_amount"),
        (split(("INV-2026-000105", "6.005")), None),
        (split(("INV-2026-000105", "30.00"), ("INV-2026-000103", "")), None),
        (split(("", "30.00")), None),
        (split(), None),
        ({}, None),
        # The sum beyond the line's 60.00, over four invoices.
        (
            split(
                ("INV-2026-000103", "20.00"),
                ("INV-2026-000105", "20.00"),
                (more.number, "15.00"),
                (str(invoices["C"].pk + 10_000), "1.00"),
            ),
            "invoice_not_found",
        ),
        (
            split(
                ("INV-2026-000103", "30.00"),
                ("INV-2026-000105", "20.00"),
                (more.number, "15.00"),
            ),
            "invalid_amount",
        ),
        # Less than the line, without its rest to credit.
        (split(("INV-2026-000103", "20.00"), (more.number, "10.00")), "invalid_amount"),
        # 20.00 on the one asking 15.00.
        (
            split(("INV-2026-000103", "20.00"), ("INV-2026-000105", "20.00"), (more.number, "20")),
            "overpayment",
        ),
        (split(("INV-2026-000103", "30.00"), (str(invoices["C"].pk), "30.00")), "invalid_value"),
        (split(*[("INV-2026-000103", "0.01")] * 101), None),
    ):
        response = staff_client.post(
            url("match", lines["B1-008"]), data, headers=htmx("modal-form")
        )
        assert response.status_code == 422, data
        if code:
            assert f'data-code="{code}"' in response.content.decode(), data
    assert record_counts() == before


def test_a_split_sends_what_is_left_to_credit_when_asked(staff_client, lines, invoices):
    line = lines["B1-008"]  # 60.00
    rows = split(("INV-2026-000103", "30.00"), ("INV-2026-000105", "20.00"))
    response = staff_client.post(url("match", line), rows, headers=htmx("modal-form"))
    assert response.status_code == 422
    assert "10.00 EUR of the line is not assigned" in response.content.decode()
    response = staff_client.post(
        url("match", line), {**rows, "rest_to_credit": "on"}, headers=htmx("modal-form")
    )
    assert response.status_code == 204
    line.refresh_from_db()
    assert line.credit_entry.amount.amount == 10


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
