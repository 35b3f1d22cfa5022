"""The fuzz doors (test_fuzz.py's) of the customer and saved-method forms of the
back office: no input makes a server error, and a refusal writes nothing."""

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.billing.views.test_fuzz import (
    ACTION_ANSWERS,
    CUSTOMER_FIELDS,
    HOSTILE_CHOICES,
    KEY,
    ODD_IDS,
    TICK,
    action,
    exercise,
    field,
    form,
    fuzz,
    headers,
    hostile,
    one_of_names,
    quiet_server_errors,  # noqa: F401 (an autouse fixture, for this module too)
    world,  # noqa: F401 (the records, as test_fuzz.py makes them)
)
from tests.billing.views.test_fuzz import card_fields as admin_card_fields

pytestmark = pytest.mark.django_db


@fuzz
@given(data=st.data())
def test_new_customer(world, data):  # noqa: F811
    post = data.draw(form({**CUSTOMER_FIELDS, "idempotency_key": KEY}), label="data")
    url = reverse("billing:customer_create")
    exercise(
        world, "POST", url, post, data.draw(headers(), label="headers"), answers=ACTION_ANSWERS
    )


@fuzz
@given(data=st.data())
def test_edit_customer(world, data):  # noqa: F811
    name = data.draw(one_of_names(world.customers), label="customer")
    action(world, data, "customer_edit", name, world.customers, CUSTOMER_FIELDS)


TEST_CARDS = ["", "sandbox_ok", "sandbox_declined", "sandbox_refund_timeout"]


@fuzz
@given(data=st.data())
def test_add_payment_method(world, data):  # noqa: F811
    name = data.draw(one_of_names(world.customers), label="customer")
    fields = {
        name: spec
        for name, spec in admin_card_fields(world).items()
        if name not in ("customer", "is_default")
    }
    fields["test_card"] = field(st.sampled_from(TEST_CARDS), hostile(HOSTILE_CHOICES))
    fields["default"] = TICK
    fields["idempotency_key"] = KEY
    action(world, data, "payment_method_add", name, world.customers, fields)


@fuzz
@given(
    data=st.data(), route=st.sampled_from(["payment_method_make_default", "payment_method_remove"])
)
def test_make_default_and_remove(world, data, route):  # noqa: F811
    pk = data.draw(
        st.one_of(
            st.sampled_from(list(world.cards.values())),
            st.sampled_from([2**63 - 1, 0]),
        ),
        label="card",
    )
    url = reverse(f"billing:{route}", args=[pk])
    post = data.draw(form({"confirm": field(st.just("1"), hostile(ODD_IDS), 1)}), label="data")
    exercise(
        world, "POST", url, post, data.draw(headers(), label="headers"), answers=ACTION_ANSWERS
    )
