"""No input makes a server error, and a refusal writes nothing.

One generated test per door of the back office: every POST form (with the
regions htmx posts it to), the four list filters and the two CSV exports.
Each example sends one request, as a signed-in manager, built from a plausible
input (amounts in the record's currency, dates, known choices, real ids) with
up to a few of its fields spoiled: a hostile value (1e26, 40 digits, NaN, sNaN,
Infinity, negative, exponents, non-ASCII digits, 10,000 characters, NUL, ids
beyond 64 bits, 0001-01-01, 01/02/26...) or left out. So both the acceptance
and the refusal paths run. Each example asserts:

- no 5xx and no exception, also not in the middle of a streamed CSV; a failure
  names the request (hypothesis shrinks it to a small one);
- an answer that did not act (a refusal: 4xx; a re-rendered form, region or
  preview: 200) wrote nothing: every row of every billing table is as before.
  The one exception is a gateway's refusal (422 with ``HX-Trigger:
  invoice-changed``): the failed charge or refund is kept on purpose;
- an answer that acted left the records agreeing (``find_disagreements``).

Each example runs in a savepoint rolled back after it, so every one starts from
the same records (``world``). Runs are derandomized (the same examples every
time) and keep no example database. ``FUZZ_EXAMPLES`` (default 100) sets the
number of examples per door: ``FUZZ_EXAMPLES=2000 pytest tests/billing/views/test_fuzz.py``
for a long run.
"""

import datetime
import logging
import os
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moneyed import Money

from bank.models import StatementLine
from bank.services import statement_import
from billing import permissions, services
from billing.models import (
    CreditNoteReason,
    InvoiceStatus,
    PaymentMethodKind,
    PaymentStatus,
    RefundDestination,
    RefundReason,
    RefundStatus,
)
from billing.money import minor_unit
from billing.selectors import OVERDUE
from tests.billing.views.conftest import htmx
from tests.billing.views.doors import (
    assert_records_agree,
    changes,
    form_fields,
    rolled_back,
    send,
    signed_in,
    snapshot,
)
from tests.helpers import issued_invoice, pay, saved_card

pytestmark = pytest.mark.django_db

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))

fuzz = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        # The records are made once per test; each example rolls back to them.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

# -- the values ----------------------------------------------------------------------

LEFT_OUT = "<left out>"  # A field not posted at all (dropped from the data).

# Amounts beyond what is stored, or beyond Decimal's 28 digits of precision.
HUGE_NUMBERS = [
    "1e26",
    "1E+26",
    "-1e26",
    "9" * 40,
    "1" + "0" * 39,
    "99999999999.9999",
    "100000000000",
    "1e11",
    "1e999999999",
    "1e-999999999",
]
# Decimal's special values: not numbers, and sNaN raises on any comparison.
SPECIAL_NUMBERS = ["NaN", "-NaN", "nan", "sNaN", "-sNaN", "snan", "Infinity", "-Infinity", "inf"]
ODD_NUMBERS = [
    "0",
    "-0",
    "0.00",
    "-1",
    "-0.01",
    "0.001",
    "0.0001",
    "12.345",
    "1e2",
    "1E-2",
    "5.",
    ".5",
    "+5",
    "--5",
    "1_000",
    "1,000.00",
    "1 000",
    "١٢٣",
    "１２",
    "½",
    "Ⅻ",
    "0x10",
    "$5",
    "5 USD",
    "  5  ",
    "5\x00",
    "",
    " ",
    "e",
    ".",
]

HOSTILE_DATES = [
    "0001-01-01",
    "9999-12-31",
    "01/02/26",
    "12/31/9999",
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "10000-01-01",
    "-0001-01-01",
    "20260101",
    "2026-01-01T00:00:00",
    "١٩٩٩-٠١-٠١",
    "today",
    "9" * 40,
    "2026-01-01\x00",
    "",
    " ",
]

# Ids beyond the 64-bit integers of the databases' id columns, and others.
HUGE_IDS = ["9223372036854775807", "9223372036854775808", "-9223372036854775809", "9" * 40]
ODD_IDS = [
    "0",
    "-1",
    "1e3",
    "1.0",
    "1.5",
    "abc",
    "١",
    "１",
    " 1 ",
    "0x1",
    "1\x00",
    "",
    "None",
    "[1]",
]

HOSTILE_TEXTS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "😀" * 200,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "=1+1",
    "\u202eevil",
    "%_\\",
    "\r\n",
]

HOSTILE_CHOICES = ["", "ANY", "usd", "XXX", "overdue", "__all__", "1", "None", "draft "]

HOSTILE_CURRENCIES = ["usd", "XXX", "ZZZ", "XTS", "EURO", "€", "1", "NaN", "U$D"]

HOSTILE_KEYS = [
    "not-a-uuid",
    "00000000-0000-0000-0000-00000000000g",
    "0" * 33,
    str(uuid.UUID(int=1)) + "0",
]

# Counts of a formset's management form.
HOSTILE_COUNTS = ["-1", "abc", "201", "9223372036854775808", "1e3", "", "９", "0.5"]

