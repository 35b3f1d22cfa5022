"""The person a management command acts as: every change names its actor."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def add_actor_argument(parser):
    parser.add_argument(
        "--actor",
        required=True,
        help="Username of the staff member this run acts as (recorded on every change).",
    )


def get_actor(username):
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise CommandError(f"There is no active user {username!r}.") from None
