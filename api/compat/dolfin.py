"""Dolfin's manual payment (POST {prefix}/invoices/{id}/payments) with the
``x-dolfin-api-key`` header: ``amount`` as a number or a string (read exactly,
as Decimal), ``paidAt``, ``notes``; 201 with Dolfin's InvoicePaymentResponse;
errors as problem+json with Dolfin's titles."""

import datetime
import json
import logging
from decimal import Decimal
from typing import Annotated

from django.http import HttpResponse
from ninja import Field, Header, NinjaAPI, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api import problems
from api.auth import DolfinKey
from api.compat import day_of, optional_call, record
from api.problems import CONTENT_TYPE, STATUS_BY_CODE, field_of
from api.schemas import DecimalParser, In, column_length
from billing.errors import BillingError, ErrorCode
from billing.models import Payment
from billing.money import normalize

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Dolfin-compatible payments",
    version="v1",
    urls_namespace="compat-dolfin",
    auth=DolfinKey(),
    parser=DecimalParser(),
    docs_url=None,
    openapi_url="/openapi.json",
)

# Our codes → Dolfin's (status, title). Others keep our status, titled by code.
TITLES = {
    ErrorCode.INVALID_AMOUNT: (400, "Invoice.InvalidPaymentAmount"),
    ErrorCode.INVOICE_NOT_FOUND: (404, "Invoice.NotFound"),
    ErrorCode.INVOICE_NOT_PAYABLE: (409, "Invoice.NotInPayableState"),
    ErrorCode.OVERPAYMENT: (409, "Invoice.OverPayment"),
    ErrorCode.CURRENCY_MISMATCH: (400, "Invoice.InvalidPaymentAmount"),
}


def dolfin_problem(status, title, detail, code):
    body = {
        "type": f"urn:billing:error:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)


# Titles for what happens before an invoice is looked at.
REQUEST_TITLES = {
    problems.NOT_FOUND: "Request.NotFound",
    problems.METHOD_NOT_ALLOWED: "Request.MethodNotAllowed",
}
problems.SHAPES["/compat/dolfin/"] = lambda code, detail: dolfin_problem(
    STATUS_BY_CODE[code], REQUEST_TITLES.get(code, "Request.Invalid"), detail, code
)


@api.exception_handler(BillingError)
def billing_error(request, exc):
    status, title = TITLES.get(exc.code, (STATUS_BY_CODE[exc.code], "Invoice.CommandFailed"))
    return dolfin_problem(status, title, exc.message, exc.code)


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    first = exc.errors[0] if exc.errors else {}
    field = field_of(first.get("loc", ())) or "body"
    title = "Invoice.InvalidPaymentAmount" if field.split(".")[0] == "amount" else "Request.Invalid"
    return dolfin_problem(400, title, f"{field}: {first.get('msg', 'invalid')}", "invalid_value")


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    return dolfin_problem(
        401, "Unauthorized", "Send a valid x-dolfin-api-key.", "authentication_failed"
    )


@api.exception_handler(HttpError)
def malformed(request, exc):
    return dolfin_problem(
        400, "Request.Invalid", "The body is not valid JSON.", "malformed_request"
    )


@api.exception_handler(Exception)
def bug(request, exc):
    logger.exception("Dolfin-compatible API error")
    return dolfin_problem(500, "Internal", "Something went wrong on our side.", "internal_error")


class PaymentIn(In):
    amount: Decimal | Annotated[str, Field(max_length=40)]
    paidAt: datetime.datetime | datetime.date | None = None
    notes: str | None = Field(None, max_length=column_length(Payment, "notes"))


def dolfin_time(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def payment_out(payment):
    # Only the payment's own columns: nothing of the invoice is read to answer.
    return {
        "id": str(payment.pk),
        "invoiceId": str(payment.invoice_id),
        # A string, which Dolfin's schema allows: exact, at the currency's minor unit.
        "amount": f"{normalize(payment.amount).amount:f}",
        "currency": payment.currency,
        "status": "Succeeded" if payment.status == "succeeded" else payment.status.capitalize(),
        "provider": "Manual",
        "providerReference": payment.reference or f"manual-{payment.pk}",
        "notes": payment.notes or None,
        "succeededAt": dolfin_time(payment.created_at) if payment.status == "succeeded" else None,
        "createdAt": dolfin_time(payment.created_at),
    }


@api.post("/invoices/{id}/payments", response={201: dict})
def record_payment(
    request,
    id: str,
    body: PaymentIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
):
    call = optional_call(request, idempotency_key, body, status=201, render=payment_out)
    payment = record(
        id,
        lambda currency: body.amount,
        method="other",
        paid_at=day_of(body.paidAt),
        notes=body.notes or "",
        actor=request.auth,
        idempotency_key=call.key if call else None,
    )
    return call.answer(payment) if call else Status(201, payment_out(payment))
