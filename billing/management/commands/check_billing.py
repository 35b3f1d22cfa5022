"""Recompute billing's running totals from the records (billing.integrity).

Prints one line per record that disagrees and exits non-zero if any does.
"""

from django.core.management.base import BaseCommand, CommandError

from billing.integrity import find_disagreements


class Command(BaseCommand):
    help = "Check that invoices, payments and balances agree with their records."

    def handle(self, *args, **options):
        disagreements = find_disagreements()
        for line in disagreements:
            self.stdout.write(line)
        if disagreements:
            raise CommandError(f"{len(disagreements)} billing record(s) disagree.")
        self.stdout.write("All billing records agree.")