# The idempotency keys of the operations that made the records: reusing one
# replays the first request or is a conflict.
KEYS = [str(uuid.UUID(int=n)) for n in range(1, 10)]

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


def weighted(*choices):
    """One of the strategies, each ``(strategy, weight)`` as often as its weight
    says (``st.one_of`` would draw each branch as often, duplicates merged)."""
    return st.sampled_from([s for s, weight in choices for _ in range(weight)]).flatmap(
        lambda strategy: strategy
    )


def hostile(values, *extra):
    return st.one_of(st.sampled_from(values), *extra)


def field(good, bad, weight=None):
    """A field: how a plausible value is drawn, how a hostile one is, and how
    often it is among the ones spoiled: by default 4 for an amount, 2 for an id
    or a date, 1 for the rest."""
    if weight is None:
        weight = 4 if bad is AMOUNT_BAD else 2 if bad in (ID_BAD, DATE_BAD) else 1
    return (good, bad, weight)


def optional(strategy):
    """Now and then empty or not posted; mostly a value."""
    return weighted((st.sampled_from(["", LEFT_OUT]), 1), (strategy, 2))


def amounts(currency, *, signed=False):
    """Amounts as people type them in ``currency``: its decimals, some exact dues."""
    places = minor_unit(currency)
    numbers = st.one_of(
        st.integers(min_value=1, max_value=300 * 10**places).map(
            lambda n: f"{Decimal(n).scaleb(-places):f}"
        ),
        st.sampled_from(["1", "5", "10", "30", "40", "50", "60", "100", "250", "12000"]),
    )
    if signed:
        return st.one_of(numbers, numbers.map(lambda number: f"-{number}"))
    return numbers


# Mostly the listed values: a random text is rarely more than "not a number".
AMOUNT_BAD = weighted(
    (st.sampled_from(HUGE_NUMBERS), 2),
    (st.sampled_from(SPECIAL_NUMBERS), 2),
    (st.sampled_from(ODD_NUMBERS), 2),
    (text, 1),
)


def dates(before=400, after=5):
    today = datetime.date.today()
    return st.dates(
        min_value=today - datetime.timedelta(days=before),
        max_value=today + datetime.timedelta(days=after),
    ).map(datetime.date.isoformat)


DATE_BAD = hostile(HOSTILE_DATES, text)
TEXT_GOOD = st.one_of(st.sampled_from(["Duplicate entry", "Ref 2026/17", "Ünïcødé ✓"]), text)
TEXT_BAD = hostile(HOSTILE_TEXTS, text)
ID_BAD = weighted((st.sampled_from(HUGE_IDS), 1), (st.sampled_from(ODD_IDS), 1))
CHOICE_BAD = hostile(HOSTILE_CHOICES, text)
KEY = field(
    st.one_of(st.uuids().map(str), st.sampled_from(KEYS)),
    hostile(HOSTILE_KEYS + HOSTILE_TEXTS),
)
TICK = field(st.sampled_from(["on", LEFT_OUT]), hostile(["", "off", "false", "0", "\x00"]))


def choices(values):
    return st.sampled_from(list(values))


@st.composite
def form(draw, fields, spoil=3):
    """A plausible value for every field, then up to ``spoil`` of them spoiled
    (none in about one example in five): a hostile value, or not posted.
    ``LEFT_OUT`` fields are dropped."""
    values = {name: draw(good) for name, (good, _, _) in fields.items()}
    count = min(draw(st.sampled_from([0, *range(1, spoil + 1), *range(1, spoil + 1)])), len(fields))
    names = [name for name, (_, _, weight) in fields.items() for _ in range(weight)]
    spoiled = draw(st.lists(st.sampled_from(names), min_size=count, max_size=count, unique=True))
    for name in spoiled:
        values[name] = draw(weighted((st.just(LEFT_OUT), 1), (fields[name][1], 4)))
    return {name: value for name, value in values.items() if value != LEFT_OUT}


def headers(*targets):
    """No htmx, htmx, htmx aimed at one of ``targets`` or at anything else."""
    named = [htmx(target) for target in ("modal", "modal-form", *targets)]
    return st.one_of(
        st.sampled_from([{}, htmx(), *named]),
        st.sampled_from(
            [
                htmx("modal-form", **{"HX-Boosted": "true"}),
                htmx(targets[0] if targets else "modal", **{"HX-History-Restore-Request": "true"}),
            ]
        ),
        st.text(alphabet=st.characters(codec="ascii", min_codepoint=32), max_size=20).map(htmx),
    )


def one_of_names(names):
    """A record's name; now and then one of a record that does not exist."""
    real = [name for name in names if name not in NO_SUCH_IDS]
    missing = [name for name in names if name in NO_SUCH_IDS]
    if not missing:
        return st.sampled_from(real)
    return weighted((st.sampled_from(real), 6), (st.sampled_from(missing), 1))


class World(SimpleNamespace):
    """The fixture's records by name: {name: (id, currency)}."""

    def __repr__(self):
        return "world"  # Failing examples are long enough without it.


@pytest.fixture(autouse=True)
def quiet_server_errors(caplog):
    """A failing example says what failed; the log of every example hypothesis
    tried while shrinking it would bury that."""
    caplog.set_level(logging.CRITICAL, logger="django.request")


