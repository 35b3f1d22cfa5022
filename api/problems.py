"""Errors as application/problem+json (RFC 9457), the one table of codes and
statuses, and the exception handlers that make every refusal take that shape.

Every answer that is not a success carries ``type``, ``title``, ``status``,
``detail``, the product's ``code`` and, for an input's error, its ``field``. A
malformed body, an unknown field, a wrong type, a missing header, an unknown
URL: all the same shape, never an HTML page. Only a true bug is a 500, logged.
"""

import json
import logging
import re

from django.http import Http404, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from billing.errors import ALL_CODES, BillingError, ErrorCode

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"

# The API's own codes, for what happens before a service is asked.
MALFORMED_REQUEST = "malformed_request"
MISSING_HEADER = "missing_header"
AUTHENTICATION_FAILED = "authentication_failed"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL_ERROR = "internal_error"
# GoHighLevel's shape (api/compat/gohighlevel.py): a Version header other than
# the one served, and payment schedules, which do not exist yet.
UNSUPPORTED_VERSION = "unsupported_version"

# The one table: every error code and the HTTP status it answers with. It is
# also in the OpenAPI document (api.v1's description and the Problem schema).
STATUS_BY_CODE = {
    MALFORMED_REQUEST: 400,
    MISSING_HEADER: 400,
    UNSUPPORTED_VERSION: 400,
    AUTHENTICATION_FAILED: 401,
    ErrorCode.PAYMENT_DECLINED: 402,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.INVOICE_NOT_FOUND: 404,
    NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.INVOICE_NOT_PAYABLE: 409,
    ErrorCode.OVERPAYMENT: 409,
    ErrorCode.REFUND_EXCEEDS_PAYMENT: 409,
    ErrorCode.PAYMENT_NOT_REFUNDABLE: 409,
    ErrorCode.CREDIT_NOTE_EXCEEDS_INVOICE: 409,
    ErrorCode.INSUFFICIENT_BALANCE: 409,
    ErrorCode.NO_SAVED_PAYMENT_METHOD: 409,
    ErrorCode.GATEWAY_UNAVAILABLE: 409,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.INSTALMENT_ALREADY_PAID: 409,
    ErrorCode.INSTALMENT_NOT_ON_INVOICE: 422,
    ErrorCode.SCHEDULE_TOTAL_MISMATCH: 422,
    ErrorCode.INVALID_AMOUNT: 422,
    ErrorCode.CURRENCY_MISMATCH: 422,
    ErrorCode.INVALID_DATE: 422,
    ErrorCode.INVALID_VALUE: 422,
    INTERNAL_ERROR: 500,
}
assert set(STATUS_BY_CODE) >= ALL_CODES, ALL_CODES - set(STATUS_BY_CODE)

API_CODES = [MALFORMED_REQUEST, MISSING_HEADER, AUTHENTICATION_FAILED, NOT_FOUND]


class NotFound(Exception):
    """A record the URL names does not exist (404 ``not_found``)."""


class Declined(Exception):
    """The gateway declined a charge: 402 ``payment_declined``, naming the failed
    payment, which is kept (retry it with /payments/{id}/retry)."""

    def __init__(self, payment):
        super().__init__(payment.failure_reason)
        self.payment = payment


def title(code):
    return code.replace("_", " ").capitalize()


def problem_type(code):
    # A URI naming the code (RFC 9457 allows any URI); docs/api.md lists them.
    return f"urn:billing:error:{code}"


def problem_body(code, detail, *, field=None, status=None, **extra):
    return {
        "type": problem_type(code),
        "title": title(code),
        "status": status or STATUS_BY_CODE[code],
        "detail": detail,
        "code": code,
        "field": field,
        **extra,
    }


def problem(code, detail, *, field=None, status=None, **extra):
    body = problem_body(code, detail, field=field, status=status, **extra)
    return HttpResponse(json.dumps(body), status=body["status"], content_type=CONTENT_TYPE)


