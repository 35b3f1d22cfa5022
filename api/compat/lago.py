"""Lago's manual payments (POST {prefix}/api/v1/payments, GET one and the list),
``Authorization: Bearer <key>``. ``amount_cents`` is in the currency's minor unit
(JPY has none, KWD has three): the invoice's currency, which api.compat.record
knows without reading the invoice first."""

import datetime
import json
from decimal import Decimal
from http import HTTPStatus
from typing import Annotated

from django.http import HttpResponse
from ninja import Field, Header, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api import problems
from api.auth import BearerKey
from api.compat import day_of, optional_call, record
from api.lookups import REFERENCE_LENGTH, invoice_or_404, one_or_404
from api.problems import STATUS_BY_CODE, NotFound, field_of
from api.schemas import DecimalParser, Id, In, column_length
from billing import permissions
from billing.errors import BillingError
from billing.models import Payment
from billing.money import minor_unit

api = NinjaAPI(
    title="Lago-compatible payments",
    version="1",
    urls_namespace="compat-lago",
    auth=BearerKey(),
    parser=DecimalParser(),
    docs_url=None,
    openapi_url="/openapi.json",
)

# Lago's status words for our payment statuses.
PAYMENT_STATUS = {
    "succeeded": "succeeded",
    "pending": "pending",
    "failed": "failed",
    "voided": "failed",
}


class PaymentFields(In):
    invoice_id: str = Field(max_length=REFERENCE_LENGTH)
    # A JSON integer: strict, so neither true (1) nor "100" nor 1.0 is taken as cents.
    amount_cents: int = Field(ge=0, le=10**22, strict=True)
    reference: str = Field(max_length=column_length(Payment, "reference"))
    paid_at: datetime.date | None = None


class PaymentIn(In):
    payment: PaymentFields


def cents(money):
    return int(money.amount.scaleb(minor_unit(money.currency.code)))


def payment_out(payment):
    # The invoice as the service left it (its statement returns the row) or as
    # the reads' select_related joined it: never a read of its own.
    invoice = payment.invoice
    return {
        "lago_id": str(payment.pk),
        "invoice_ids": [str(invoice.pk)],
        "invoice_numbers": [invoice.number],
        "amount_cents": cents(payment.amount),
        "amount_currency": payment.currency,
        "payment_status": PAYMENT_STATUS[payment.status],
        "type": "manual",
        "reference": payment.reference,
        "external_payment_id": None,
        "created_at": payment.created_at.isoformat().replace("+00:00", "Z"),
    }


def lago_error(status, code, details=None):
    body = {"status": status, "error": HTTPStatus(status).phrase, "code": code}
    if details is not None:
        body["error_details"] = details
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


problems.SHAPES["/compat/lago/"] = lambda code, detail: lago_error(
    STATUS_BY_CODE[code], code, {"base": [detail]}
)


@api.exception_handler(BillingError)
def billing_error(request, exc):
    status = STATUS_BY_CODE[exc.code]
    if status == 422:
        # Lago answers field errors as validation_errors: {field: [codes]}.
        return lago_error(422, "validation_errors", {exc.field or "base": [exc.code]})
    return lago_error(status, exc.code, {"base": [exc.message]})


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    details = {}
    for error in exc.errors:
        details.setdefault(field_of(error.get("loc", ())) or "base", []).append(error["type"])
    return lago_error(422, "validation_errors", details)


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    return lago_error(401, "unauthorized")


@api.exception_handler(HttpError)
def http_error(request, exc):
    return lago_error(400, "bad_request", {"base": ["The body is not valid JSON."]})


@api.exception_handler(NotFound)
def not_found(request, exc):
    return lago_error(404, "payment_not_found")


@api.exception_handler(Exception)
def bug(request, exc):
    import logging

    logging.getLogger(__name__).exception("Lago-compatible API error")
    return lago_error(500, "internal_error")


@api.post("/api/v1/payments")
def create_payment(
    request,
    body: PaymentIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
):
    fields = body.payment

    def render(payment):
        return {"payment": payment_out(payment)}

    call = optional_call(request, idempotency_key, body, status=200, render=render)
    payment = record(
        fields.invoice_id,
        lambda currency: Decimal(fields.amount_cents).scaleb(-minor_unit(currency)),
        method="other",
        paid_at=day_of(fields.paid_at),
        reference=fields.reference,
        actor=request.auth,
        idempotency_key=call.key if call else None,
    )
    return call.answer(payment) if call else render(payment)


@api.get("/api/v1/payments/{lago_id}")
def get_payment(request, lago_id: Id):
    permissions.require(request.auth, permissions.VIEW)
    payment = one_or_404(Payment.objects.select_related("invoice"), lago_id, "payment")
    return {"payment": payment_out(payment)}


class ListQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=100)
    invoice_id: str | None = Field(None, max_length=REFERENCE_LENGTH)


@api.get("/api/v1/payments")
def list_payments(request, query: Query[ListQuery]):
    permissions.require(request.auth, permissions.VIEW)
    payments = Payment.objects.select_related("invoice").order_by("-pk")
    if query.invoice_id:
        payments = payments.filter(invoice=invoice_or_404(query.invoice_id))
    total = payments.count()
    start = (query.page - 1) * query.per_page
    rows = list(payments[start : start + query.per_page])
    pages = max((total + query.per_page - 1) // query.per_page, 1)
    return {
        "payments": [payment_out(p) for p in rows],
        "meta": {
            "current_page": query.page,
            "next_page": query.page + 1 if query.page < pages else None,
            "prev_page": query.page - 1 if query.page > 1 else None,
            "total_pages": pages,
            "total_count": total,
        },
    }
