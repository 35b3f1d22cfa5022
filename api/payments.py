"""/api/v1/payments: record money that arrived outside (every method and its
details), charge a saved method, void, retry, get, list.

Recording names the invoice by an unsaved ``Invoice(pk=, currency=)``: the
service's one statement reads and updates the row itself, so the API reads
nothing the statement returns (issue 11: an ORM read first halves the rate).
"""

import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema

from api.idempotency import Call, IdempotencyKey
from api.lookups import invoice_id, invoice_or_404, one_or_404
from api.pagination import cursor_page, list_of
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
    column_length,
    iso,
    money_in,
    money_out,
    sid,
)
from billing import permissions, selectors, services
from billing.errors import BillingError, ErrorCode
from billing.models import (
    EXTERNAL_METHODS,
    Invoice,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
)

router = Router(tags=["payments"])

ExternalMethod = Literal[tuple(str(m) for m in EXTERNAL_METHODS)]  # type: ignore[valid-type]


class DetailsIn(In):
    cheque_number: str | None = Field(None, max_length=column_length(Payment, "cheque_number"))
    card_brand: str | None = Field(None, max_length=column_length(Payment, "card_brand"))
    card_last4: str | None = Field(None, max_length=column_length(Payment, "card_last4"))
    bank_reference: str | None = Field(None, max_length=column_length(Payment, "bank_reference"))


class PaymentRecordIn(In):
    amount: MoneyIn
    method: ExternalMethod
    paid_at: datetime.date = Field(description="The day the customer paid.")
    reference: str = Field("", max_length=column_length(Payment, "reference"))
    notes: str = Field("", max_length=column_length(Payment, "notes"))
    details: DetailsIn | None = None
    excess_to_credit: bool = False
    write_off_remainder: bool = False
    instalments: list[Id] | None = Field(
        None,
        max_length=60,
        description="Ids of the invoice's instalments this payment pays first, in due "
        "order; the rest goes to the others, oldest due first.",
    )


class ChargeIn(In):
    amount: MoneyIn | None = Field(None, description="Default: all that is payable now.")
    payment_method_id: Id | None = Field(None, description="Default: the customer's default.")


class ReasonIn(In):
    reason: str = Field(min_length=1, max_length=column_length(Payment, "void_reason"))


class DetailsOut(Schema):
    cheque_number: str
    card_brand: str
    card_last4: str
    bank_reference: str


class PaymentOut(Schema):
    id: str
    object: Literal["payment"]
    invoice_id: str
    amount: MoneyOut
    status: str
    method: str
    details: DetailsOut
    payment_method_id: str | None
    paid_at: datetime.date
    reference: str
    notes: str
    gateway_charge_id: str
    failure_reason: str
    amount_refunded: MoneyOut
    amount_to_credit: MoneyOut
    refundable: MoneyOut
    refund_destinations: list[str]
    can_void: bool
    can_retry: bool
    void_reason: str
    created_by_id: str
    created_at: datetime.datetime


def payment_out(payment):
    return {
        "id": sid(payment.pk),
        "object": "payment",
        "invoice_id": sid(payment.invoice_id),
        "amount": money_out(payment.amount),
        "status": payment.status,
        "method": payment.method,
        "details": {
            "cheque_number": payment.cheque_number,
            "card_brand": payment.card_brand,
            "card_last4": payment.card_last4,
            "bank_reference": payment.bank_reference,
        },
        "payment_method_id": sid(payment.payment_method_id),
        "paid_at": iso(payment.paid_at),
        "reference": payment.reference,
        "notes": payment.notes,
        "gateway_charge_id": payment.gateway_charge_id,
        "failure_reason": payment.failure_reason,
        "amount_refunded": money_out(payment.amount_refunded),
        "amount_to_credit": money_out(payment.amount_to_credit),
        "refundable": money_out(payment.refundable),
        "refund_destinations": [str(d) for d in payment.refund_destinations],
        "can_void": payment.can_void,
        "can_retry": payment.can_retry,
        "void_reason": payment.void_reason,
        "created_by_id": sid(payment.created_by_id),
        "created_at": iso(payment.created_at),
    }