def error_table_markdown():
    rows = "\n".join(f"| `{code}` | {status} |" for code, status in STATUS_BY_CODE.items())
    return f"| code | status |\n| --- | --- |\n{rows}"


# pydantic names the member of a union that refused a value after the field
# (``fulfilledAt.datetime``, ``amount.constrained-str``); the client wrote no such field.
UNION_MEMBER = re.compile(
    r"^(datetime|date|decimal|str|int|float|bool|[\w-]+\[.*\]|constrained-\w+)$"
)


def field_of(loc):
    """``body.payload.amount.amount`` → ``amount.amount``: the field as the client
    wrote it (ninja puts the source and the body parameter's name first)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        source, parts = parts[0], parts[1:]
        if source == "body" and parts:
            parts = parts[1:]
    parts = [p for p in parts if not UNION_MEMBER.match(p)]
    return ".".join(parts) or None


def from_validation_error(exc):
    """One problem for ninja's list of pydantic errors: the first names the
    field, all are listed under ``errors``."""
    errors = [
        {"field": field_of(e.get("loc", ())), "detail": e.get("msg", "Invalid."), "type": e["type"]}
        for e in exc.errors
    ]
    for error in exc.errors:
        loc = error.get("loc", ())
        if loc and loc[0] == "header" and error.get("type") == "missing":
            name = loc[-1]
            return problem(
                MISSING_HEADER, f"The {name} header is required.", field=name, errors=errors
            )
    if any(error.get("type") == "json_invalid" for error in exc.errors):
        return problem(MALFORMED_REQUEST, "The body is not valid JSON.", errors=errors)
    field = errors[0]["field"] if errors else None
    detail = f"{field}: {errors[0]['detail']}" if field else (errors or [{}])[0].get("detail", "")
    return problem(ErrorCode.INVALID_VALUE, detail, field=field, errors=errors)


def install(api):
    """Replace ninja's handlers (which answer {"detail": ...} or HTML) with problems."""

    @api.exception_handler(BillingError)
    def billing_error(request, exc):
        return problem(exc.code, exc.message, field=exc.field)

    @api.exception_handler(NotFound)
    def not_found_record(request, exc):
        return problem(NOT_FOUND, str(exc))

    @api.exception_handler(Declined)
    def declined(request, exc):
        return problem(
            ErrorCode.PAYMENT_DECLINED,
            exc.payment.failure_reason or "The card was declined.",
            payment_id=str(exc.payment.pk),
        )

    @api.exception_handler(ValidationError)
    def validation_error(request, exc):
        return from_validation_error(exc)

    @api.exception_handler(AuthenticationError)
    def authentication_error(request, exc):
        response = problem(
            AUTHENTICATION_FAILED, "Send a valid, unrevoked API key: Authorization: Bearer <key>."
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        # ninja raises 400 for a body it cannot parse; nothing else reaches here.
        if exc.status_code == 400:
            return problem(MALFORMED_REQUEST, "The body is not valid JSON.")
        return problem(NOT_FOUND, str(exc), status=exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return problem(NOT_FOUND, str(exc) or "Not found.")

    @api.exception_handler(Exception)
    def bug(request, exc):
        logger.exception("API error on %s %s", request.method, request.path)
        return problem(INTERNAL_ERROR, "Something went wrong on our side; it has been logged.")


# The compat shapes' own forms for the refusals their APIs' handlers never see (an
# unknown URL, a method a path does not take): a path prefix → ``shape(code,
# detail)``, registered by each module of api/compat.
SHAPES = {}


def refusal(request, code, detail):
    """A refusal in the form of the API the request's path belongs to."""
    for prefix, shape in SHAPES.items():
        if request.path.startswith(prefix):
            return shape(code, detail)
    return problem(code, detail)


def unknown_url(request, rest=""):
    """Under the API's prefixes an unknown URL is a problem too, never an HTML page."""
    return refusal(request, NOT_FOUND, f"There is no {request.path[:200]}.")
