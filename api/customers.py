"""/api/v1/customers: create, get, list and search; saved payment methods (a
gateway's token, never card data); customer credit: balances per currency,
ledger entries, adjust, pay out, and apply to an invoice."""

import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema

from api.idempotency import Call, IdempotencyKey
from api.lookups import invoice_or_404, one_or_404
from api.pagination import cursor_page, list_of
from api.payments import PaymentOut, payment_out
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
from billing import selectors, services
from billing.models import BalanceEntry, Customer, GatewayName, PaymentMethod

router = Router(tags=["customers"])


class CustomerIn(In):
    name: str = Field(max_length=column_length(Customer, "name"))
    currency: str = Field(min_length=3, max_length=3, examples=["USD"])
    email: str = Field("", max_length=column_length(Customer, "email"))
    external_ref: str = Field("", max_length=column_length(Customer, "external_ref"))


class CustomerOut(Schema):
    id: str
    object: Literal["customer"]
    name: str
    email: str
    currency: str
    external_ref: str
    created_at: datetime.datetime


def customer_out(customer):
    return {
        "id": sid(customer.pk),
        "object": "customer",
        "name": customer.name,
        "email": customer.email,
        "currency": customer.currency,
        "external_ref": customer.external_ref,
        "created_at": iso(customer.created_at),
    }


def customer_or_404(ref):
    return one_or_404(Customer.objects.all(), ref, "customer")


@router.post("/customers", response={201: CustomerOut, **ERRORS})
def create_customer(request, body: CustomerIn, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, body, status=201, render=customer_out)
    customer = services.customer_create(
        name=body.name,
        currency=body.currency.upper(),
        email=body.email,
        external_ref=body.external_ref,
        actor=request.auth,
        idempotency_key=call.key,
    )
    return call.answer(customer)


class CustomerFilters(ListQuery):
    search: str | None = Field(None, max_length=100, description="Name, e-mail or reference.")


@router.get("/customers", response={200: list_of(CustomerOut), **READ_ERRORS})
def list_customers(request, filters: Query[CustomerFilters]):
    can_view(request)
    customers = Customer.objects.all()
    if filters.search and filters.search.strip():
        customers = customers.filter(selectors.customer_search_q(filters.search.strip()))
    return cursor_page(customers, filters, customer_out)


@router.get("/customers/{customer}", response={200: CustomerOut, **READ_ERRORS})
def get_customer(request, customer: Id):
    can_view(request)
    return customer_out(customer_or_404(customer))


# -- saved payment methods ------------------------------------------------------


class PaymentMethodIn(In):
    gateway: GatewayName
    token: str = Field(
        max_length=column_length(PaymentMethod, "token"),
        description="The gateway's token; never a card number.",
    )
    brand: str = Field(max_length=column_length(PaymentMethod, "brand"))
    last4: str = Field(max_length=column_length(PaymentMethod, "last4"))
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)
    default: bool = True


class PaymentMethodOut(Schema):
    id: str
    object: Literal["payment_method"]
    customer_id: str
    gateway: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    created_at: datetime.datetime


def payment_method_out(method):
    return {
        "id": sid(method.pk),
        "object": "payment_method",
        "customer_id": sid(method.customer_id),
        "gateway": method.gateway,
        "brand": method.brand,
        "last4": method.last4,
        "exp_month": method.exp_month,
        "exp_year": method.exp_year,
        "is_default": method.is_default,
        "created_at": iso(method.created_at),
    }


@router.post("/customers/{customer}/payment_methods", response={201: PaymentMethodOut, **ERRORS})
def add_payment_method(
    request, customer: Id, body: PaymentMethodIn, idempotency_key: IdempotencyKey
):
    call = Call(request, idempotency_key, body, status=201, render=payment_method_out)
    method = services.payment_method_add(
        customer=customer_or_404(customer),
        gateway=body.gateway,
        token=body.token,
        brand=body.brand,
        last4=body.last4,
        exp_month=body.exp_month,
        exp_year=body.exp_year,
        default=body.default,
        actor=request.auth,
        idempotency_key=call.key,
    )
    return call.answer(method)


