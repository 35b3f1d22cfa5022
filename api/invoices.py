"""/api/v1/invoices: drafts with lines, issue, issue and charge, void, the list
with its filters, and the timeline. What an invoice allows is its model's to say
(payable_now, can_take_payment, can_void, is_overdue): the API shows those answers."""

import datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Prefetch
from ninja import Field, Query, Router, Schema

from api.idempotency import Call, IdempotencyKey
from api.lookups import invoice_or_404
from api.pagination import cursor_page, list_of
from api.payments import PaymentOut, payment_out
from api.problems import Declined
from api.schemas import (
    CHARGE_ERRORS,
    ERRORS,
    READ_ERRORS,
    Id,
    In,
    ListQuery,
    MoneyIn,
    MoneyOut,
    can_view,
    iso,
    money_in,
    money_out,
    sid,
)
from billing import selectors, services
from billing.errors import BillingError, ErrorCode
from billing.models import Customer, Invoice, InvoiceLine, InvoiceStatus

router = Router(tags=["invoices"])


class LineIn(In):
    description: str = Field(max_length=500)
    quantity: str = Field("1", max_length=30, examples=["2"])
    unit_price: MoneyIn
    tax_rate: str = Field("0", max_length=30, examples=["20"], description="A percentage.")


class InvoiceCreateIn(In):
    customer_id: Id
    currency: str | None = Field(None, min_length=3, max_length=3)
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    due_date: datetime.date | None = None


class IssueIn(In):
    apply_credit: bool = True


class VoidIn(In):
    reason: str = Field(min_length=1, max_length=500)


class LineOut(Schema):
    description: str
    quantity: str
    unit_price: MoneyOut
    tax_rate: str
    net: MoneyOut
    tax: MoneyOut
    total: MoneyOut


class InstalmentOut(Schema):
    id: str
    sequence: int
    due_date: datetime.date
    amount: MoneyOut
    amount_paid: MoneyOut
    remaining: MoneyOut
    status: str
    is_overdue: bool


class InvoiceOut(Schema):
    id: str
    object: Literal["invoice"]
    number: str | None
    customer_id: str
    currency: str
    status: str
    issue_date: datetime.date | None
    due_date: datetime.date | None
    total: MoneyOut
    amount_credited: MoneyOut
    amount_paid: MoneyOut
    amount_due: MoneyOut
    amount_pending: MoneyOut
    payable_now: MoneyOut
    can_take_payment: bool
    can_void: bool
    is_overdue: bool
    created_at: datetime.datetime
    lines: list[LineOut]
    instalments: list[InstalmentOut] = Field(
        description="Its payment schedule, in sequence order (empty without one); a "
        "payment names instalments by id (payments' `instalments`)."
    )


def _decimal(value):
    return f"{Decimal(value).normalize():f}"


def invoice_out(invoice):
    return {
        "id": sid(invoice.pk),
        "object": "invoice",
        "number": invoice.number,
        "customer_id": sid(invoice.customer_id),
        "currency": invoice.currency,
        "status": invoice.status,
        "issue_date": iso(invoice.issue_date),
        "due_date": iso(invoice.due_date),
        "total": money_out(invoice.total),
        "amount_credited": money_out(invoice.amount_credited),
        "amount_paid": money_out(invoice.amount_paid),
        "amount_due": money_out(invoice.amount_due),
        "amount_pending": money_out(invoice.amount_pending),
        "payable_now": money_out(invoice.payable_now),
        "can_take_payment": invoice.can_take_payment,
        "can_void": invoice.can_void,
        "is_overdue": invoice.is_overdue,
        "created_at": iso(invoice.created_at),
        "lines": [
            {
                "description": line.description,
                "quantity": _decimal(line.quantity),
                "unit_price": money_out(line.unit_price),
                "tax_rate": _decimal(line.tax_rate),
                "net": money_out(line.net),
                "tax": money_out(line.tax),
                "total": money_out(line.total),
            }
            for line in invoice.lines.all()
        ],
        "instalments": [
            {
                "id": sid(instalment.pk),
                "sequence": instalment.sequence,
                "due_date": iso(instalment.due_date),
                "amount": money_out(instalment.amount),
                "amount_paid": money_out(instalment.amount_paid),
                "remaining": money_out(instalment.remaining),
                "status": instalment.status,
                "is_overdue": instalment.is_overdue,
            }
            for instalment in _instalments(invoice)
        ],
    }


def _instalments(invoice):
    """The schedule (no query without one); each instalment's ``invoice`` is this
    one, which ``is_overdue`` reads."""
    if not invoice.has_schedule:
        return []
    instalments = list(invoice.instalments.all())
    for instalment in instalments:
        instalment.invoice = invoice
    return instalments


def with_lines():
    return Invoice.objects.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "pk"))
    )


