"""Which invoice a bank line paid: deterministic, and explaining itself.

``evaluate(lines)`` reads (it writes nothing) and gives each credit line a
``Verdict``: the state matching leaves it in, the evidence shown on the Bank
page, and, only when the rule below holds, the one invoice to record it on.

The automatic rule. A line is recorded as a payment without a person only when
- a strong reference, an invoice number in its remittance text or end-to-end
  id (``references``: case, spaces and dashes ignored), names exactly one
  invoice that can take a payment (``Invoice.can_take_payment``) in the line's
  currency, and
- the line's amount equals what that invoice still asks for
  (``Invoice.payable_now``).

Everything else with a candidate is a suggestion, each candidate with its
reasons:
- ``reference``: its number is in the text, in the line's currency, and it can
  take a payment (but the amount differs, or several are named);
- ``amount_equal``: what it still asks for equals the line's amount;
- ``same_account``: earlier lines from the same sender's account paid this
  customer's invoices;
- ``name_similar``: the sender's name is like the customer's (difflib ratio at
  least ``NAME_SIMILARITY``, case and punctuation ignored).
Candidates come from the references, from the customers the sender's account or
name identify (their invoices that can take a payment), and from an amount that
exactly one payable invoice in that currency asks for. They are ordered by a
fixed score (reference 4, amount 2, account 2, name 1), then the earliest due
date, then id; at most ``MAX_CANDIDATES`` are kept. A reference to an invoice
in another currency or that cannot take a payment is a note, not a candidate.
A line with no candidate stays unmatched.

Debits are not matched: money leaving the account pays no invoice. Import marks
them ignored with ``DEBIT_REASON``.

What is payable is never worked out here: the invoices come from
``Invoice.objects.can_take_payment()`` and each is asked ``payable_now``. The
queries are a fixed number per call, whatever the number of lines, so a
statement is evaluated in batches at a constant cost per line.
"""

import functools
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db.models import Count, F, Min
from django.db.models.functions import Lower

from bank.models import Direction, LinePayment, LineState
from billing.models import Customer, Invoice, PaymentStatus
from billing.money import format_money

DEBIT_REASON = "A debit: money that left the account pays no invoice."
NAME_SIMILARITY = 0.8
MAX_CANDIDATES = 5
WEIGHTS = {"reference": 4, "amount_equal": 2, "same_account": 2, "name_similar": 1}
REASON_TEXT = {
    "reference": "its number is in the remittance text or end-to-end id",
    "amount_equal": "the amount equals what it still asks for",
    "same_account": "earlier transfers from this account paid this customer",
    "name_similar": "the sender's name is like the customer's",
}

# INV, the year and the number, each character may be followed by spaces or
# dashes ("inv 2026 000102", "INV-2026-000 102", "INV2026000102"). Six digits
# (more only when written together), and no digit right after.
_SEP = r"[\s\-]*"
_REFERENCE = re.compile(
    r"(?<![A-Za-z0-9])I"
    + _SEP
    + "N"
    + _SEP
    + "V"
    + _SEP
    + r"((?:\d"
    + _SEP
    + r"){3}\d)"
    + _SEP
    + r"((?:\d"
    + _SEP
    + r"){5}\d\d*)(?!\d)",
    re.IGNORECASE,
)


def references(*texts):
    """The invoice numbers written in ``texts``, as invoices are numbered
    (``INV-2026-000102``), in order of appearance, each once."""
    found = []
    for text in texts:
        for year, number in _REFERENCE.findall(text or ""):
            digits = re.sub(r"\D", "", year), re.sub(r"\D", "", number)
            reference = f"INV-{digits[0]}-{digits[1]}"
            if reference not in found:
                found.append(reference)
    return found


def _name_key(name):
    return " ".join(re.sub(r"[^\w\s]", " ", (name or "").lower()).split())


@functools.lru_cache(maxsize=4096)
def names_similar(a, b):
    a, b = _name_key(a), _name_key(b)
    return bool(a and b) and SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY


