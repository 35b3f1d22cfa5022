"""Shapes every resource shares: money, ids, lists, problems."""

import datetime
import json
from decimal import Decimal
from typing import Annotated, Literal

from moneyed import Money
from ninja import Field, Schema
from ninja.parser import Parser
from pydantic import ConfigDict

from api.problems import STATUS_BY_CODE
from billing import permissions
from billing.money import normalize, parse_money


class DecimalParser(Parser):
    """JSON numbers are read as Decimal, exactly: 19.99 is 19.99, never
    19.989999…; nothing in the API ever holds a float."""

    def parse_body(self, request):
        return json.loads(request.body, parse_float=Decimal)


def can_view(request):
    """The reads' one check: the key's user may see billing."""
    permissions.require(request.auth, permissions.VIEW)


def column_length(model, name):
    """A text field's longest value, from the model: the API refuses what the
    column (and the service's own check) would refuse, and no more."""
    return model._meta.get_field(name).max_length


class In(Schema):
    """A request body: an unknown field is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class MoneyIn(In):
    amount: str = Field(max_length=40, examples=["12.30"])
    currency: str = Field(min_length=3, max_length=3, examples=["USD"])


class MoneyOut(Schema):
    amount: str = Field(examples=["12.30"])
    currency: str = Field(examples=["USD"])


def money_in(value, *, field="amount", allow_negative=False):
    """A MoneyIn as exact Money, refused (``invalid_amount``) as the services do."""
    return parse_money(
        value.amount, value.currency.upper(), allow_negative=allow_negative, field=field
    )


def money_out(value: Money | None):
    if value is None:
        return None
    value = normalize(value)
    return {"amount": f"{value.amount:f}", "currency": value.currency.code}


def iso(value: datetime.date | datetime.datetime | None):
    return value.isoformat() if value is not None else None


def sid(value):
    """Ids are strings in the API, so clients never do arithmetic on them."""
    return str(value) if value is not None else None


Id = Annotated[str, Field(pattern=r"^[0-9]{1,18}$", examples=["42"])]
Cursor = Annotated[str | None, Field(default=None, pattern=r"^[0-9]{1,18}$")]


class ListQuery(Schema):
    limit: int = Field(20, ge=1, le=100)
    starting_after: Cursor = None


class FieldProblem(Schema):
    field: str | None
    detail: str
    type: str


class Problem(Schema):
    """RFC 9457 problem details, with the product's error code (docs/api.md)."""

    type: str = Field(examples=["urn:billing:error:overpayment"])
    title: str
    status: int
    detail: str
    code: Literal[tuple(STATUS_BY_CODE)]  # type: ignore[valid-type]
    field: str | None = None
    errors: list[FieldProblem] | None = None
    payment_id: str | None = None


ERRORS = {status: Problem for status in (400, 401, 403, 404, 409, 422)}
READ_ERRORS = {status: Problem for status in (400, 401, 403, 404, 422)}
CHARGE_ERRORS = {**ERRORS, 402: Problem}
