"""Payments recorded by hand (money that arrived outside the system) and voids."""

import json
import re

from django.db import transaction
from django.utils import timezone

from billing import locks, permissions
from billing.errors import BillingError, ErrorCode
from billing.models import (
    EXTERNAL_METHODS,
    BalanceEntryKind,
    CreditNoteReason,
    InvoiceEventKind,
    OutboxMessage,
    OutboxTopic,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
)
from billing.money import format_money, parse_money, zero
from billing.services import _one_statement, schedules
from billing.services._common import (
    Idempotency,
    balance_move,
    ensure_payable,
    event,
    limit_text,
    move_invoice_amounts,
    new_event,
    outbox_enqueue_on_commit,
    payment_date,
    receipt_wanted,
    require_choice,
    require_text,
)
from billing.services.credit_notes import create_credit_note

DETAIL_FIELDS = ("cheque_number", "card_brand", "card_last4", "bank_reference")
# An integration's meta is its own notes, not a document store.
META_MAX_BYTES = 4096


def clean_meta(meta):
    """An integration's JSON object kept with the payment: ``{}`` for None; not
    an object, not JSON, larger than META_MAX_BYTES serialised or holding a NUL
    character (which PostgreSQL's jsonb cannot store) is ``invalid_value``."""
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise BillingError(ErrorCode.INVALID_VALUE, "meta must be a JSON object.", field="meta")
    try:
        serialised = json.dumps(meta, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise BillingError(
            ErrorCode.INVALID_VALUE, "meta must hold only JSON values.", field="meta"
        ) from None
    if len(serialised.encode()) > META_MAX_BYTES:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"meta must be at most {META_MAX_BYTES} bytes as JSON.",
            field="meta",
        )
    if "\\u0000" in serialised:
        raise BillingError(
            ErrorCode.INVALID_VALUE, "meta cannot hold a NUL character.", field="meta"
        )
    return meta


def clean_details(method, details):
    """Method details: a cheque's number, a card terminal's brand and last 4 digits,
    a bank transfer's reference. Missing required ones are ``invalid_value``."""
    details = {k: str(v).strip() for k, v in (details or {}).items() if v not in (None, "")}
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"Unknown payment details: {', '.join(sorted(unknown))}.",
            field="details",
        )
    if method == PaymentMethodKind.CHEQUE:
        require_text(details.get("cheque_number"), "cheque_number", "The cheque number")
    if method == PaymentMethodKind.CARD:
        require_text(details.get("card_brand"), "card_brand", "The card brand")
        if not re.fullmatch(r"\d{4}", details.get("card_last4", "")):
            raise BillingError(
                ErrorCode.INVALID_VALUE,
                "The card's last 4 digits must be four digits.",
                field="card_last4",
            )
    return details


def _clean_request(
    actor, invoice, amount, method, paid_at, reference, notes, details, excess, write_off
):
    """payment_record's checks that need no lock: the actor's permissions, the
    method and its details, text lengths, the date and the amount in the
    invoice's currency."""
    permissions.require(actor, permissions.RECORD)
    if write_off:
        # Writing off is crediting: the rest is settled by a credit note.
        permissions.require(actor, permissions.ISSUE_CREDIT_NOTE)
    require_choice(method, PaymentMethodKind, "method", "payment method")
    if method not in EXTERNAL_METHODS:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            "Record only money that arrived outside the system; charge saved methods "
            "and apply customer credit with their own operations.",
            field="method",
        )
    details = clean_details(method, details)
    limit_text(Payment, reference=reference, notes=notes, **details)
    paid_at = payment_date(paid_at)
    amount = parse_money(amount, invoice.currency)
    if excess and write_off:
        raise BillingError(
            ErrorCode.INVALID_VALUE, "A payment cannot both overpay and write off a remainder."
        )
    return amount, paid_at, details


def _excess(invoice, amount, excess_to_credit, *, taken=None):
    """What of ``amount`` goes beyond what ``invoice`` may be paid now (less what
    ``taken`` already claims): zero, the excess to credit, or ``overpayment``."""
    ensure_payable(invoice)
    room = invoice.payable_now - taken if taken is not None else invoice.payable_now
    if amount <= room:
        return zero(invoice.currency)
    if not excess_to_credit:
        after = " after the payments before it" if taken is not None else ""
        raise BillingError(
            ErrorCode.OVERPAYMENT,
            f"The amount is more than the {format_money(room)} due on invoice {invoice}{after}.",
            field="amount",
        )
    return amount - room


