"""/api/v1/refunds and credit notes. Where a payment's money may go back is the
payment's to say (Payment.refund_destinations); what a credit note would leave
is selectors.credit_note_after, the same preview the page shows."""

import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema

from api.idempotency import Call, IdempotencyKey
from api.lookups import invoice_or_404, one_or_404
from api.pagination import cursor_page, list_of
from api.schemas import (
    ERRORS,
    READ_ERRORS,
    Id,
    In,
    ListQuery,
    MoneyIn,
    MoneyOut,
    can_view,
    column_length,
    iso,
    money_in,
    money_out,
    sid,
)
from billing import permissions, selectors, services
from billing.models import (
    CreditNote,
    CreditNoteReason,
    Payment,
    Refund,
    RefundDestination,
    RefundReason,
)
from billing.money import zero

router = Router(tags=["refunds and credit notes"])


class RefundIn(In):
    amount: MoneyIn
    destination: RefundDestination
    reason: RefundReason
    notes: str = Field("", max_length=column_length(Refund, "notes"))
    reference: str = Field("", max_length=column_length(Refund, "reference"))


class RefundOut(Schema):
    id: str
    object: Literal["refund"]
    payment_id: str
    amount: MoneyOut
    status: str
    destination: str
    reason: str
    notes: str
    reference: str
    credit_note_id: str | None
    failure_reason: str
    created_at: datetime.datetime


def refund_out(refund):
    return {
        "id": sid(refund.pk),
        "object": "refund",
        "payment_id": sid(refund.payment_id),
        "amount": money_out(refund.amount),
        "status": refund.status,
        "destination": refund.destination,
        "reason": refund.reason,
        "notes": refund.notes,
        "reference": refund.reference,
        "credit_note_id": sid(refund.credit_note_id),
        "failure_reason": refund.failure_reason,
        "created_at": iso(refund.created_at),
    }


@router.post("/payments/{payment}/refunds", response={201: RefundOut, **ERRORS})
def create_refund(request, payment: Id, body: RefundIn, idempotency_key: IdempotencyKey):
    # A refund to the card is recorded after the gateway answers, outside the
    # first transaction: its replay answers the refund as it is now.
    gateway = body.destination == RefundDestination.ORIGINAL_METHOD
    call = Call(request, idempotency_key, body, status=201, render=refund_out, keep=not gateway)
    refund = services.payment_refund(
        payment=one_or_404(Payment.objects.all(), payment, "payment"),
        amount=money_in(body.amount),
        destination=body.destination,
        reason=body.reason,
        notes=body.notes,
        reference=body.reference,
        actor=request.auth,
        idempotency_key=call.key,
    )
    return call.answer(refund)


@router.get("/refunds/{refund}", response={200: RefundOut, **READ_ERRORS})
def get_refund(request, refund: Id):
    can_view(request)
    return refund_out(one_or_404(Refund.objects.all(), refund, "refund"))


class RefundFilters(ListQuery):
    payment: Id | None = None


@router.get("/refunds", response={200: list_of(RefundOut), **READ_ERRORS})
def list_refunds(request, filters: Query[RefundFilters]):
    can_view(request)
    refunds = Refund.objects.all()
    if filters.payment:
        refunds = refunds.filter(payment_id=int(filters.payment))
    return cursor_page(refunds, filters, refund_out)


# -- credit notes ------------------------------------------------------------------


class CreditNoteIn(In):
    reason: CreditNoteReason
    reduce_due: MoneyIn | None = None
    refund: MoneyIn | None = None
    refund_payment_id: Id | None = None
    to_credit: MoneyIn | None = None
    memo: str = Field("", max_length=column_length(CreditNote, "memo"))


class CreditNoteOut(Schema):
    id: str
    object: Literal["credit_note"]
    number: str
    invoice_id: str
    reason: str
    memo: str
    total: MoneyOut
    reduce_due: MoneyOut
    refund_amount: MoneyOut
    refund_payment_id: str | None
    to_credit: MoneyOut
    issue_date: datetime.date
    created_at: datetime.datetime


