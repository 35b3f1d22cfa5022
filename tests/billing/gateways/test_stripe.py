"""The Stripe adapter against recorded Stripe API responses.

The real ``stripe`` library and its real ``RequestsClient`` run; only the HTTP
transport is replaced (``responses``), which answers with the JSON bodies in
``stripe_recordings/`` and refuses any request not expected, so nothing reaches the
network. Tests assert on what the adapter sent and on what it returned or raised.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from moneyed import Money

from billing.gateways import (
    FAILED,
    SUCCEEDED,
    GatewayCharge,
    GatewayRefund,
    GatewayTimeout,
    GatewayUnavailable,
    get_gateway,
)
from billing.gateways.stripe import (
    AUTHENTICATION_REQUIRED,
    RECENT_SECONDS,
    from_minor_units,
    to_minor_units,
)

RECORDINGS = Path(__file__).parent / "stripe_recordings"
API = "https://api.stripe.com"
SECRET = "sk_test_recorded"
KEY = "7d0f6a8e-3c1b-4a52-9f6e-2b8d1c4e5a90"
REFUND_KEY = "c2a4e6f8-1b3d-4f5a-8c7e-9d0b2a4c6e81"
PM = "pm_1QxK1tLkdIwHu7ixR2aB9cDe"
CUSTOMER = "cus_RqT3mVb8XkLw2N"
PI = "pi_3QxK2fLkdIwHu7ix0Wm4ZbYt"


@dataclass
class Sent:
    method: str
    path: str
    params: dict
    headers: dict
    timeout: float


class StripeReplay:
    """Answers Stripe API requests with recordings, in the order they are expected."""

    def __init__(self, mock):
        self.mock = mock

    def expect(self, method, path, recording):
        data = json.loads((RECORDINGS / f"{recording}.json").read_text())
        if "raise" in data:
            error = getattr(requests.exceptions, data["raise"])("Read timed out. (read timeout=7)")
            self.mock.add(method, API + path, body=error)
            return
        headers = {k: v for k, v in data["headers"].items() if k != "Content-Type"}
        self.mock.add(method, API + path, json=data["body"], status=data["status"], headers=headers)

    @property
    def sent(self):
        calls = []
        for call in self.mock.calls:
            url = urlsplit(call.request.url)
            body = call.request.body or ""
            if isinstance(body, bytes):
                body = body.decode()
            params = dict(parse_qsl(body if call.request.method == "POST" else url.query))
            calls.append(
                Sent(
                    call.request.method,
                    url.path,
                    params,
                    dict(call.request.headers),
                    call.request.req_kwargs["timeout"],
                )
            )
        return calls

    @property
    def requests(self):
        return [(sent.method, sent.path) for sent in self.sent]


@pytest.fixture
def stripe_api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield StripeReplay(mock)


@pytest.fixture
def gateway(settings):
    settings.STRIPE_SECRET_KEY = SECRET
    settings.BILLING_GATEWAY_TIMEOUT = 7
    return get_gateway("stripe")


def usd(amount):
    return Money(amount, "USD")


def charge(gateway, amount=None, **kwargs):
    kwargs.setdefault("token", PM)
    kwargs.setdefault("idempotency_key", KEY)
    return gateway.charge(amount=usd("125.50") if amount is None else amount, **kwargs)


def expect_charge(stripe_api, recording):
    stripe_api.expect("GET", f"/v1/payment_methods/{PM}", "payment_method")
    stripe_api.expect("POST", "/v1/payment_intents", recording)


# -- amounts in Stripe's minor units -----------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "sent"),
    [
        (Money("10.00", "USD"), (1000, "usd")),
        (Money("0.01", "EUR"), (1, "eur")),
        (Money("48000", "JPY"), (48000, "jpy")),
        (Money("1500", "KRW"), (1500, "krw")),
        (Money("5.120", "KWD"), (5120, "kwd")),
        (Money("0.010", "BHD"), (10, "bhd")),
        (Money("5", "ISK"), (500, "isk")),
        (Money("10.45", "HUF"), (1045, "huf")),
    ],
)
def test_amounts_go_to_stripe_in_its_minor_units_and_come_back_equal(amount, sent):
    assert to_minor_units(amount) == sent
    assert from_minor_units(*sent) == amount


@pytest.mark.parametrize(
    "amount",
    [
        Money("10.005", "USD"),
        Money("1.5", "JPY"),
        Money("5.124", "KWD"),
        Money("5.5", "ISK"),
        Money("1.2345", "CLF"),
        Money("0", "USD"),
        Money("-1", "USD"),
        "10.00",
    ],
)
def test_an_amount_stripe_cannot_take_exactly_is_refused_before_any_request(
    stripe_api, gateway, amount
):
    with pytest.raises(GatewayUnavailable) as raised:
        charge(gateway, amount=amount)
    assert not raised.value.money_may_have_moved
    with pytest.raises(GatewayUnavailable):
        gateway.refund(charge_id=PI, amount=amount, idempotency_key=REFUND_KEY)
    assert stripe_api.sent == []


# -- charge ------------------------------------------------------------------------------


def test_charge_confirms_an_off_session_payment_intent_with_our_key(stripe_api, gateway):
    expect_charge(stripe_api, "payment_intent_succeeded")
    result = charge(gateway, description="INV-2026-000123", metadata={"invoice": "INV-2026-000123"})

    assert result == GatewayCharge(id=PI, status=SUCCEEDED, amount=usd("125.50"))
    lookup, create = stripe_api.sent
    assert (lookup.method, lookup.path) == ("GET", f"/v1/payment_methods/{PM}")
    assert (create.method, create.path) == ("POST", "/v1/payment_intents")
    assert create.params == {
        "amount": "12550",
        "currency": "usd",
        "payment_method": PM,
        "customer": CUSTOMER,
        "confirm": "true",
        "off_session": "true",
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never",
        "metadata[invoice]": "INV-2026-000123",
        "metadata[billing_key]": KEY,
        "description": "INV-2026-000123",
    }
    assert create.headers["Idempotency-Key"] == KEY
    assert create.headers["Authorization"] == f"Bearer {SECRET}"
    assert {sent.timeout for sent in stripe_api.sent} == {7}


def test_a_caller_cannot_hide_our_key_in_the_metadata(stripe_api, gateway):
    expect_charge(stripe_api, "payment_intent_succeeded")
    charge(gateway, metadata={"billing_key": "someone-else"})
    assert stripe_api.sent[1].params["metadata[billing_key]"] == KEY


@pytest.mark.parametrize(
    ("amount", "recording", "sent"),
    [
        (Money("48000", "JPY"), "payment_intent_succeeded_jpy", "48000"),
        (Money("375.120", "KWD"), "payment_intent_succeeded_kwd", "375120"),
    ],
)
def test_charge_sends_zero_and_three_decimal_currencies_exactly(
    stripe_api, gateway, amount, recording, sent
):
    expect_charge(stripe_api, recording)
    result = charge(gateway, amount=amount)
    assert result.status == SUCCEEDED
    assert result.amount == amount
    assert stripe_api.sent[1].params["amount"] == sent
    assert stripe_api.sent[1].params["currency"] == amount.currency.code.lower()


@pytest.mark.parametrize(
    ("recording", "reason", "code"),
    [
        ("card_declined", "Your card was declined.", "generic_decline"),
        ("insufficient_funds", "Your card has insufficient funds.", "insufficient_funds"),
        ("authentication_required", AUTHENTICATION_REQUIRED, "authentication_required"),
    ],
)
def test_a_card_error_is_a_failed_charge_with_stripe_reason_and_code(
    stripe_api, gateway, recording, reason, code
):
    expect_charge(stripe_api, recording)
    result = charge(gateway)
    assert result == GatewayCharge(
        id=PI, status=FAILED, amount=usd("125.50"), failure_reason=reason, failure_code=code
    )


def test_an_intent_that_needs_the_customer_to_authenticate_fails_and_is_cancelled(
    stripe_api, gateway
):
    expect_charge(stripe_api, "payment_intent_requires_action")
    stripe_api.expect("POST", f"/v1/payment_intents/{PI}/cancel", "payment_intent_canceled")
    result = charge(gateway)
    assert result.status == FAILED
    assert result.failure_reason == AUTHENTICATION_REQUIRED
    assert result.failure_code == "authentication_required"
    cancel = stripe_api.sent[2]
    assert cancel.params == {"cancellation_reason": "abandoned"}
    assert cancel.headers["Idempotency-Key"] == f"{KEY}-cancel"


def test_an_authentication_failure_stays_failed_when_the_cancel_fails(stripe_api, gateway):
    expect_charge(stripe_api, "payment_intent_requires_action")
    stripe_api.expect("POST", f"/v1/payment_intents/{PI}/cancel", "server_error")
    assert charge(gateway).failure_reason == AUTHENTICATION_REQUIRED


def test_a_saved_method_missing_at_stripe_fails_without_creating_an_intent(stripe_api, gateway):
    stripe_api.expect("GET", f"/v1/payment_methods/{PM}", "payment_method_missing")
    result = charge(gateway)
    assert result == GatewayCharge(
        id="",
        status=FAILED,
        amount=usd("125.50"),
        failure_reason="No such payment method.",
        failure_code="resource_missing",
    )
    assert stripe_api.requests == [("GET", f"/v1/payment_methods/{PM}")]


@pytest.mark.parametrize(
    "recording", ["server_error", "connection_timeout", "idempotency_key_in_use"]
)
def test_no_clear_answer_to_a_charge_is_a_timeout_and_is_not_retried(
    stripe_api, gateway, recording
):
    expect_charge(stripe_api, recording)
    with pytest.raises(GatewayTimeout) as raised:
        charge(gateway)
    assert raised.value.money_may_have_moved
    assert stripe_api.requests == [
        ("GET", f"/v1/payment_methods/{PM}"),
        ("POST", "/v1/payment_intents"),
    ]


def test_a_timeout_looking_up_the_saved_method_is_a_timeout_too(stripe_api, gateway):
    # Conservative: this call charged nothing, but an earlier one with the key may have.
    stripe_api.expect("GET", f"/v1/payment_methods/{PM}", "connection_timeout")
    with pytest.raises(GatewayTimeout):
        charge(gateway)


def test_a_refused_api_key_is_unavailable_and_moved_no_money(stripe_api, gateway):
    stripe_api.expect("GET", f"/v1/payment_methods/{PM}", "authentication_error")
    with pytest.raises(GatewayUnavailable) as raised:
        charge(gateway)
    assert not raised.value.money_may_have_moved
    assert "STRIPE_SECRET_KEY" in raised.value.message


def test_a_key_reused_with_other_parameters_is_unavailable(stripe_api, gateway):
    expect_charge(stripe_api, "idempotency_error")
    with pytest.raises(GatewayUnavailable) as raised:
        charge(gateway)
    assert raised.value.message.startswith("idempotency key reused with different parameters")


# -- refund ------------------------------------------------------------------------------


def refund(gateway, amount="20.00"):
    return gateway.refund(
        charge_id=PI, amount=usd(amount), idempotency_key=REFUND_KEY, metadata={"refund": 41}
    )


def test_refund_refunds_the_payment_intent_with_our_key(stripe_api, gateway):
    stripe_api.expect("POST", "/v1/refunds", "refund_succeeded")
    result = refund(gateway)
    assert result == GatewayRefund(
        id="re_3QxK2fLkdIwHu7ix0Rf4TgHj", status=SUCCEEDED, amount=usd("20.00")
    )
    (sent,) = stripe_api.sent
    assert sent.params == {
        "payment_intent": PI,
        "amount": "2000",
        "metadata[refund]": "41",
        "metadata[billing_key]": REFUND_KEY,
    }
    assert sent.headers["Idempotency-Key"] == REFUND_KEY


def test_a_refund_stripe_refuses_is_a_failed_refund_with_its_reason(stripe_api, gateway):
    stripe_api.expect("POST", "/v1/refunds", "refund_too_large")
    result = refund(gateway, "200.00")
    assert result.status == FAILED
    assert result.id == ""
    assert result.failure_reason == (
        "Refund amount ($200.00) is greater than unrefunded amount on charge ($125.50)"
    )


@pytest.mark.parametrize("recording", ["refund_pending", "server_error", "connection_timeout"])
def test_a_refund_without_a_final_answer_is_a_timeout(stripe_api, gateway, recording):
    stripe_api.expect("POST", "/v1/refunds", recording)
    with pytest.raises(GatewayTimeout):
        refund(gateway)


# -- find_charge -------------------------------------------------------------------------


def test_find_charge_searches_by_our_key_in_the_metadata(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/payment_intents/search", "search_result")
    found = gateway.find_charge(idempotency_key=KEY)
    assert found == GatewayCharge(id=PI, status=SUCCEEDED, amount=usd("125.50"))
    (sent,) = stripe_api.sent
    assert sent.params == {"query": f"metadata['billing_key']:'{KEY}'", "limit": "10"}


def test_find_charge_finds_a_recent_charge_search_has_not_indexed_yet(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/payment_intents/search", "search_empty")
    stripe_api.expect("GET", "/v1/payment_intents", "list_recent_match")
    found = gateway.find_charge(idempotency_key=KEY)
    assert found.id == PI
    assert found.status == SUCCEEDED
    listing = stripe_api.sent[1]
    since = int(listing.params["created[gte]"])
    assert abs(since - (time.time() - RECENT_SECONDS)) < 60
    assert listing.params["limit"] == "100"


def test_find_charge_returns_none_when_neither_search_nor_recent_list_has_it(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/payment_intents/search", "search_empty")
    stripe_api.expect("GET", "/v1/payment_intents", "list_recent_other")
    assert gateway.find_charge(idempotency_key=KEY) is None


def test_find_charge_reports_a_declined_intent_as_failed(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/payment_intents/search", "search_result_declined")
    found = gateway.find_charge(idempotency_key=KEY)
    assert found.status == FAILED
    assert (found.failure_reason, found.failure_code) == (
        "Your card was declined.",
        "generic_decline",
    )


@pytest.mark.parametrize(
    "recording", ["search_result_processing", "server_error", "connection_timeout"]
)
def test_find_charge_raises_when_stripe_cannot_tell_yet(stripe_api, gateway, recording):
    stripe_api.expect("GET", "/v1/payment_intents/search", recording)
    with pytest.raises(GatewayTimeout):
        gateway.find_charge(idempotency_key=KEY)


# -- find_refund -------------------------------------------------------------------------


def test_find_refund_lists_the_intent_refunds_and_matches_our_key(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/refunds", "refund_list")
    found = gateway.find_refund(charge_id=PI, idempotency_key=REFUND_KEY)
    assert found == GatewayRefund(
        id="re_3QxK2fLkdIwHu7ix0Rf4TgHj", status=SUCCEEDED, amount=usd("20.00")
    )
    assert stripe_api.sent[0].params == {"payment_intent": PI, "limit": "100"}


def test_find_refund_reports_a_failed_refund_with_a_reason(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/refunds", "refund_list")
    found = gateway.find_refund(
        charge_id=PI, idempotency_key="5e7c9a1b-2222-4b3d-9f8e-1a2c3e4f5a60"
    )
    assert found.status == FAILED
    assert found.failure_reason == "The card has expired or was cancelled; the refund failed."


def test_find_refund_returns_none_for_a_key_never_used(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/refunds", "refund_list")
    assert gateway.find_refund(charge_id=PI, idempotency_key="never-sent") is None


def test_find_refund_raises_when_stripe_does_not_answer(stripe_api, gateway):
    stripe_api.expect("GET", "/v1/refunds", "connection_timeout")
    with pytest.raises(GatewayTimeout):
        gateway.find_refund(charge_id=PI, idempotency_key=REFUND_KEY)


# -- the recordings ----------------------------------------------------------------------


def test_every_recording_is_used_by_a_test():
    source = Path(__file__).read_text()
    unused = [path.stem for path in RECORDINGS.glob("*.json") if f'"{path.stem}"' not in source]
    assert unused == []
