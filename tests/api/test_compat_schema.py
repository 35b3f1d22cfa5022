"""Schemathesis against each compat shape's own OpenAPI document
(/compat/{lago,dolfin,gohighlevel}/openapi.json), in process: generated bodies,
paths, queries and headers, valid and invalid. Their documents list only the
success answers, so the checks are these: no 5xx; every refusal in that shape's
own error form (never HTML); and a refusal writes nothing."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from config.wsgi import application
from tests.api.conftest import key_for
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, record_counts

EXAMPLES = 15
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_the_test_connection")]


def load(prefix):
    schema = schemathesis.openapi.from_wsgi(f"/compat/{prefix}/openapi.json", application)
    schema.config.generation.update(modes=list(GenerationMode))
    return schema


lago = load("lago")
dolfin = load("dolfin")
gohighlevel = load("gohighlevel")


@pytest.fixture
def secret(clerk):
    # Invoices and a payment for generated ids (1, 2, ...) to find.
    for amount in ("100.00", "999.00"):
        invoice = issued_invoice(CustomerFactory(), clerk, amount)
    pay(invoice, clerk, "10.00")
    return key_for(clerk)[1]


def call(case, headers):
    before = record_counts()
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert record_counts() == before, (case.method, case.path, case.body)
    return response


def is_json(response, content_type):
    headers = {name.lower(): values for name, values in response.headers.items()}
    assert headers["content-type"][0] == content_type, response.text[:200]
    return response.json()


@lago.parametrize()
@SETTINGS
def test_lago_refuses_in_lagos_form(case, secret):
    response = call(case, {"Authorization": f"Bearer {secret}"})
    if response.status_code >= 400:
        body = is_json(response, "application/json")
        assert body["status"] == response.status_code and body["code"] and body["error"]


@dolfin.parametrize()
@SETTINGS
def test_dolfin_refuses_in_dolfins_form(case, secret):
    response = call(case, {"x-dolfin-api-key": secret})
    if response.status_code >= 400:
        body = is_json(response, "application/problem+json")
        assert body["status"] == response.status_code and body["title"] and body["detail"]


@gohighlevel.parametrize()
@SETTINGS
def test_gohighlevel_refuses_as_problems(case, secret):
    headers = {"Authorization": f"Bearer {secret}"}
    if not (case.headers or {}).get("Version"):
        headers["Version"] = "2021-07-28"
    response = call(case, headers)
    if response.status_code >= 400:
        body = is_json(response, "application/problem+json")
        assert body["status"] == response.status_code and body["code"] and body["detail"]