def payment_or_404(ref):
    return one_or_404(Payment.objects.all(), ref, "payment")


@router.post(
    "/invoices/{invoice}/payments",
    response={201: PaymentOut, **ERRORS},
    summary="Record a payment that arrived outside (cash, cheque, transfer, card terminal)",
)
def record_payment(request, invoice: str, body: PaymentRecordIn, idempotency_key: IdempotencyKey):
    currency = body.amount.currency.upper()
    call = Call(request, idempotency_key, body, status=201, render=payment_out)
    payment = services.payment_record(
        invoice=Invoice(pk=invoice_id(invoice), currency=currency),
        amount=body.amount.amount,
        method=body.method,
        paid_at=body.paid_at,
        actor=request.auth,
        reference=body.reference,
        notes=body.notes,
        details=body.details.model_dump(exclude_none=True) if body.details else None,
        excess_to_credit=body.excess_to_credit,
        write_off_remainder=body.write_off_remainder,
        instalments=body.instalments,
        idempotency_key=call.key,
    )
    return call.answer(payment)


def answer_charge(call, payment):
    if payment.status == PaymentStatus.FAILED:
        raise Declined(payment)
    return call.answer(payment)


@router.post(
    "/invoices/{invoice}/charges",
    response={201: PaymentOut, **CHARGE_ERRORS},
    summary="Charge a saved payment method",
)
def charge(request, invoice: str, body: ChargeIn, idempotency_key: IdempotencyKey):
    found = invoice_or_404(invoice)
    method = None
    if body.payment_method_id is not None:
        method = PaymentMethod.objects.filter(pk=int(body.payment_method_id)).first()
        if method is None:
            raise BillingError(
                ErrorCode.NO_SAVED_PAYMENT_METHOD,
                "There is no such saved payment method.",
                field="payment_method_id",
            )
    call = Call(request, idempotency_key, body, status=201, render=payment_out, keep=False)
    payment = services.payment_charge(
        invoice=found,
        actor=request.auth,
        amount=money_in(body.amount) if body.amount else None,
        payment_method=method,
        idempotency_key=call.key,
    )
    return answer_charge(call, payment)


@router.post("/payments/{payment}/retry", response={201: PaymentOut, **CHARGE_ERRORS})
def retry(request, payment: Id, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, None, status=201, render=payment_out, keep=False)
    retried = services.payment_retry(
        payment=payment_or_404(payment), actor=request.auth, idempotency_key=call.key
    )
    return answer_charge(call, retried)


@router.post("/payments/{payment}/void", response={200: PaymentOut, **ERRORS})
def void(request, payment: Id, body: ReasonIn, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, body, status=200, render=payment_out)
    voided = services.payment_void(
        payment=payment_or_404(payment),
        actor=request.auth,
        reason=body.reason,
        idempotency_key=call.key,
    )
    return call.answer(voided)


@router.get("/payments/{payment}", response={200: PaymentOut, **READ_ERRORS})
def get_payment(request, payment: Id):
    permissions.require(request.auth, permissions.VIEW)
    return payment_out(payment_or_404(payment))


class PaymentFilters(ListQuery):
    invoice: Id | None = None
    customer: Id | None = None
    status: PaymentStatus | None = None
    method: PaymentMethodKind | None = None


@router.get("/payments", response={200: list_of(PaymentOut), **READ_ERRORS})
def list_payments(request, filters: Query[PaymentFilters]):
    permissions.require(request.auth, permissions.VIEW)
    payments = selectors.payment_list()
    if filters.invoice:
        payments = payments.filter(invoice_id=int(filters.invoice))
    if filters.customer:
        payments = payments.filter(invoice__customer_id=int(filters.customer))
    if filters.status:
        payments = payments.filter(status=filters.status)
    if filters.method:
        payments = payments.filter(method=filters.method)
    return cursor_page(payments, filters, payment_out)
