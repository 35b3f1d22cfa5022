"""Building blocks shared by the billing models."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan

# Half of the storage quantum (DECIMAL(19, 4)). PostgreSQL's numeric is exact, so
# "differs by less than this" is equality there; SQLite stores decimals as REAL,
# where 0.1 + 0.2 != 0.3, and this tolerance keeps its checks from misfiring.
EPSILON = Decimal("0.00005")


def actor_field(**kwargs):
    """The person who made a record. Users are deactivated, never deleted."""
    kwargs.setdefault("on_delete", models.PROTECT)
    kwargs.setdefault("related_name", "+")
    return models.ForeignKey(settings.AUTH_USER_MODEL, **kwargs)


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