# -- the records -----------------------------------------------------------------------

# Ids that no record has: a 404, never a 500.
NO_SUCH_IDS = {"no such record": 2**63 - 1, "beyond 64 bits": 2**63, "zero": 0}


@pytest.fixture
def world(db):
    """A few customers in currencies of 0, 2 and 3 decimals, with saved cards,
    and invoices and payments in every state, made through the services, and
    the manager who made them (no password: hashing one takes longer than a
    hundred examples)."""
    manager = get_user_model().objects.create_user("fuzzer", is_staff=True)
    manager.groups.add(Group.objects.get(name=permissions.MANAGER))
    acme = services.customer_create(
        name="Acme Ltd",
        currency="USD",
        email="billing@acme.example",
        external_ref="ACME-1",
        actor=manager,
    )
    trading = services.customer_create(name="Acme Trading", currency="EUR", actor=manager)
    kobe = services.customer_create(name="Kōbe KK", currency="JPY", actor=manager)
    gulf = services.customer_create(name="Gulf Traders", currency="KWD", actor=manager)
    ok = saved_card(acme, manager, token="sandbox_ok", last4="4242")
    declined = saved_card(acme, manager, token="sandbox_declined", last4="0002", default=False)
    foreign = saved_card(kobe, manager, token="sandbox_ok", last4="1111")

    def draft(customer, amount):
        return services.invoice_create(
            customer=customer,
            currency=customer.currency,
            lines=[
                {
                    "description": "Consulting",
                    "quantity": 2,
                    "unit_price": Money(amount, customer.currency),
                    "tax_rate": 10,
                }
            ],
            actor=manager,
        )

    draft_usd = draft(acme, "45.00")
    draft_jpy = draft(kobe, "3000")  # Kobe's only card is the default one.
    draft_gulf = draft(gulf, "1.500")  # Gulf has no saved card.
    open_usd = issued_invoice(acme, manager, "100.00")
    partly = issued_invoice(acme, manager, "250.00")
    cash = pay(partly, manager, "40.00", idempotency_key=KEYS[0])
    card = services.payment_charge(
        invoice=partly, amount=Money("60.00", "USD"), payment_method=ok, actor=manager,
        idempotency_key=KEYS[1],
    )  # fmt: skip
    failed = services.payment_charge(
        invoice=partly, amount=Money("10.00", "USD"), payment_method=declined, actor=manager,
        idempotency_key=KEYS[2],
    )  # fmt: skip
    assert (card.status, failed.status) == (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED)
    services.credit_note_issue(
        invoice=partly,
        reason=CreditNoteReason.GOODWILL,
        reduce_due=Money("5.00", "USD"),
        actor=manager,
        idempotency_key=KEYS[3],
    )
    paid = issued_invoice(acme, manager, "50.00")
    paid_cash = pay(paid, manager, "50.00", method="cheque", details={"cheque_number": "17"})
    void = issued_invoice(acme, manager, "20.00")
    services.invoice_void(invoice=void, reason="Sent twice", actor=manager)
    open_jpy = issued_invoice(kobe, manager, "12000")
    jpy_cash = pay(open_jpy, manager, "2000")
    open_kwd = issued_invoice(gulf, manager, "10.125")
    voided = pay(open_kwd, manager, "1.000")
    services.payment_void(payment=voided, reason="Wrong invoice", actor=manager)
    # Bank lines in each state (the invoice the statement pays is its own).
    by_transfer = issued_invoice(acme, manager, "70.00")
    statement_import(
        data=(
            "account,bank_reference,booking_date,amount,currency,counterparty_name,remittance\n"
            f"NL91ABNA0417164300,F-1,2026-02-02,70.00,USD,Acme Ltd,{by_transfer.number}\n"
            f"NL91ABNA0417164300,F-2,2026-02-03,30.00,USD,Acme Ltd,{partly.number}\n"
            "NL91ABNA0417164300,F-3,2026-02-03,12.00,USD,Someone,gift\n"
            "NL91ABNA0417164300,F-4,2026-02-04,-9.00,USD,,fee\n"
            "NL91ABNA0417164300,F-5,2026-02-04,500,JPY,Kobe,thanks\n"
        ).encode(),
        actor=manager,
    )
    bank_lines = {
        name: (line.pk, line.currency)
        for name, line in zip(
            ("recorded", "suggested", "unmatched", "debit", "jpy"),
            StatementLine.objects.order_by("bank_ref"),
            strict=True,
        )
    }
    # Credit last, so issuing the invoices above did not spend it.
    services.balance_adjust(
        customer=acme,
        amount=Money("30.00", "USD"),
        reason="Goodwill",
        actor=manager,
        idempotency_key=KEYS[4],
    )
    services.balance_adjust(
        customer=kobe,
        amount=Money("500", "JPY"),
        reason="Goodwill",
        actor=manager,
        idempotency_key=KEYS[5],
    )
    from_credit = services.credit_apply(
        invoice=open_jpy, amount=Money("100", "JPY"), actor=manager, idempotency_key=KEYS[6]
    )

    def named(records):
        return {name: (record.pk, record.currency) for name, record in records.items()}

    no_such = {name: (pk, "USD") for name, pk in NO_SUCH_IDS.items()}
    return World(
        manager=manager,
        customers={
            **named({"acme": acme, "trading": trading, "kobe": kobe, "gulf": gulf}),
            **no_such,
        },
        cards={"ok": ok.pk, "declined": declined.pk, "another customer's": foreign.pk},
        invoices={
            **named(
                {
                    "draft": draft_usd,
                    "draft jpy": draft_jpy,
                    "draft without card": draft_gulf,
                    "open": open_usd,
                    "partly paid": partly,
                    "paid": paid,
                    "void": void,
                    "open jpy": open_jpy,
                    "open kwd": open_kwd,
                }
            ),
            **no_such,
        },
        bank_lines={**bank_lines, **no_such},
        payments={
            **named(
                {
                    "cash": cash,
                    "card": card,
                    "failed charge": failed,
                    "cheque": paid_cash,
                    "jpy cash": jpy_cash,
                    "voided": voided,
                    "from credit": from_credit,
                }
            ),
            **no_such,
        },
    )


