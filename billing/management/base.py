"""What every billing command shares: the actor, finding records, amounts,
exit statuses and the ``--json`` answer (docs/commands.md).

A command is thin: ``add_arguments`` says what it takes, ``run`` finds the
records, calls one service and returns ``Done``. The rules, the permissions and
every refusal are the services'; this module only turns them into what a shell
user sees:

- exit 0: done; the result on stdout (a sentence, or a JSON object with ``--json``);
- exit 1: refused; ``Refused: <code>: <sentence>`` on stderr (and with ``--json``
  ``{"ok": false, "error": {...}}`` on stdout). A refusal writes nothing, since a
  service that raises ``BillingError`` wrote nothing; the one exception is a
  gateway's no (a declined charge, a refused refund), which is a record the
  operation made and is answered ``payment_declined``, as the pages do;
- exit 2: bad usage (an unknown option, a missing argument), from argparse.
"""

import argparse
import json
import os
import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from billing.errors import BillingError, ErrorCode
from billing.models import Customer, Invoice, Payment, PaymentStatus
from billing.money import currency_code, format_money, normalize, parse_money

ACTOR_ENV = "BILLING_ACTOR"
_ID = re.compile(r"#?([0-9]{1,18})")


class Refused(CommandError):
    """A refused operation: exit status 1, ``Refused: <code>: <sentence>`` on stderr
    (Django prints a CommandError as its class name and message)."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}", returncode=1)
        self.code = code
        self.message = message


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the example in the epilog kept as written."""


# -- the actor ---------------------------------------------------------------------


def add_actor_argument(parser):
    """``--actor USERNAME``, or the ``BILLING_ACTOR`` environment variable; one of
    them is required (a missing actor is bad usage, exit 2)."""
    default = os.environ.get(ACTOR_ENV) or None
    parser.add_argument(
        "--actor",
        default=default,
        required=default is None,
        metavar="USERNAME",
        help=f"The staff member this run acts as: their permissions apply and they are "
        f"recorded on every change (default: ${ACTOR_ENV}).",
    )


def get_actor(username):
    """The active user named ``username``; anyone else may change nothing."""
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise Refused(
            ErrorCode.PERMISSION_DENIED, f"There is no active user {username!r}."
        ) from None


# -- finding records ---------------------------------------------------------------


def get_invoice(text):
    """An invoice by its number (``INV-2026-000123``, any case) or its id."""
    text = str(text).strip()
    match = _ID.fullmatch(text)
    lookup = {"pk": int(match[1])} if match else {"number": text.upper()}
    invoice = Invoice.objects.select_related("customer").filter(**lookup).first()
    if invoice is None:
        raise BillingError(
            ErrorCode.INVOICE_NOT_FOUND, f"There is no invoice {text}.", field="invoice"
        )
    return invoice


def get_payment(text):
    """A payment by its id (``12`` or ``#12``)."""
    match = _ID.fullmatch(str(text).strip())
    payments = Payment.objects.select_related("invoice", "payment_method")
    payment = payments.filter(pk=int(match[1])).first() if match else None
    if payment is None:
        raise BillingError(ErrorCode.INVALID_VALUE, f"There is no payment {text}.", field="payment")
    return payment


def get_customer(text):
    """A customer by its id or its external reference."""
    text = str(text).strip()
    match = _ID.fullmatch(text)
    lookup = {"pk": int(match[1])} if match else {"external_ref": text}
    customer = Customer.objects.filter(**lookup).first() if text else None
    if customer is None:
        raise BillingError(
            ErrorCode.INVALID_VALUE, f"There is no customer {text}.", field="customer"
        )
    return customer


def money(text, currency, *, field="amount", allow_negative=False):
    """An amount typed in ``currency`` (``parse_money``: exact, at most the
    currency's decimals, never a float)."""
    if text is None:
        return None
    return parse_money(text, currency_code(currency), allow_negative=allow_negative, field=field)


# -- what a command prints ---------------------------------------------------------


def amount_json(value):
    """An amount as exact decimal text at its currency's minor unit."""
    return None if value is None else f"{normalize(value).amount:f}"


def invoice_json(invoice):
    return {
        "object": "invoice",
        "id": invoice.pk,
        "number": invoice.number,
        "status": invoice.status,
        "customer": invoice.customer_id,
        "currency": invoice.currency,
        "total": amount_json(invoice.total),
        "amount_credited": amount_json(invoice.amount_credited),
        "amount_paid": amount_json(invoice.amount_paid),
        "amount_due": amount_json(invoice.amount_due),
        "amount_pending": amount_json(invoice.amount_pending),
    }