def payment_record_check(
    *,
    invoice,
    amount,
    method,
    paid_at,
    actor,
    reference="",
    notes="",
    details=None,
    excess_to_credit=False,
    write_off_remainder=False,
    taken=None,
    instalments=None,
):
    """Raise what ``payment_record`` would refuse for these arguments, locking and
    writing nothing: its permission and input checks, and the invoice's state as
    read now (payable, and the amount within ``payable_now`` less ``taken``, what
    earlier payments of the same batch will take). Returns the amount as Money.

    A preview for a batch (``import_payments`` checks every row before it writes
    any); ``payment_record`` checks it all again on the locked invoice.
    """
    amount, _, _ = _clean_request(
        actor,
        invoice,
        amount,
        method,
        paid_at,
        reference,
        notes,
        details,
        excess_to_credit,
        write_off_remainder,
    )
    _excess(invoice, amount, excess_to_credit, taken=taken)
    schedules.named_instalments(invoice, schedules.clean_instalment_ids(instalments))
    return amount


@transaction.atomic(durable=True)
def payment_record(**kwargs):
    """Record money that arrived outside the system: ``record_payment`` in a
    durable transaction of its own (see there)."""
    return record_payment(**kwargs)


def record_payment(
    *,
    invoice,
    amount,
    method,
    paid_at,
    actor,
    reference="",
    notes="",
    details=None,
    excess_to_credit=False,
    write_off_remainder=False,
    idempotency_key=None,
    meta=None,
    instalments=None,
):
    """Record money that arrived outside the system against an open invoice.

    Runs in the caller's transaction: ``payment_record`` is this in a durable
    one, and an operation that records several payments at once (a bank line
    split across invoices, bank/services.py) calls it inside its own.

    ``amount`` may exceed what is due only with ``excess_to_credit``: the excess
    goes to the customer's balance as an ``overpayment`` entry and is recorded on
    the payment as sent to credit. With ``write_off_remainder`` a short payment
    settles the invoice by a ``write_off`` credit note for the rest.
    Raises ``invalid_value``, ``invalid_amount``, ``currency_mismatch``,
    ``invalid_date``, ``invoice_not_payable``, ``overpayment``,
    ``idempotency_conflict``, ``permission_denied`` (also without
    ``issue_credit_note`` when writing off). Locks: invoice, number counter or balance.
    ``meta`` is an integration's JSON object kept with the payment (``clean_meta``).
    ``instalments`` names instalment ids of the invoice's schedule the payment
    pays first (``schedules.allocate``): another invoice's is
    ``instalment_not_on_invoice``, one with nothing left ``instalment_already_paid``.
    """
    amount, paid_at, details = _clean_request(
        actor,
        invoice,
        amount,
        method,
        paid_at,
        reference,
        notes,
        details,
        excess_to_credit,
        write_off_remainder,
    )
    meta = clean_meta(meta)
    named = schedules.clean_instalment_ids(instalments)
    key = Idempotency(
        "payment_record",
        idempotency_key,
        dict(
            invoice=invoice.pk,
            amount=amount,
            method=method,
            paid_at=paid_at.isoformat(),
            reference=reference,
            notes=notes,
            details=details,
            excess_to_credit=bool(excess_to_credit),
            write_off=bool(write_off_remainder),
            meta=meta,
            # Left out when empty, so keys used before schedules existed replay.
            **({"instalments": list(named)} if named else {}),
        ),
        actor,
    )
    payment = Payment(
        invoice_id=invoice.pk,
        currency=invoice.currency,
        amount=amount,
        status=PaymentStatus.SUCCEEDED,
        method=method,
        paid_at=paid_at,
        reference=(reference or "").strip(),
        notes=(notes or "").strip(),
        amount_refunded=zero(invoice.currency),
        amount_to_credit=zero(invoice.currency),
        created_by=actor,
        meta=meta,
        **details,
    )
    recorded = new_event(
        invoice,
        InvoiceEventKind.PAYMENT_RECORDED,
        actor,
        amount=amount,
        message=payment.method_description,
    )
    # The common case, an amount within what is payable, is one statement on
    # PostgreSQL (_one_statement), the key's claim included; the rest, and every
    # refusal, is found out here. The receipt's outbox row is written with the
    # payment, in both paths.
    wanted = OutboxMessage(topic=OutboxTopic.RECEIPT)
    claim = key.unclaimed()
    # An invoice with a schedule is refused by the statement's guard (its
    # payments are allocated here), so naming instalments skips it.
    if (
        not write_off_remainder
        and not named
        and _one_statement.record_payment(payment, recorded, wanted, key=claim)
    ):
        key.row = claim
        outbox_enqueue_on_commit(wanted)
        return key.finish(payment)
    # Claimed by the statement already, or claimed now (or taken: a replay).
    if key.claim(claim):
        return key.replay

    invoice = locks.lock_invoice(invoice)
    # A caller may name the invoice by an unsaved Invoice(pk=..., currency=...)
    # (the API, which reads no row the statement returns): the currency it
    # assumed is checked here, on the locked row.
    if amount.currency.code != invoice.currency:
        raise BillingError(
            ErrorCode.CURRENCY_MISMATCH,
            f"Invoice {invoice} is in {invoice.currency}, not {amount.currency.code}.",
            field="amount",
        )
    excess = _excess(invoice, amount, excess_to_credit)
    named = [i.pk for i in schedules.named_instalments(invoice, named)]
    room = invoice.payable_now
    remainder = room - amount if write_off_remainder and amount < room else None
    if remainder is not None and invoice.amount_pending.amount > 0:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            "A charge is in flight on this invoice; nothing can be written off.",
        )

    payment.invoice = recorded.invoice = invoice
    payment.amount_to_credit = excess
    payment.save(force_insert=True)
    applied = amount - excess
    move_invoice_amounts(invoice, paid=applied, due=-applied)
    recorded.payment = payment
    recorded.save(force_insert=True)
    schedules.allocate(invoice, payment, applied, named)
    receipt_wanted(payment=payment)
    if excess.amount > 0:
        balance_move(
            invoice.customer,
            excess,
            BalanceEntryKind.OVERPAYMENT,
            actor,
            invoice=invoice,
            payment=payment,
        )
        event(
            invoice, InvoiceEventKind.OVERPAYMENT_TO_CREDIT, actor, amount=excess, payment=payment
        )
    if remainder is not None:
        create_credit_note(
            invoice,
            actor,
            reason=CreditNoteReason.WRITE_OFF,
            reduce_due=remainder,
            memo=f"Remainder written off when payment #{payment.pk} was recorded.",
        )
    return key.finish(payment)