# What a candidate is weighed and shown by (``_judge``, ``_candidate``, and
# ``payable_now``): a customer's invoices are many, and django-money's fields
# cost most of building each.
CANDIDATE_FIELDS = (
    "id",
    "number",
    "customer_id",
    "currency",
    "status",
    "due_date",
    "amount_due",
    "amount_due_currency",
    "amount_pending",
    "amount_pending_currency",
)


class _Asks(dict):
    """What each invoice still asks for (``Invoice.payable_now``), asked once per
    invoice in an ``evaluate`` call: an invoice is weighed against several lines,
    and django-money's arithmetic is the largest cost of matching a batch."""

    def __missing__(self, invoice):
        self[invoice] = asks = invoice.payable_now
        return asks


@dataclass
class Verdict:
    state: str
    evidence: dict = field(default_factory=dict)
    invoice: Invoice | None = None  # to record on automatically


def _candidate(invoice, reasons, asks):
    return {
        "invoice": invoice.pk,
        "number": invoice.number,
        "customer": invoice.customer.name,
        "customer_id": invoice.customer_id,
        # As people read it (the currency's decimals and code), kept as it was then.
        "payable": format_money(asks[invoice]),
        "currency": invoice.currency,
        "reasons": [r for r in WEIGHTS if r in reasons],
    }


def _score(item):
    invoice, reasons = item
    due = invoice.due_date.toordinal() if invoice.due_date else 10**7
    return (-sum(WEIGHTS[r] for r in reasons), due, invoice.pk)


def evaluate(lines):
    """A ``Verdict`` per credit line, keyed by the line's position in ``lines``.
    Reads only; a fixed number of queries for any number of lines."""
    credits = [(i, line) for i, line in enumerate(lines) if line.direction == Direction.CREDIT]
    if not credits:
        return {}
    asks = _Asks()
    refs = {i: references(line.remittance, line.end_to_end_id) for i, line in credits}
    all_refs = {r for found in refs.values() for r in found}
    by_number = {
        invoice.number: invoice
        for invoice in Invoice.objects.select_related("customer").filter(number__in=all_refs)
    }
    named = {i: _named(line, refs[i], by_number) for i, line in credits}
    # A line the automatic rule records needs no more evidence than its reference;
    # only the others are looked up by account, name and amount.
    others = [
        (i, line)
        for i, line in credits
        if not (len(named[i][0]) == 1 and asks[named[i][0][0]] == line.amount)
    ]

    # Customers the sender's account paid for before (recorded lines' payments).
    accounts = {line.counterparty_account for _, line in others if line.counterparty_account}
    customers_by_account = {}
    if accounts:
        for account, customer_id in (
            LinePayment.objects.filter(
                line__counterparty_account__in=accounts,
                line__state=LineState.RECORDED,
                payment__status=PaymentStatus.SUCCEEDED,
            )
            .values_list("line__counterparty_account", "payment__invoice__customer_id")
            .distinct()
        ):
            customers_by_account.setdefault(account, set()).add(customer_id)

    # Customers named exactly (case ignored) as the sender.
    names = {line.counterparty_name.lower() for _, line in others if line.counterparty_name}
    customers_by_name = {}
    if names:
        for customer_id, lowered in (
            Customer.objects.annotate(lowered=Lower("name"))
            .filter(lowered__in=names)
            .values_list("id", "lowered")
        ):
            customers_by_name.setdefault(lowered, set()).add(customer_id)

    payable = Invoice.objects.can_take_payment().select_related("customer")
    others_currencies = {(i, line.currency) for i, line in others}
    customer_ids = set().union(*customers_by_account.values(), *customers_by_name.values())
    invoices_by_customer = {}
    if customer_ids:
        # One customer instance for all its invoices (a customer may have many).
        customers = Customer.objects.in_bulk(customer_ids)
        invoices = (
            Invoice.objects.can_take_payment()
            .filter(customer_id__in=customer_ids, currency__in={c for _, c in others_currencies})
            .only(*CANDIDATE_FIELDS)
            .order_by("id")
        )
        for invoice in invoices:
            invoice.customer = customers[invoice.customer_id]
            invoices_by_customer.setdefault(invoice.customer_id, []).append(invoice)

    # An amount exactly one payable invoice in that currency asks for.
    currencies = {line.currency for _, line in others}
    amounts = {line.amount.amount for _, line in others}
    unique_amount = {}
    rows = (
        Invoice.objects.can_take_payment()
        .filter(currency__in=currencies)
        .annotate(asks=F("amount_due") - F("amount_pending"))
        .filter(asks__in=amounts)
        .values("currency", "asks")
        .annotate(n=Count("id"), first=Min("id"))
        .filter(n=1)
    )
    only_ids = {row["first"] for row in rows} if others else set()
    if only_ids:
        for invoice in payable.filter(pk__in=only_ids):
            unique_amount[(invoice.currency, asks[invoice].amount)] = invoice

    verdicts = {}
    other_ids = {i for i, _ in others}
    for i, line in credits:
        if i not in other_ids:
            verdicts[i] = _judge(line, refs[i], *named[i], {}, {}, {}, None, asks)
    # The same line gets the same evidence whatever else is in its batch.
    for i, line in others:
        verdicts[i] = _judge(
            line,
            refs[i],
            *named[i],
            customers_by_account.get(line.counterparty_account, set()),
            customers_by_name.get(line.counterparty_name.lower(), set()),
            invoices_by_customer,
            unique_amount.get((line.currency, line.amount.amount)),
            asks,
        )
    return verdicts


