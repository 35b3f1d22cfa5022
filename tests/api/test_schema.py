"""Schemathesis against /api/v1/openapi.json, in process through Django's WSGI
application: every operation, generated inputs (valid and invalid), no 5xx, and
every answer, errors included, matching the document (status, content type,
body). A fixed seed and a modest number of examples keep CI quick and steady."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.api.conftest import key_for
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, pay, saved_card

EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

pytestmark = pytest.mark.usefixtures("keep_the_test_connection")

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
schema.config.generation.update(modes=list(GenerationMode))


@pytest.fixture
def secret(manager):
    # Records for the generated ids to find (ids 1, 2, ... on a fresh database).
    customer = CustomerFactory()
    saved_card(customer, manager)
    invoice = issued_invoice(customer, manager, "100.00")
    pay(invoice, manager, "10.00")
    return key_for(manager)[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, secret):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {secret}"},
        checks=CHECKS,
    )