@router.post("/invoices", response={201: InvoiceOut, **ERRORS}, summary="Create a draft")
def create_invoice(request, body: InvoiceCreateIn, idempotency_key: IdempotencyKey):
    customer = Customer.objects.filter(pk=int(body.customer_id)).first()
    if customer is None:
        raise BillingError(
            ErrorCode.INVALID_VALUE, "There is no such customer.", field="customer_id"
        )
    currency = (body.currency or customer.currency).upper()
    lines = [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": money_in(line.unit_price, field="unit_price"),
            "tax_rate": line.tax_rate,
        }
        for line in body.lines
    ]
    call = Call(request, idempotency_key, body, status=201, render=invoice_out)
    invoice = services.invoice_create(
        customer=customer,
        currency=currency,
        lines=lines,
        actor=request.auth,
        due_date=body.due_date,
        idempotency_key=call.key,
    )
    return call.answer(invoice)


class InvoiceFilters(ListQuery):
    status: InvoiceStatus | None = None
    customer: Id | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    number: str | None = Field(None, max_length=32)
    overdue: bool | None = None


@router.get("/invoices", response={200: list_of(InvoiceOut), **READ_ERRORS})
def list_invoices(request, filters: Query[InvoiceFilters]):
    can_view(request)
    invoices = with_lines()
    if filters.overdue:
        invoices = invoices.overdue()
    elif filters.overdue is False:
        invoices = invoices.exclude(pk__in=Invoice.objects.overdue().values("pk"))
    if filters.status:
        invoices = invoices.filter(status=filters.status)
    if filters.customer:
        invoices = invoices.filter(customer_id=int(filters.customer))
    if filters.currency:
        invoices = invoices.filter(currency=filters.currency.upper())
    if filters.number:
        invoices = invoices.filter(number=filters.number)
    return cursor_page(invoices, filters, invoice_out)


@router.get("/invoices/{invoice}", response={200: InvoiceOut, **READ_ERRORS})
def get_invoice(request, invoice: str):
    can_view(request)
    return invoice_out(invoice_or_404(invoice, with_lines()))


def _fresh(invoice):
    return invoice_out(with_lines().get(pk=invoice.pk))


@router.post("/invoices/{invoice}/issue", response={200: InvoiceOut, **ERRORS})
def issue_invoice(request, invoice: str, body: IssueIn, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, body, status=200, render=invoice_out)
    issued = services.invoice_issue(
        invoice=invoice_or_404(invoice),
        actor=request.auth,
        apply_credit=body.apply_credit,
        idempotency_key=call.key,
    )
    return call.answer(issued)


@router.post("/invoices/{invoice}/void", response={200: InvoiceOut, **ERRORS})
def void_invoice(request, invoice: str, body: VoidIn, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, body, status=200, render=invoice_out)
    voided = services.invoice_void(
        invoice=invoice_or_404(invoice),
        actor=request.auth,
        reason=body.reason,
        idempotency_key=call.key,
    )
    return call.answer(voided)


class IssuedAndChargedOut(Schema):
    invoice: InvoiceOut
    charge: PaymentOut | None
    credit_payment: PaymentOut | None


def issued_and_charged_out(outcome):
    return {
        "invoice": _fresh(outcome.invoice),
        "charge": payment_out(outcome.charge) if outcome.charge else None,
        "credit_payment": payment_out(outcome.credit_payment) if outcome.credit_payment else None,
    }


@router.post(
    "/invoices/{invoice}/issue_and_charge",
    response={200: IssuedAndChargedOut, **CHARGE_ERRORS},
    summary="Issue a draft and charge its customer's default saved method",
)
def issue_and_charge(request, invoice: str, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, None, status=200, render=None, keep=False)
    outcome = services.invoice_issue_and_charge(
        invoice=invoice_or_404(invoice), actor=request.auth, idempotency_key=call.key
    )
    if outcome.charge is not None and outcome.charge.status == "failed":
        raise Declined(outcome.charge)
    return issued_and_charged_out(outcome)


class EventOut(Schema):
    id: str
    kind: str
    amount: MoneyOut | None
    message: str
    payment_id: str | None
    refund_id: str | None
    credit_note_id: str | None
    created_by: str | None
    created_at: datetime.datetime


def event_out(event):
    return {
        "id": sid(event.pk),
        "kind": event.kind,
        "amount": money_out(event.amount) if event.amount is not None else None,
        "message": event.message,
        "payment_id": sid(event.payment_id),
        "refund_id": sid(getattr(event, "refund_id", None)),
        "credit_note_id": sid(getattr(event, "credit_note_id", None)),
        "created_by": event.created_by.get_username() if event.created_by_id else None,
        "created_at": iso(event.created_at),
    }


@router.get("/invoices/{invoice}/timeline", response={200: list_of(EventOut), **READ_ERRORS})
def invoice_timeline(request, invoice: str, query: Query[ListQuery]):
    can_view(request)
    found = invoice_or_404(invoice)
    return cursor_page(selectors.invoice_events(invoice=found), query, event_out)