@transaction.atomic(durable=True)
def payment_void(*, payment, actor, reason, idempotency_key=None):
    """Void a payment recorded by mistake: ``void_payment`` in a durable
    transaction of its own (see there)."""
    return void_payment(
        payment=payment, actor=actor, reason=reason, idempotency_key=idempotency_key
    )


def void_payment(*, payment, actor, reason, idempotency_key=None):
    """Void an external payment recorded by mistake; the invoice's due grows back.
    Runs in the caller's transaction (undoing a bank match voids several).

    Only a succeeded cash/cheque/transfer/card-terminal/other payment with no
    refunds and nothing sent to credit; anything else is ``invalid_state``
    (a gateway charge is refunded instead). The same ``idempotency_key`` with the
    same request returns the voided payment and writes nothing (a retried command).
    Locks: invoice, payment.
    """
    permissions.require(actor, permissions.VOID_PAYMENT)
    reason = require_text(
        reason, "reason", "A reason", max_length=Payment._meta.get_field("void_reason").max_length
    )
    key = Idempotency(
        "payment_void",
        idempotency_key,
        dict(payment=getattr(payment, "pk", payment), reason=reason),
        actor,
    )
    if key.claim():
        return key.replay
    invoice = locks.lock_invoice(payment.invoice_id)
    payment = locks.lock_payment(payment)
    if payment.status != PaymentStatus.SUCCEEDED or not payment.is_external:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            f"This {payment.get_method_display().lower()} payment is "
            f"{payment.get_status_display().lower()}; only a succeeded payment recorded by "
            "hand can be voided. Refund it instead.",
        )
    if not payment.can_void:
        raise BillingError(
            ErrorCode.INVALID_STATE,
            "This payment has refunds or money sent to credit, so it cannot be voided.",
        )
    payment.status = PaymentStatus.VOIDED
    payment.void_reason = reason
    payment.voided_at = timezone.now()
    payment.voided_by = actor
    payment.save(update_fields=["status", "void_reason", "voided_at", "voided_by"])
    move_invoice_amounts(invoice, paid=-payment.amount, due=payment.amount)
    schedules.release(invoice, payment, payment.amount)
    event(
        invoice,
        InvoiceEventKind.PAYMENT_VOIDED,
        actor,
        amount=payment.amount,
        payment=payment,
        message=reason,
    )
    return key.finish(payment)
