"""The NinjaAPI at /api/v1/: routers per noun, API keys, problem+json errors,
the OpenAPI document and its docs page (served from static files)."""

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from api import customers, documents, invoices, payments, problems, refunds
from api.auth import BearerKey
from api.schemas import DecimalParser

DESCRIPTION = f"""
The billing back office's API (docs/api.md). Authenticate with an API key:
`Authorization: Bearer <key>`. Every POST needs an `Idempotency-Key` header.
Money is `{{"amount": "12.30", "currency": "USD"}}`; ids are strings.

Errors are `application/problem+json` with `type`, `title`, `status`, `detail`,
`code` and `field`. Each code answers with one status:

{problems.error_table_markdown()}
"""


class BillingAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """Error responses are problem+json; ninja writes every body as
        application/json, so the document is told the truth here."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        response["content"] = {problems.CONTENT_TYPE: content["application/json"]}
        schema["x-error-codes"] = problems.STATUS_BY_CODE
        return schema


api = BillingAPI(
    title="Billing API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=BearerKey(),
    parser=DecimalParser(),
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
problems.install(api)
api.add_router("/", invoices.router)
api.add_router("/", payments.router)
api.add_router("/", customers.router)
api.add_router("/", refunds.router)
api.add_router("/", documents.router)
