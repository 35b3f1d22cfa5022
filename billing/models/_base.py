"""Building blocks shared by the billing models."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Abs, Length
from django.db.models.lookups import LessThan, LessThanOrEqual

# Half of the storage quantum (DECIMAL(19, 4)). PostgreSQL's numeric is exact, so
# "differs by less than this" is equality there; SQLite stores decimals as REAL,
# where 0.1 + 0.2 != 0.3, and this tolerance keeps its checks from misfiring.
EPSILON = Decimal("0.00005")


def actor_field(**kwargs):
    """The person who made a record. Users are deactivated, never deleted."""
    kwargs.setdefault("on_delete", models.PROTECT)
    kwargs.setdefault("related_name", "+")
    return models.ForeignKey(settings.AUTH_USER_MODEL, **kwargs)


# The longest note or memo people may write: a paragraph, not a document.
NOTE_MAX_LENGTH = 2000


def note_field(verbose_name=None, **kwargs):
    """Free text people write (notes, a memo): blank allowed, at most
    NOTE_MAX_LENGTH characters. A TextField has no length in the database, so
    the limit is the field's (forms and the admin check it) and ``note_length``'s
    CheckConstraint."""
    kwargs.setdefault("blank", True)
    kwargs.setdefault("max_length", NOTE_MAX_LENGTH)
    return models.TextField(verbose_name, **kwargs)


def note_length(model_name, field):
    """The database's limit on a ``note_field``."""
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length(field), Value(NOTE_MAX_LENGTH)),
        name=f"{model_name}_{field}_length",
    )


def currency_field(**kwargs):
    return models.CharField("currency", max_length=3, **kwargs)


def same_currency(model_name, *money_fields):
    """Every money column of a record is in the record's ``currency``."""
    condition = Q()
    for field in money_fields:
        condition &= Q(**{f"{field}_currency": F("currency")})
    return models.CheckConstraint(condition=condition, name=f"{model_name}_one_currency")


def equal_amounts(left, right):
    """``left == right`` for decimal expressions, exact on PostgreSQL, float-safe on SQLite."""
    return LessThan(Abs(left - right), Value(EPSILON))


def at_most(left, right):
    """``left <= right`` for decimal expressions, float-safe on SQLite."""
    return LessThan(left - right, Value(EPSILON))


# The largest id a row can have (a BIGINT primary key): a larger one matches
# nothing, and SQLite cannot even bind it, so every door refuses it first.
MAX_ID = 2**63 - 1
