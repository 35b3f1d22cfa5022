"""What the bank commands share beyond billing's (billing/management/base.py):
finding a bank line, and a line as ``--json`` shows it."""

from bank.models import StatementLine
from billing.errors import BillingError, ErrorCode
from billing.management.base import _ID, amount_json


def get_line(text):
    """A bank line by its id (``12`` or ``#12``, as the Bank page's links have it)
    or by its bank entry reference when one account alone has it."""
    text = str(text).strip()
    match = _ID.fullmatch(text)
    lines = StatementLine.objects.all()
    found = list(lines.filter(pk=int(match[1])) if match else lines.filter(bank_ref=text)[:2])
    if len(found) > 1:
        raise BillingError(
            ErrorCode.INVALID_VALUE,
            f"Lines of several accounts have the reference {text}; give the line's id.",
            field="line",
        )
    if not found:
        raise BillingError(ErrorCode.INVALID_VALUE, f"There is no bank line {text}.", field="line")
    return found[0]


def line_json(line):
    return {
        "object": "bank_line",
        "id": line.pk,
        "account": line.account,
        "bank_reference": line.bank_ref,
        "booking_date": line.booking_date.isoformat(),
        "direction": line.direction,
        "currency": line.currency,
        "amount": amount_json(line.amount),
        "state": line.state,
        "payments": sorted(line.links.values_list("payment_id", flat=True)),
        "credit_entry": line.credit_entry_id,
        "explanation": line.evidence.get("explanation", ""),
    }
