from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.keys import api_key_create
from billing.errors import BillingError


class Command(BaseCommand):
    help = (
        "Make an API key that acts as a staff user (their permissions apply, and "
        "everything it does is recorded as theirs). Prints the key once; only its "
        "hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The staff user's username.")
        parser.add_argument("--name", default="Command line", help="What the key is for.")

    def handle(self, *args, user, name, **options):
        User = get_user_model()
        try:
            owner = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist:
            raise CommandError(f"There is no user {user!r}.") from None
        try:
            # Run by whoever holds the server: they act for the user here.
            key, secret = api_key_create(user=owner, name=name, actor=owner)
        except BillingError as error:
            raise CommandError(error.message) from None
        self.stderr.write(f"API key “{key.name}” for {owner.get_username()} (shown once):")
        self.stdout.write(secret)