def _named(line, refs, by_number):
    """The invoices a line's references name that can take its payment, and
    notes on those that cannot."""
    strong, notes = [], []
    for number in refs:
        invoice = by_number.get(number)
        if invoice is None:
            notes.append(f"{number} is named, but there is no such invoice.")
        elif invoice.currency != line.currency:
            notes.append(f"{number} is named, but it is in {invoice.currency}.")
        elif not invoice.can_take_payment:
            notes.append(
                f"{number} is named, but it is {invoice.get_status_display().lower()} "
                f"and can take no payment now."
            )
        else:
            strong.append(invoice)
    return strong, notes


def _judge(
    line, refs, strong, notes, account_customers, name_customers, by_customer, by_amount, asks
):
    reasons = {}  # invoice pk -> (invoice, set of reasons)

    def add(invoice, reason):
        reasons.setdefault(invoice.pk, (invoice, set()))[1].add(reason)

    for invoice in strong:
        add(invoice, "reference")
    for customer_id in sorted(set(account_customers) | set(name_customers)):
        for invoice in by_customer.get(customer_id, []):
            if invoice.currency != line.currency:
                continue
            if customer_id in account_customers:
                add(invoice, "same_account")
            if customer_id in name_customers:
                add(invoice, "name_similar")
    if by_amount is not None:
        add(by_amount, "amount_equal")
    for invoice, found in reasons.values():
        if asks[invoice] == line.amount:
            found.add("amount_equal")
        if names_similar(line.counterparty_name, invoice.customer.name):
            found.add("name_similar")

    ranked = sorted(reasons.values(), key=_score)[:MAX_CANDIDATES]
    evidence = {
        "references": refs,
        "notes": notes,
        "candidates": [_candidate(invoice, found, asks) for invoice, found in ranked],
    }
    if len(strong) == 1 and asks[strong[0]] == line.amount:
        invoice = strong[0]
        evidence["auto"] = invoice.pk
        evidence["explanation"] = (
            f"{invoice.number} is named and asks for exactly "
            f"{format_money(asks[invoice])}: recorded automatically."
        )
        return Verdict(LineState.SUGGESTED, evidence, invoice)
    if len(strong) > 1:
        evidence["explanation"] = "Several payable invoices are named: a person chooses."
    elif strong:
        evidence["explanation"] = (
            f"{strong[0].number} is named but asks for {format_money(asks[strong[0]])}, "
            f"not {format_money(line.amount)}: a person confirms."
        )
    elif ranked:
        evidence["explanation"] = "No payable invoice is named: a person confirms."
    else:
        evidence["explanation"] = "Nothing points to an invoice."
    state = LineState.SUGGESTED if ranked else LineState.UNMATCHED
    return Verdict(state, evidence)
