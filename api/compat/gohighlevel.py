"""GoHighLevel's manual payment (POST {prefix}/invoices/{invoiceId}/record-payment)
with ``Authorization: Bearer <key>`` and ``Version: 2021-07-28``: ``mode`` and its
``card``/``cheque`` details, ``notes``, ``amount`` (a number in major units, read
exactly, as Decimal), ``meta`` (kept with the payment), ``fulfilledAt`` (the day
the customer paid). Answers ``{"success": true, "invoice": {...}}`` in
GoHighLevel's invoice shape, with the recorded payment beside it.

GoHighLevel's page shows no error shape, so errors are the native API's
problem+json. ``paymentScheduleIds`` names the invoice's instalments the payment
pays first (``payment_record(instalments=...)``).
"""

import datetime
import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Header, NinjaAPI, Schema
from ninja.renderers import BaseRenderer
from pydantic import BeforeValidator

from api import problems
from api.auth import BearerKey
from api.compat import day_of, optional_call, record
from api.lookups import REFERENCE_LENGTH, invoice_or_404
from api.problems import UNSUPPORTED_VERSION
from api.schemas import DecimalParser, In, column_length
from billing.errors import BillingError, ErrorCode
from billing.models import InvoiceStatus, Payment
from billing.money import normalize

VERSION = "2021-07-28"

# Our invoice statuses in GoHighLevel's words: an issued invoice nobody paid yet
# is "sent"; the others keep their names.
INVOICE_STATUS = {
    InvoiceStatus.DRAFT: "draft",
    InvoiceStatus.OPEN: "sent",
    InvoiceStatus.PARTIALLY_PAID: "partially_paid",
    InvoiceStatus.PAID: "paid",
    InvoiceStatus.VOID: "void",
}

# The keys whose values are money or quantities: exact decimal strings in the
# body (so the idempotency key can keep it as JSON), written as JSON numbers.
NUMBER_KEYS = frozenset({"total", "amountPaid", "amountDue", "amount", "qty"})


