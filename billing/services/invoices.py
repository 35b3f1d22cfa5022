"""Invoices: drafts with lines, issue (gap-free numbers), void."""

import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.models import (
    Invoice,
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceLine,
    InvoiceStatus,
    invoice_status,
)
from billing.money import MAX_AMOUNT, currency_code, format_money, parse_money, quantize, zero
from billing.services._common import Idempotency, event, require_text
from billing.services._common import due_date as clean_due_date
from billing.services.balances import apply_credit as pay_from_credit

INVOICE_PREFIX = "INV"


def _decimal(value, field, label, *, places):
    if isinstance(value, float | bool):
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"{label} must be exact, not a float.", field=field
        )
    try:
        number = Decimal(str(value).strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"{label} {value!r} is not a number.", field=field
        ) from None
    if not number.is_finite() or number.as_tuple().exponent < -places:
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"{label} has more than {places} decimals.", field=field
        )
    return number


def build_lines(lines, currency):
    """Validate line dicts and compute their rounded amounts (unsaved InvoiceLines)."""
    if not isinstance(lines, list | tuple):
        raise BillingError(ErrorCode.INVALID_VALUE, "Lines must be a list.", field="lines")
    built = []
    for position, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            raise BillingError(
                ErrorCode.INVALID_VALUE, f"Line {position} is not a line.", field="lines"
            )
        unknown = set(line) - {"description", "quantity", "unit_price", "tax_rate"}
        if unknown:
            raise BillingError(
                ErrorCode.INVALID_VALUE,
                f"Line {position} has unknown fields: {', '.join(sorted(unknown))}.",
                field="lines",
            )
        description = require_text(
            line.get("description"),
            "lines",
            f"Line {position}'s description",
            max_length=InvoiceLine._meta.get_field("description").max_length,
        )
        quantity = _decimal(line.get("quantity"), "lines", f"Line {position}'s quantity", places=4)
        if quantity <= 0 or quantity >= Decimal("1e8"):
            raise BillingError(
                ErrorCode.INVALID_VALUE,
                f"Line {position}'s quantity must be above zero and below 100,000,000.",
                field="lines",
            )
        unit_price = parse_money(line.get("unit_price"), currency, allow_zero=True, field="lines")
        tax_rate = _decimal(
            line.get("tax_rate", 0), "lines", f"Line {position}'s tax rate", places=4
        )
        if not 0 <= tax_rate <= 100:
            raise BillingError(
                ErrorCode.INVALID_VALUE,
                f"Line {position}'s tax rate must be between 0 and 100 percent.",
                field="lines",
            )
        # Rounded once each, where computed; the invoice adds the rounded amounts.
        net = quantize(unit_price.amount * quantity, currency)
        tax = quantize(net.amount * tax_rate / 100, currency)
        built.append(
            InvoiceLine(
                position=position,
                description=description,
                quantity=quantity,
                currency=currency,
                unit_price=unit_price,
                tax_rate=tax_rate,
                net=net,
                tax=tax,
                total=net + tax,
            )
        )
    total = sum((line.total for line in built), zero(currency))
    if total.amount > MAX_AMOUNT:
        raise BillingError(
            ErrorCode.INVALID_AMOUNT,
            f"The invoice total {format_money(total)} is larger than the largest allowed.",
            field="lines",
        )
    return built, total