def ids(records):
    """The records' ids as a form posts them."""
    return st.sampled_from([str(pk) for pk, _ in records.values() if pk > 0])


# -- the check ---------------------------------------------------------------------------

# A POST that acted: htmx's 204, a plain form's redirect, a new draft's HX-Redirect.
ACTED = {204, 302}


def acted(response):
    if response.status_code in ACTED:
        return True
    return response.status_code == 200 and "HX-Redirect" in response


def gateway_refused(response):
    """A declined charge or a refused refund: 422, and the failed attempt kept
    (``HX-Trigger: invoice-changed`` so the page behind the modal shows it)."""
    return response.status_code == 422 and "invoice-changed" in response.get("HX-Trigger", "")


def exercise(world, method, url, data, headers=None, *, answers, writes_allowed=False):
    """Send the request as the manager in a savepoint; check the answer is one
    of ``answers``, and what it wrote (``writes_allowed``: an admin action,
    which answers a redirect whatever it did)."""
    with rolled_back():
        client = signed_in(world.manager)
        before = snapshot()
        response = send(client, method, url, data, headers)
        after = snapshot()
        request = f"{method} {url} {data!r} {headers!r}"
        assert response.status_code in answers, f"{response.status_code} for {request}"
        if writes_allowed or (method == "POST" and (acted(response) or gateway_refused(response))):
            if after != before:
                assert_records_agree()
        else:
            assert after == before, (
                f"{response.status_code} for {request} wrote:\n{changes(before, after)}"
            )
    event(f"{response.status_code}{' gateway refused' if gateway_refused(response) else ''}")
    return response


ACTION_ANSWERS = {200, 204, 302, 404, 422}


def action(world, data, route, name, records, fields, *targets, spoil=3, url_args=()):
    """Post a spoiled form to ``route`` for the record named ``name``."""
    pk, _ = records[name]
    url = reverse(f"billing:{route}", args=[pk, *url_args])
    post = data.draw(form(fields, spoil=spoil), label="data")
    exercise(
        world,
        "POST",
        url,
        post,
        data.draw(headers(*targets), label="headers"),
        answers=ACTION_ANSWERS,
    )


# -- the invoice page's payment actions ---------------------------------------------------

RECORD_INVOICES = [
    "open",
    "partly paid",
    "paid",
    "draft",
    "void",
    "open jpy",
    "open kwd",
    "beyond 64 bits",
]


@fuzz
@given(data=st.data())
def test_record_payment_and_its_outcome_region(world, data):
    name = data.draw(one_of_names(RECORD_INVOICES), label="invoice")
    currency = world.invoices[name][1]
    methods = [kind.value for kind in PaymentMethodKind]
    fields = {
        "amount": field(amounts(currency), AMOUNT_BAD),
        "paid_at": field(dates(), DATE_BAD),
        "method": field(choices(methods[:5]), hostile(methods[5:] + HOSTILE_CHOICES)),
        "cheque_number": field(optional(TEXT_GOOD), TEXT_BAD),
        "card_brand": field(optional(st.sampled_from(["Visa", "Amex"])), TEXT_BAD),
        "card_last4": field(optional(st.from_regex(r"\d{4}", fullmatch=True)), ID_BAD, 1),
        "reference": field(optional(TEXT_GOOD), TEXT_BAD),
        "notes": field(optional(TEXT_GOOD), TEXT_BAD),
        "excess_to_credit": TICK,
        "rest": field(st.sampled_from(["keep", "write_off", LEFT_OUT]), CHOICE_BAD),
        "idempotency_key": KEY,
    }
    action(world, data, "payment_record", name, world.invoices, fields, "payment-outcome")


CHARGE_INVOICES = ["open", "partly paid", "paid", "draft", "open jpy", "open kwd", "no such record"]