def _encode(value, key=None):
    if isinstance(value, dict):
        # meta is the client's own object: written back exactly as kept.
        return (
            "{"
            + ",".join(
                f"{json.dumps(k)}:{json.dumps(v) if k == 'meta' else _encode(v, k)}"
                for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if key in NUMBER_KEYS and isinstance(value, str):
        return f"{Decimal(value):f}"
    return json.dumps(value)


class NumberRenderer(BaseRenderer):
    """GoHighLevel's amounts are JSON numbers: written from their exact decimal
    digits, never through a float."""

    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return _encode(data)


api = NinjaAPI(
    title="GoHighLevel-compatible payments",
    version=VERSION,
    urls_namespace="compat-gohighlevel",
    auth=BearerKey(),
    parser=DecimalParser(),
    renderer=NumberRenderer(),
    docs_url=None,
    openapi_url="/openapi.json",
)
problems.install(api)

# The service's field names in GoHighLevel's words, so an error names what was sent.
FIELDS = {
    "paid_at": "fulfilledAt",
    "card_brand": "card.brand",
    "card_last4": "card.last4",
    "cheque_number": "cheque.number",
    "instalments": "paymentScheduleIds",
}


@api.exception_handler(BillingError)
def billing_error(request, exc):
    return problems.problem(exc.code, exc.message, field=FIELDS.get(exc.field, exc.field))


def json_number(value):
    if isinstance(value, (str, bool)):
        raise ValueError("amount must be a JSON number")
    return value


class Card(In):
    brand: str = Field("", max_length=column_length(Payment, "card_brand"))
    # Not the column's 4: the service checks four digits, so its error names the
    # field (card.last4), and the document's own "<string>" placeholder gets that
    # answer too. This only bounds the request.
    last4: str = Field("", max_length=30)


class Cheque(In):
    number: str = Field("", max_length=column_length(Payment, "cheque_number"))


class PaymentIn(In):
    altId: str | None = Field(None, max_length=REFERENCE_LENGTH)
    altType: Literal["location"] | None = None
    mode: Literal["cash", "card", "cheque", "bank_transfer", "other"]
    card: Card | None = None
    cheque: Cheque | None = None
    notes: str | None = Field(None, max_length=column_length(Payment, "notes"))
    # A JSON number (the parser read it as a Decimal or an int), not a string.
    amount: Annotated[Decimal, BeforeValidator(json_number)] | None = Field(None, max_digits=30)
    meta: dict[str, Any] | None = None
    paymentScheduleIds: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, max_length=100
    )
    fulfilledAt: datetime.datetime | datetime.date | None = None


class Out(Schema):
    success: bool
    invoice: dict
    payment: dict


def plain(value):
    """meta as JSON keeps it: the parser read its numbers as Decimal, which a
    JSON column cannot hold, so they become JSON's own numbers again."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def number(money):
    return f"{normalize(money).amount:f}"


def ghl_time(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def details_of(body):
    if body.mode == "card" and body.card:
        return {"card_brand": body.card.brand, "card_last4": body.card.last4}
    if body.mode == "cheque" and body.cheque:
        return {"cheque_number": body.cheque.number}
    return {}


def invoice_out(invoice, body):
    customer = invoice.customer
    return {
        "_id": str(invoice.pk),
        "status": INVOICE_STATUS[invoice.status],
        "liveMode": True,
        "altId": body.altId,
        "altType": body.altType,
        "name": invoice.number or f"Draft #{invoice.pk}",
        "title": "INVOICE",
        "invoiceNumber": invoice.number,
        "currency": invoice.currency,
        "contactDetails": {"id": str(customer.pk), "name": customer.name, "email": customer.email},
        "issueDate": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "dueDate": invoice.due_date.isoformat() if invoice.due_date else None,
        "invoiceItems": [
            {
                "_id": str(line.pk),
                "name": line.description,
                "currency": invoice.currency,
                "qty": f"{line.quantity.normalize():f}",
                "amount": number(line.unit_price),
                "taxes": [],
            }
            for line in invoice.lines.order_by("position", "pk")
        ],
        "total": number(invoice.total),
        "amountPaid": number(invoice.amount_paid),
        "amountDue": number(invoice.amount_due),
        "createdAt": ghl_time(invoice.created_at),
    }


def payment_out(payment):
    return {
        "_id": str(payment.pk),
        "mode": payment.method,
        "amount": number(payment.amount),
        "card": {"brand": payment.card_brand, "last4": payment.card_last4}
        if payment.method == "card"
        else None,
        "cheque": {"number": payment.cheque_number} if payment.method == "cheque" else None,
        "notes": payment.notes,
        "meta": payment.meta,
        "fulfilledAt": payment.paid_at.isoformat(),
        "createdAt": ghl_time(payment.created_at),
    }


@api.post("/invoices/{invoiceId}/record-payment", response=Out)
def record_payment(
    request,
    invoiceId: str,
    body: PaymentIn,
    version: Annotated[str | None, Header(alias="Version", max_length=40)] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
):
    if version is None:
        return problems.problem(
            problems.MISSING_HEADER, f"Send Version: {VERSION}.", field="Version"
        )
    if version != VERSION:
        return problems.problem(
            UNSUPPORTED_VERSION, f"Only Version {VERSION} is served.", field="Version"
        )
    invoice = invoiceId
    if body.amount is None:
        # No amount means "what is payable now" (the model's rule), read from the
        # row; with an amount the invoice is not read before the service's statement.
        invoice = invoice_or_404(invoiceId)
        if not invoice.can_take_payment:
            raise BillingError(
                ErrorCode.INVOICE_NOT_PAYABLE,
                f"Invoice {invoice} has nothing that can be paid now.",
                field="amount",
            )

    def render(payment):
        # payment.invoice is the row the service's statement returned: its amounts
        # and status need no read; the customer and lines, which it does not
        # return, are one read each.
        return {
            "success": True,
            "invoice": invoice_out(payment.invoice, body),
            "payment": payment_out(payment),
        }

    call = optional_call(request, idempotency_key, body, status=200, render=render)
    payment = record(
        invoice,
        lambda currency: invoice.payable_now.amount if body.amount is None else body.amount,
        method=body.mode,
        details=details_of(body),
        paid_at=day_of(body.fulfilledAt),
        notes=body.notes or "",
        meta=plain(body.meta),
        instalments=body.paymentScheduleIds,
        actor=request.auth,
        idempotency_key=call.key if call else None,
    )
    return call.answer(payment) if call else render(payment)
