"""The matching rule's pieces: references in any spelling, and the evidence of
earlier transfers from the same account."""

import pytest

from bank.matching import names_similar, references
from bank.models import LineState, StatementLine
from bank.services import statement_import
from tests.bank.conftest import read


@pytest.mark.parametrize(
    "text",
    [
        "INV-2026-000102",
        "inv 2026 000102",
        "Inv-2026-000102.",
        "INV2026000102",
        "invoice: INV - 2026 - 000 102 thanks",
        "ref/INV-2026-000102/x",
    ],
)
def test_an_invoice_number_is_found_whatever_its_case_spaces_and_dashes(text):
    assert references(text) == ["INV-2026-000102"]


@pytest.mark.parametrize("text", ["INV-2026-00010", "XINV-2026-000102", "INV-2026-0001023 4", ""])
def test_what_is_not_an_invoice_number_is_not_taken_for_one(text):
    assert references(text) in ([], ["INV-2026-0001023"])
    assert "INV-2026-000102" not in references(text)


def test_references_come_once_each_in_order_from_text_and_end_to_end_id():
    assert references("INV-2026-000002 and inv 2026 000001", "INV2026000002") == [
        "INV-2026-000002",
        "INV-2026-000001",
    ]


def test_names_are_similar_ignoring_case_and_punctuation():
    assert names_similar("ELM STUDIO", "Elm Studio")
    assert names_similar("Acme Trading B.V.", "Acme Trading BV")
    assert not names_similar("Unknown Person", "Elm Studio")
    assert not names_similar("", "Elm Studio")


@pytest.mark.django_db
def test_earlier_transfers_from_the_same_account_suggest_that_customers_invoices(invoices, manager):
    statement_import(data=read("statement.csv"), file_name="s", actor=manager)
    from tests.helpers import issued_invoice

    later = issued_invoice(invoices["A"].customer, manager, "33.00", currency="EUR")
    data = (
        b"account,bank_reference,booking_date,amount,currency,counterparty_name,"
        b"counterparty_account,remittance\n"
        b"NL91ABNA0417164300,B2-001,2026-03-02,33.00,EUR,A. T. Holding,NL02ACME0000000001,march\n"
    )

    statement_import(data=data, file_name="next.csv", actor=manager)

    line = StatementLine.objects.get(bank_ref="B2-001")
    assert line.state == LineState.SUGGESTED
    first = line.evidence["candidates"][0]
    assert first["invoice"] == later.pk
    assert first["reasons"] == ["amount_equal", "same_account"]