def credit_note_out(note):
    return {
        "id": sid(note.pk),
        "object": "credit_note",
        "number": note.number,
        "invoice_id": sid(note.invoice_id),
        "reason": note.reason,
        "memo": note.memo,
        "total": money_out(note.total),
        "reduce_due": money_out(note.reduce_due),
        "refund_amount": money_out(note.refund_amount),
        "refund_payment_id": sid(note.refund_payment_id),
        "to_credit": money_out(note.to_credit),
        "issue_date": iso(note.issue_date),
        "created_at": iso(note.created_at),
    }


def _parts(body, invoice):
    def part(value, field):
        return money_in(value, field=field) if value is not None else None

    payment = None
    if body.refund_payment_id is not None:
        payment = one_or_404(
            Payment.objects.filter(invoice=invoice), body.refund_payment_id, "payment"
        )
    return dict(
        reduce_due=part(body.reduce_due, "reduce_due"),
        refund=part(body.refund, "refund"),
        refund_payment=payment,
        to_credit=part(body.to_credit, "to_credit"),
    )


@router.post("/invoices/{invoice}/credit_notes", response={201: CreditNoteOut, **ERRORS})
def create_credit_note(request, invoice: str, body: CreditNoteIn, idempotency_key: IdempotencyKey):
    found = invoice_or_404(invoice)
    parts = _parts(body, found)
    call = Call(
        request,
        idempotency_key,
        body,
        status=201,
        render=credit_note_out,
        # A refund part may go back through a gateway after the first transaction.
        keep=parts["refund"] is None,
    )
    issued = services.credit_note_issue(
        invoice=found,
        reason=body.reason,
        memo=body.memo,
        actor=request.auth,
        idempotency_key=call.key,
        **parts,
    )
    return call.answer(issued.credit_note)


class PreviewOut(Schema):
    total: MoneyOut
    credited: MoneyOut
    paid: MoneyOut
    due: MoneyOut
    customer_credit: MoneyOut
    status: str
    exceeds: dict[str, str]


@router.post(
    "/invoices/{invoice}/credit_notes/preview",
    response={200: PreviewOut, **ERRORS},
    summary="What a credit note would leave; writes nothing",
)
def preview_credit_note(request, invoice: str, body: CreditNoteIn, idempotency_key: IdempotencyKey):
    permissions.require(request.auth, permissions.ISSUE_CREDIT_NOTE)
    found = invoice_or_404(invoice)
    parts = _parts(body, found)
    nothing = zero(found.currency)
    after = selectors.credit_note_after(
        invoice=found,
        credit=selectors.customer_credit(customer=found.customer_id, currency=found.currency),
        reduce_due=parts["reduce_due"] or nothing,
        refund=parts["refund"] or nothing,
        to_credit=parts["to_credit"] or nothing,
        refund_payment=parts["refund_payment"],
    )
    return {
        "total": money_out(after.total),
        "credited": money_out(after.credited),
        "paid": money_out(after.paid),
        "due": money_out(after.due),
        "customer_credit": money_out(after.credit),
        "status": after.status,
        "exceeds": {key or "total": message for key, message in after.exceeds.items()},
    }


@router.get("/credit_notes/{credit_note}", response={200: CreditNoteOut, **READ_ERRORS})
def get_credit_note(request, credit_note: Id):
    can_view(request)
    return credit_note_out(one_or_404(CreditNote.objects.all(), credit_note, "credit note"))


class CreditNoteFilters(ListQuery):
    invoice: Id | None = None


@router.get("/credit_notes", response={200: list_of(CreditNoteOut), **READ_ERRORS})
def list_credit_notes(request, filters: Query[CreditNoteFilters]):
    can_view(request)
    notes = CreditNote.objects.all()
    if filters.invoice:
        notes = notes.filter(invoice_id=int(filters.invoice))
    return cursor_page(notes, filters, credit_note_out)