@router.get(
    "/customers/{customer}/payment_methods",
    response={200: list_of(PaymentMethodOut), **READ_ERRORS},
)
def list_payment_methods(request, customer: Id, query: Query[ListQuery]):
    can_view(request)
    found = customer_or_404(customer)
    return cursor_page(PaymentMethod.objects.filter(customer=found), query, payment_method_out)


# -- customer credit -------------------------------------------------------------


class BalanceOut(Schema):
    currency: str
    amount: MoneyOut


@router.get("/customers/{customer}/balances", response={200: list[BalanceOut], **READ_ERRORS})
def list_balances(request, customer: Id):
    can_view(request)
    balances = selectors.customer_balances(customer=customer_or_404(customer))
    return [{"currency": b.currency, "amount": money_out(b.amount)} for b in balances]


class EntryOut(Schema):
    id: str
    object: Literal["balance_entry"]
    kind: str
    amount: MoneyOut
    balance_after: MoneyOut
    invoice_id: str | None
    payment_id: str | None
    refund_id: str | None
    credit_note_id: str | None
    reason: str
    reference: str
    created_at: datetime.datetime


def entry_out(entry):
    return {
        "id": sid(entry.pk),
        "object": "balance_entry",
        "kind": entry.kind,
        "amount": money_out(entry.amount),
        "balance_after": money_out(entry.balance_after),
        "invoice_id": sid(entry.invoice_id),
        "payment_id": sid(entry.payment_id),
        "refund_id": sid(entry.refund_id),
        "credit_note_id": sid(entry.credit_note_id),
        "reason": entry.reason,
        "reference": entry.reference,
        "created_at": iso(entry.created_at),
    }


@router.get(
    "/customers/{customer}/balance_entries", response={200: list_of(EntryOut), **READ_ERRORS}
)
def list_entries(request, customer: Id, query: Query[ListQuery]):
    can_view(request)
    found = customer_or_404(customer)
    return cursor_page(BalanceEntry.objects.filter(balance__customer=found), query, entry_out)


class AdjustIn(In):
    amount: MoneyIn = Field(description="Signed: negative takes credit away.")
    reason: str = Field(max_length=column_length(BalanceEntry, "reason"))


class PayOutIn(In):
    amount: MoneyIn
    reference: str = Field(max_length=column_length(BalanceEntry, "reference"))
    # Kept as the entry's reason.
    notes: str = Field("", max_length=column_length(BalanceEntry, "reason"))


@router.post("/customers/{customer}/balance_adjustments", response={201: EntryOut, **ERRORS})
def adjust(request, customer: Id, body: AdjustIn, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, body, status=201, render=entry_out)
    entry = services.balance_adjust(
        customer=customer_or_404(customer),
        amount=money_in(body.amount, allow_negative=True),
        reason=body.reason,
        actor=request.auth,
        idempotency_key=call.key,
    )
    return call.answer(entry)


@router.post("/customers/{customer}/balance_payouts", response={201: EntryOut, **ERRORS})
def pay_out(request, customer: Id, body: PayOutIn, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, body, status=201, render=entry_out)
    entry = services.balance_pay_out(
        customer=customer_or_404(customer),
        amount=money_in(body.amount),
        reference=body.reference,
        notes=body.notes,
        actor=request.auth,
        idempotency_key=call.key,
    )
    return call.answer(entry)


class ApplyIn(In):
    amount: MoneyIn | None = Field(None, description="Default: all the credit can pay.")


@router.post("/invoices/{invoice}/apply_credit", response={201: PaymentOut, **ERRORS})
def apply_credit(request, invoice: str, body: ApplyIn, idempotency_key: IdempotencyKey):
    call = Call(request, idempotency_key, body, status=201, render=payment_out)
    payment = services.credit_apply(
        invoice=invoice_or_404(invoice),
        amount=money_in(body.amount) if body.amount else None,
        actor=request.auth,
        idempotency_key=call.key,
    )
    return call.answer(payment)