@transaction.atomic(durable=True)
def invoice_create(*, customer, currency, lines, actor, due_date=None, idempotency_key=None):
    """Create a draft invoice with its lines and totals (each line rounded once).

    Raises ``invalid_value`` for a malformed line, ``invalid_amount`` for a price
    with more decimals than the currency has, ``currency_mismatch`` for a price
    in another currency, ``invalid_date`` for a due date that is not a date or
    lies too far from today (``_common.due_date``).
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    currency = currency_code(currency)
    due_date = clean_due_date(due_date)
    built, total = build_lines(lines, currency)
    key = Idempotency(
        "invoice_create",
        idempotency_key,
        dict(
            customer=getattr(customer, "pk", customer),
            currency=currency,
            due_date=due_date.isoformat() if due_date else None,
            lines=[
                (line.description, line.quantity, line.unit_price, line.tax_rate) for line in built
            ],
        ),
        actor,
    )
    if key.claim():
        return key.replay
    invoice = Invoice.objects.create(
        customer=customer,
        currency=currency,
        due_date=due_date,
        total=total,
        amount_credited=zero(currency),
        amount_paid=zero(currency),
        amount_due=total,
        amount_pending=zero(currency),
        created_by=actor,
    )
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    event(invoice, InvoiceEventKind.CREATED, actor, amount=total)
    return key.finish(invoice)


@transaction.atomic(durable=True)
def invoice_update_lines(*, invoice, lines, actor, due_date=None):
    """Replace a draft's lines (and due date) and recompute its totals.

    Raises ``invalid_state`` unless the invoice is a draft, and what
    ``invoice_create`` raises for its lines and due date.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    due_date = clean_due_date(due_date)
    invoice = locks.lock_invoice(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise BillingError(
            ErrorCode.INVALID_STATE, f"Invoice {invoice} is issued; its lines cannot change."
        )
    built, total = build_lines(lines, invoice.currency)
    invoice.lines.all().delete()
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    invoice.total = invoice.amount_due = total
    invoice.due_date = due_date
    invoice.save(
        update_fields=["total", "total_currency", "amount_due", "amount_due_currency", "due_date"]
    )
    return invoice


@transaction.atomic(durable=True)
def invoice_issue(*, invoice, actor, apply_credit=True, idempotency_key=None):
    """Issue a draft: give it the next gap-free number of its year and open it.

    The number is taken under the sequence's row lock in this transaction, so
    concurrent issues never share or skip a number. Unless ``apply_credit`` is
    false, the customer's credit in the invoice's currency pays what it can.
    The same ``idempotency_key`` with the same request returns the invoice and
    writes nothing. Raises ``invalid_state`` for an issued invoice or a draft
    without lines, ``idempotency_conflict``.
    Locks: idempotency key, invoice, number counter, customer balance.
    """
    permissions.require(actor, permissions.MANAGE_INVOICES)
    key = Idempotency(
        "invoice_issue",
        idempotency_key,
        dict(invoice=getattr(invoice, "pk", invoice), apply_credit=bool(apply_credit)),
        actor,
    )
    if key.claim():
        return key.replay
    invoice = locks.lock_invoice(invoice)
    issue_draft(invoice, actor, apply_credit=apply_credit)
    return key.finish(invoice)


def issue_draft(invoice, actor, *, apply_credit=True):
    """Issue a locked draft (see ``invoice_issue``); shared with issue-and-charge.
    Returns the payment the customer's credit made on it, or None."""
    if invoice.status != InvoiceStatus.DRAFT:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Invoice {invoice} is already {invoice.get_status_display().lower()}.",
        )
    if not invoice.lines.exists():
        raise BillingError(ErrorCode.INVALID_STATE, "A draft without lines cannot be issued.")
    today = timezone.localdate()
    number = locks.next_number("invoice", today.year)
    invoice.number = f"{INVOICE_PREFIX}-{today.year}-{number:06d}"
    invoice.issue_date = today
    if invoice.due_date is None:
        invoice.due_date = today + datetime.timedelta(days=settings.BILLING_PAYMENT_TERMS_DAYS)
    invoice.status = invoice_status(due=invoice.amount_due, paid=invoice.amount_paid)
    invoice.save(update_fields=["number", "issue_date", "due_date", "status"])
    event(invoice, InvoiceEventKind.ISSUED, actor, amount=invoice.total)
    if apply_credit and invoice.amount_due.amount > 0:
        balance = locks.lock_balance(invoice.customer_id, invoice.currency, create=False)
        if balance is not None and balance.amount.amount > 0:
            return pay_from_credit(invoice, balance, min(balance.amount, invoice.amount_due), actor)
    return None


@transaction.atomic(durable=True)
def invoice_void(*, invoice, actor, reason, idempotency_key=None):
    """Cancel an open invoice nothing was paid or credited on; its number stays.

    The same ``idempotency_key`` with the same request returns the void invoice
    and writes nothing. Raises ``invalid_state`` for any other invoice, or while
    a charge is pending, ``idempotency_conflict``.
    """
    permissions.require(actor, permissions.VOID_INVOICE)
    # The reason is the timeline event's message.
    reason = require_text(
        reason, "reason", "A reason", max_length=InvoiceEvent._meta.get_field("message").max_length
    )
    key = Idempotency(
        "invoice_void",
        idempotency_key,
        dict(invoice=getattr(invoice, "pk", invoice), reason=reason),
        actor,
    )
    if key.claim():
        return key.replay
    invoice = locks.lock_invoice(invoice)
    if not invoice.can_void:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"Invoice {invoice} is {invoice.get_status_display().lower()}; only an open invoice "
            "with nothing paid, pending or credited can be voided.",
        )
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["status"])
    event(invoice, InvoiceEventKind.VOIDED, actor, message=reason)
    return key.finish(invoice)