@fuzz
@given(data=st.data())
def test_charge(world, data):
    name = data.draw(one_of_names(CHARGE_INVOICES), label="invoice")
    fields = {
        "amount": field(amounts(world.invoices[name][1]), AMOUNT_BAD),
        "payment_method": field(st.sampled_from(list(world.cards.values())).map(str), ID_BAD),
        "idempotency_key": KEY,
    }
    action(world, data, "payment_charge", name, world.invoices, fields)


@fuzz
@given(data=st.data())
def test_void_payment(world, data):
    name = data.draw(one_of_names(world.payments), label="payment")
    fields = {"reason": field(TEXT_GOOD, TEXT_BAD), "idempotency_key": KEY}
    action(world, data, "payment_void", name, world.payments, fields)


@fuzz
@given(data=st.data())
def test_retry(world, data):
    name = data.draw(one_of_names(world.payments), label="payment")
    action(world, data, "payment_retry", name, world.payments, {"idempotency_key": KEY})


@fuzz
@given(data=st.data())
def test_refund(world, data):
    name = data.draw(one_of_names(world.payments), label="payment")
    fields = {
        "amount": field(amounts(world.payments[name][1]), AMOUNT_BAD),
        "destination": field(choices(RefundDestination.values), CHOICE_BAD),
        "reason": field(choices(RefundReason.values), CHOICE_BAD),
        "notes": field(optional(TEXT_GOOD), TEXT_BAD),
        "reference": field(optional(TEXT_GOOD), TEXT_BAD),
        "invoice_effect": field(choices(["owes_again", "credit_note"]), CHOICE_BAD),
        "reason_shown": field(optional(choices(RefundReason.values)), CHOICE_BAD),
        "idempotency_key": KEY,
    }
    action(world, data, "payment_refund", name, world.payments, fields, "refund-choices")


# -- credit notes --------------------------------------------------------------------------

CREDIT_NOTE_INVOICES = [
    "partly paid",
    "paid",
    "open",
    "draft",
    "void",
    "open jpy",
    "beyond 64 bits",
]


@fuzz
@given(data=st.data())
def test_credit_note_issue_and_its_preview(world, data):
    name = data.draw(one_of_names(CREDIT_NOTE_INVOICES), label="invoice")
    currency = world.invoices[name][1]
    fields = {
        "reason": field(choices(CreditNoteReason.values), CHOICE_BAD),
        "reduce_due": field(optional(amounts(currency)), AMOUNT_BAD),
        "refund": field(optional(amounts(currency)), AMOUNT_BAD),
        "refund_payment": field(optional(ids(world.payments)), ID_BAD),
        "to_credit": field(optional(amounts(currency)), AMOUNT_BAD),
        "memo": field(optional(TEXT_GOOD), TEXT_BAD),
        "preview": field(st.sampled_from([LEFT_OUT, "1"]), st.sampled_from(["", "\x00"])),
        "idempotency_key": KEY,
    }
    action(world, data, "credit_note_issue", name, world.invoices, fields, "credit-note-preview")


# -- issue, void, apply credit ------------------------------------------------------------

ISSUE_INVOICES = ["draft", "draft jpy", "draft without card", "open", "void", "no such record"]


@fuzz
@given(data=st.data())
def test_issue(world, data):
    name = data.draw(one_of_names(ISSUE_INVOICES), label="invoice")
    action(world, data, "invoice_issue", name, world.invoices, {"apply_credit": TICK})


@fuzz
@given(data=st.data())
def test_issue_and_charge(world, data):
    name = data.draw(one_of_names(ISSUE_INVOICES), label="invoice")
    fields = {"idempotency_key": KEY}
    action(world, data, "invoice_issue_and_charge", name, world.invoices, fields)


@fuzz
@given(data=st.data())
def test_void_invoice(world, data):
    name = data.draw(one_of_names(world.invoices), label="invoice")
    fields = {"reason": field(TEXT_GOOD, TEXT_BAD)}
    action(world, data, "invoice_void", name, world.invoices, fields)


@fuzz
@given(data=st.data())
def test_apply_credit_on_the_invoice_page(world, data):
    name = data.draw(one_of_names(world.invoices), label="invoice")
    fields = {
        "amount": field(amounts(world.invoices[name][1]), AMOUNT_BAD),
        "idempotency_key": KEY,
    }
    action(world, data, "credit_apply", name, world.invoices, fields)


# -- the customer page's credit actions ---------------------------------------------------


def known(currency):
    """``currency``, or USD for the amounts when it is not one."""
    return currency if currency in django_settings.CURRENCIES else "USD"


CURRENCY_IN_URL = weighted(
    (st.sampled_from(["USD", "JPY", "KWD", "EUR"]), 3), (st.sampled_from(HOSTILE_CURRENCIES), 1)
)


@fuzz
@given(data=st.data())
def test_apply_credit_on_the_customer_page(world, data):
    name = data.draw(one_of_names(world.customers), label="customer")
    currency = data.draw(CURRENCY_IN_URL, label="currency")
    fields = {
        "invoice": field(ids(world.invoices), ID_BAD),
        "amount": field(optional(amounts(known(currency))), AMOUNT_BAD),
        "idempotency_key": KEY,
    }
    action(
        world,
        data,
        "customer_credit_apply",
        name,
        world.customers,
        fields,
        "credit-apply-amount",
        url_args=[currency],
    )