def payment_json(payment):
    return {
        "object": "payment",
        "id": payment.pk,
        "invoice": payment.invoice_id,
        "status": payment.status,
        "method": payment.method,
        "currency": payment.currency,
        "amount": amount_json(payment.amount),
        "amount_refunded": amount_json(payment.amount_refunded),
        "amount_to_credit": amount_json(payment.amount_to_credit),
        "paid_at": payment.paid_at.isoformat(),
        "reference": payment.reference,
        "failure_reason": payment.failure_reason,
    }


def refund_json(refund):
    return {
        "object": "refund",
        "id": refund.pk,
        "payment": refund.payment_id,
        "status": refund.status,
        "destination": refund.destination,
        "reason": refund.reason,
        "currency": refund.currency,
        "amount": amount_json(refund.amount),
        "failure_reason": refund.failure_reason,
    }


def credit_note_json(note):
    return {
        "object": "credit_note",
        "id": note.pk,
        "number": note.number,
        "invoice": note.invoice_id,
        "reason": note.reason,
        "currency": note.currency,
        "total": amount_json(note.total),
        "reduce_due": amount_json(note.reduce_due),
        "refund_amount": amount_json(note.refund_amount),
        "to_credit": amount_json(note.to_credit),
    }


def balance_entry_json(entry):
    return {
        "object": "balance_entry",
        "id": entry.pk,
        "kind": entry.kind,
        "currency": entry.currency,
        "amount": amount_json(entry.amount),
        "balance_after": amount_json(entry.balance_after),
    }


@dataclass
class Done:
    """What a command did: a sentence for people, the records for ``--json``, and
    the error to exit with when it wrote something yet did not succeed (a gateway
    said no: its failed record is in ``data``; an import with refused rows)."""

    text: str
    data: dict = field(default_factory=dict)
    failure: CommandError | None = None


def declined(message):
    """A gateway's no, answered ``payment_declined`` as the pages do."""
    return Refused(ErrorCode.PAYMENT_DECLINED, message)


def charge_done(payment):
    """What a charge or a retry ended as: succeeded, pending (the gateway did not
    answer; ``reconcile_payments`` settles it), or declined (exit 1)."""
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    data = {"payment": payment_json(payment), "invoice": invoice_json(invoice)}
    amount = format_money(payment.amount)
    if payment.status == PaymentStatus.FAILED:
        return Done(
            f"The charge of {amount} on {invoice} was declined (payment #{payment.pk}).",
            data,
            failure=declined(f"The charge was declined: {payment.failure_reason}"),
        )
    if payment.status == PaymentStatus.PENDING:
        return Done(
            f"The gateway did not answer about the charge of {amount} on {invoice} "
            f"(payment #{payment.pk}); it stays pending and reconcile_payments settles it.",
            data,
        )
    return Done(
        f"Charged {amount} on {invoice} (payment #{payment.pk}); "
        f"{format_money(invoice.amount_due)} due, {invoice.get_status_display().lower()}.",
        data,
    )


# -- the command -------------------------------------------------------------------


class BillingCommand(BaseCommand):
    """A command for one billing operation: ``--actor``, ``--idempotency-key`` and
    ``--json`` added, BillingError turned into exit status 1 (module docstring).

    Subclasses set ``help`` and ``example`` (shown by ``--help``) and implement
    ``run(actor, options) -> Done``; ``idempotent = False`` drops the key option.
    """

    example = ""
    idempotent = True

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        if self.example:
            kwargs.setdefault("epilog", "example:\n" + _indent(self.example))
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        add_actor_argument(parser)
        if self.idempotent:
            parser.add_argument(
                "--idempotency-key",
                metavar="KEY",
                help="Act once per key: running the same line again returns the first "
                "result and writes nothing (the key is the actor's).",
            )
        parser.add_argument(
            "--json", action="store_true", help="Print the result as one JSON object."
        )
        return parser

    def handle(self, *args, **options):
        as_json = options["json"]
        try:
            actor = get_actor(options["actor"])
            done = self.run(actor, options)
        except (BillingError, Refused) as exc:
            self._refuse(exc.code, exc.message, as_json)
        if as_json:
            answer = {"ok": done.failure is None, **done.data}
            if isinstance(done.failure, Refused):
                answer["error"] = {"code": done.failure.code, "message": done.failure.message}
            self.stdout.write(json.dumps(answer, sort_keys=True))
        else:
            self.stdout.write(done.text)
        if done.failure is not None:
            raise done.failure

    def run(self, actor, options):
        raise NotImplementedError

    def _refuse(self, code, message, as_json):
        if as_json:
            error = {"code": code, "message": message}
            self.stdout.write(json.dumps({"ok": False, "error": error}, sort_keys=True))
        raise Refused(code, message) from None


def _indent(text):
    return "\n".join(f"  {line}" for line in text.strip().splitlines())