@fuzz
@given(data=st.data())
def test_balance_adjust(world, data):
    name = data.draw(one_of_names(world.customers), label="customer")
    currency = data.draw(choices(django_settings.CURRENCIES), label="currency")
    fields = {
        "currency": field(st.just(currency), CHOICE_BAD),
        "amount": field(amounts(currency, signed=True), AMOUNT_BAD),
        "reason": field(TEXT_GOOD, TEXT_BAD),
        "idempotency_key": KEY,
    }
    action(world, data, "balance_adjust", name, world.customers, fields)


@fuzz
@given(data=st.data())
def test_pay_out(world, data):
    name = data.draw(one_of_names(world.customers), label="customer")
    currency = data.draw(CURRENCY_IN_URL, label="currency")
    fields = {
        "amount": field(amounts(known(currency)), AMOUNT_BAD),
        "reference": field(TEXT_GOOD, TEXT_BAD),
        "notes": field(optional(TEXT_GOOD), TEXT_BAD),
        "idempotency_key": KEY,
    }
    action(world, data, "balance_pay_out", name, world.customers, fields, url_args=[currency])


# -- drafts: the new-invoice form with its customer search, and the lines' formset ---------


def line_fields(currency):
    return {
        "description": field(optional(TEXT_GOOD), TEXT_BAD),
        "quantity": field(st.sampled_from(["1", "2", "0.5", "1.2345", "10", ""]), AMOUNT_BAD),
        "unit_price": field(optional(amounts(currency)), AMOUNT_BAD),
        "tax_rate": field(st.sampled_from(["0", "20", "7.5", "100", "", LEFT_OUT]), AMOUNT_BAD),
        "DELETE": field(st.sampled_from([LEFT_OUT, LEFT_OUT, "on"]), hostile(["", "off", "0"])),
    }


@st.composite
def lines(draw, currency):
    """The formset "lines": up to three rows and its management form."""
    count = draw(st.integers(min_value=0, max_value=3))
    posted = {}
    for row in range(count):
        values = draw(form(line_fields(currency), spoil=2))
        posted.update({f"lines-{row}-{name}": value for name, value in values.items()})
    counts = st.sampled_from(HOSTILE_COUNTS)
    management = {
        "TOTAL_FORMS": field(st.just(str(count)), counts),
        "INITIAL_FORMS": field(st.just("0"), counts),
        "MIN_NUM_FORMS": field(st.just("0"), counts),
        "MAX_NUM_FORMS": field(st.just("200"), counts),
    }
    values = draw(form(management, spoil=1))
    posted.update({f"lines-{name}": value for name, value in values.items()})
    return posted


ADD_LINE = field(
    st.sampled_from([LEFT_OUT, LEFT_OUT, LEFT_OUT, "1"]), st.sampled_from(["", "\x00"])
)
DUE_DATE = field(optional(dates(before=30, after=400)), DATE_BAD)


@fuzz
@given(data=st.data())
def test_new_invoice_with_its_customer_search_and_lines(world, data):
    url = reverse("billing:invoice_create")
    if data.draw(st.integers(0, 7), label="GET?") == 0:
        # The modal, for a customer's "New invoice" link (?customer=).
        query = data.draw(form({"customer": field(ids(world.customers), ID_BAD)}), label="data")
        exercise(world, "GET", url, query, data.draw(headers()), answers={200})
        return
    currency = data.draw(choices(["USD", "JPY", "KWD"]), label="currency of the lines")
    fields = {
        "customer_search": field(
            st.sampled_from(["", "Acme", "Acme Ltd", "Kōbe", "gulf", "ACME-1", "nobody"]), TEXT_BAD
        ),
        "customer": field(
            weighted((ids(world.customers), 3), (st.sampled_from(["", LEFT_OUT]), 1)), ID_BAD
        ),
        "currency": field(st.sampled_from(["", currency]), CHOICE_BAD),
        "due_date": DUE_DATE,
        "add_line": ADD_LINE,
    }
    post = {**data.draw(form(fields), label="data"), **data.draw(lines(currency), label="lines")}
    answers = ACTION_ANSWERS
    exercise(world, "POST", url, post, data.draw(headers("customer-choices")), answers=answers)


EDIT_INVOICES = ["draft", "draft jpy", "draft without card", "open", "no such record"]


@fuzz
@given(data=st.data())
def test_edit_lines(world, data):
    name = data.draw(one_of_names(EDIT_INVOICES), label="invoice")
    pk, currency = world.invoices[name]
    post = {
        **data.draw(form({"due_date": DUE_DATE, "add_line": ADD_LINE}), label="data"),
        **data.draw(lines(currency), label="lines"),
    }
    url = reverse("billing:invoice_edit", args=[pk])
    exercise(world, "POST", url, post, data.draw(headers()), answers=ACTION_ANSWERS)


# -- the lists' filters and the exports ---------------------------------------------------

CURSORS = {
    "after": field(optional(st.integers(1, 60).map(str)), ID_BAD),
    "before": field(optional(st.integers(1, 60).map(str)), ID_BAD),
    "page": field(optional(st.integers(1, 5).map(str)), ID_BAD),
}


def list_filters(world, extra):
    return {
        "q": field(optional(st.sampled_from(["Acme", "INV-", "Kōbe", "CN-2026"])), TEXT_BAD),
        "customer": field(optional(ids(world.customers)), ID_BAD),
        "currency": field(optional(choices(django_settings.CURRENCIES)), CHOICE_BAD),
        **CURSORS,
        **extra,
    }


def date_range(low, high):
    return {low: field(optional(dates()), DATE_BAD), high: field(optional(dates()), DATE_BAD)}


def filters_of(world, surface):
    return {
        "invoice": list_filters(
            world,
            {
                "status": field(optional(choices([*InvoiceStatus.values, OVERDUE])), CHOICE_BAD),
                **date_range("issued_from", "issued_to"),
            },
        ),
        "customer": {
            "q": field(optional(st.sampled_from(["Acme", "acme.example", "ACME-1"])), TEXT_BAD),
            **CURSORS,
        },
        "payment": list_filters(
            world,
            {
                "status": field(optional(choices(PaymentStatus.values)), CHOICE_BAD),
                "method": field(optional(choices(PaymentMethodKind.values)), CHOICE_BAD),
                **date_range("paid_from", "paid_to"),
                "bank_reference": field(optional(TEXT_GOOD), TEXT_BAD),
                "cheque_number": field(optional(TEXT_GOOD), TEXT_BAD),
                "card_last4": field(
                    optional(st.from_regex(r"\d{4}", fullmatch=True)), hostile(ODD_IDS, text)
                ),
                "amount": field(optional(amounts("USD")), AMOUNT_BAD),
                "amount_min": field(optional(amounts("JPY")), AMOUNT_BAD),
                "amount_max": field(optional(amounts("KWD")), AMOUNT_BAD),
            },
        ),
        "refund": list_filters(
            world,
            {
                "status": field(optional(choices(RefundStatus.values)), CHOICE_BAD),
                "destination": field(optional(choices(RefundDestination.values)), CHOICE_BAD),
                "reason": field(optional(choices(RefundReason.values)), CHOICE_BAD),
                **date_range("refunded_from", "refunded_to"),
            },
        ),
        "credit_note": list_filters(
            world,
            {
                "reason": field(optional(choices(CreditNoteReason.values)), CHOICE_BAD),
                **date_range("issued_from", "issued_to"),
            },
        ),
    }[surface]


def query(world, data, surface):
    """A list's query string: any of its filters, a few spoiled, and now and
    then a filter given twice."""
    values = data.draw(form(filters_of(world, surface), spoil=4), label="query")
    twice = data.draw(st.sampled_from([None, *sorted(values)]), label="given twice")
    if twice is not None:
        values[twice] = [values[twice], data.draw(ID_BAD, label="second value")]
    return values


TABLES = {
    "invoice": "invoice-table",
    "customer": "customer-table",
    "payment": "payment-table",
    "refund": "refund-table",
    "credit_note": "credit-note-table",
}


@pytest.mark.parametrize("surface", list(TABLES))
@fuzz
@given(data=st.data())
def test_list_filters(world, surface, data):
    url = reverse(f"billing:{surface}_list")
    values = query(world, data, surface)
    exercise(world, "GET", url, values, data.draw(headers(TABLES[surface])), answers={200})


@pytest.mark.parametrize("surface", ["payment", "refund", "credit_note"])
@fuzz
@given(data=st.data())
def test_exports_stream_every_row_for_any_filter(world, surface, data):
    url = reverse(f"billing:{surface}_export")
    # A filter that does not parse is a 400 naming it: an export never drops one
    # and hands back more rows than were asked for.
    response = exercise(world, "GET", url, query(world, data, surface), answers={200, 400})
    if response.status_code == 400:
        return
    assert response["Content-Type"].startswith("text/csv")
    assert response.body.decode().count("\n") >= 1  # At least the header row.


# -- the admin: customers' and saved methods' change forms, and the actions -------------------


@pytest.fixture
def admin_form(world):
    """The fields a change form of the admin posts as shown (read once per test)."""
    shown = {}

    def fields(url):
        if url not in shown:
            response = signed_in(world.manager).get(url)
            assert response.status_code == 200, url
            shown[url] = form_fields(response.content.decode())
        return dict(shown[url])

    return fields


# A change form answers 200 (shown again, with its errors) or 302 (saved); a post
# naming a record that cannot exist (a customer id that is no id) is a 400.
ADMIN_ANSWERS = {200, 302, 400, 404}


def admin_post(world, data, url, base, fields):
    """The form as shown, with a plausible value for ``fields`` and a few spoiled
    (a field left out is not posted at all)."""
    values = data.draw(form(fields), label="data")
    post = {name: value for name, value in base.items() if name not in fields}
    post.update(values)
    response = exercise(world, "POST", url, post, answers=ADMIN_ANSWERS)
    assert response.status_code != 404, f"{url} not found"


EMAILS = st.sampled_from(["billing@example.com", "", "a@b.co", "ÿ@exämple.com"])
CUSTOMER_FIELDS = {
    "name": field(TEXT_GOOD, TEXT_BAD),
    "email": field(EMAILS, TEXT_BAD),
    "currency": field(st.sampled_from(["USD", "eur", "JPY", "KWD"]), hostile(HOSTILE_CURRENCIES)),
    "external_ref": field(st.sampled_from(["", "ACME-1", "NEW-7"]), TEXT_BAD),
}


@fuzz
@given(data=st.data())
def test_admin_customer_forms(world, admin_form, data):
    name = data.draw(st.sampled_from([None, "acme", "kobe"]), label="customer (None: add)")
    if name is None:
        url = reverse("admin:billing_customer_add")
    else:
        url = reverse("admin:billing_customer_change", args=[world.customers[name][0]])
    admin_post(world, data, url, admin_form(url), CUSTOMER_FIELDS)


def card_fields(world):
    return {
        "customer": field(ids(world.customers), ID_BAD),
        "gateway": field(st.sampled_from(["sandbox", "stripe"]), CHOICE_BAD),
        "token": field(
            st.sampled_from(["sandbox_ok", "tok_visa", "pm_123"]),
            hostile(["4242424242424242", "4242 4242 4242 4242", *HOSTILE_TEXTS]),
        ),
        "brand": field(st.sampled_from(["Visa", "Mastercard", "visa"]), TEXT_BAD),
        "last4": field(st.from_regex(r"\d{4}", fullmatch=True), hostile([*ODD_IDS, "12345"])),
        "exp_month": field(st.integers(1, 12).map(str), hostile(["13", *HUGE_IDS, *ODD_IDS])),
        "exp_year": field(st.integers(2020, 2045).map(str), hostile(["99999", *HUGE_IDS])),
        "is_default": TICK,
    }


@fuzz
@given(data=st.data())
def test_admin_payment_method_forms(world, admin_form, data):
    name = data.draw(st.sampled_from([None, *world.cards]), label="card (None: add)")
    if name is None:
        url = reverse("admin:billing_paymentmethod_add")
    else:
        url = reverse("admin:billing_paymentmethod_change", args=[world.cards[name]])
    admin_post(world, data, url, admin_form(url), card_fields(world))


ADMIN_ACTIONS = {
    "customer": ("add_sandbox_test_cards",),
    "invoice": ("issue_drafts", "void_invoices", "apply_customer_credit"),
    "payment": ("void_payments",),
}


@fuzz
@given(data=st.data())
def test_admin_actions(world, data):
    model = data.draw(st.sampled_from(sorted(ADMIN_ACTIONS)), label="model")
    records = {"customer": world.customers, "invoice": world.invoices, "payment": world.payments}
    real = [str(pk) for pk, _ in records[model].values() if 0 < pk < 2**63 - 1]
    selected = data.draw(
        st.lists(weighted((st.sampled_from(real), 4), (ID_BAD, 1)), max_size=4), label="selected"
    )
    fields = {
        "action": field(st.sampled_from(ADMIN_ACTIONS[model]), hostile(["delete_selected"])),
        "select_across": field(st.sampled_from(["0", "0", "1"]), hostile(ODD_IDS)),
        "index": field(st.just("0"), hostile(ODD_IDS)),
    }
    post = {**data.draw(form(fields, spoil=1), label="data"), "_selected_action": selected}
    url = reverse(f"admin:billing_{model}_changelist")
    # An action on ids that are no ids is refused with 400, writing nothing.
    exercise(world, "POST", url, post, answers={200, 302, 400}, writes_allowed=True)


# -- the Bank page's actions --------------------------------------------------------------

INVOICE_NAMES = ["INV-2026-000001", "inv 2026 000002", "2", "0", "INV-9999-999999", "x"]


@fuzz
@given(data=st.data())
def test_bank_line_confirm(world, data):
    name = data.draw(one_of_names(world.bank_lines), label="line")
    fields = {"invoice": field(ids(world.invoices), ID_BAD), "rest_to_credit": TICK}
    action(world, data, "bank_line_confirm", name, world.bank_lines, fields)


@fuzz
@given(data=st.data())
def test_bank_line_match(world, data):
    name = data.draw(one_of_names(world.bank_lines), label="line")
    currency = world.bank_lines[name][1]
    invoice = st.one_of(ids(world.invoices), st.sampled_from(INVOICE_NAMES))
    fields = {
        **{
            f"invoice_{row}": field(optional(invoice), hostile(HOSTILE_TEXTS + HUGE_IDS))
            for row in (1, 2, 3)
        },
        **{f"amount_{row}": field(optional(amounts(currency)), AMOUNT_BAD) for row in (1, 2, 3)},
        "rest_to_credit": TICK,
    }
    action(world, data, "bank_line_match", name, world.bank_lines, fields)


@fuzz
@given(data=st.data())
def test_bank_line_ignore_and_undo(world, data):
    name = data.draw(one_of_names(world.bank_lines), label="line")
    route = data.draw(st.sampled_from(["bank_line_ignore", "bank_line_undo"]), label="route")
    action(world, data, route, name, world.bank_lines, {"reason": field(TEXT_GOOD, TEXT_BAD)})
