"""Bank statements, their lines, and the payments a line made.

A statement is one imported file's account statement; its lines are the bank's
entries. A line is the bank's record of money that moved, so it is stored once:
(account, bank entry reference) is unique, and a line seen again in an
overlapping statement or a re-imported file is skipped, not stored twice.

A line's state says where matching left it (docs/bank.md):

- ``recorded``: it made one or more payments (``LinePayment``), automatically
  or by a person; ``recorded_by``/``recorded_at`` say who and when;
- ``suggested``: the matcher found candidates, kept with their evidence in
  ``evidence``; a person confirms, matches otherwise, or ignores it;
- ``unmatched``: nothing points anywhere;
- ``ignored``: not a customer's payment (a debit, a bank fee, a transfer between
  own accounts), with ``ignore_reason`` and who and when.

Undoing a match voids its payments and puts the line back to ``unmatched`` with
``undone_by``/``undone_at``/``undo_reason``; ``match_round`` counts the undos, so
the next match's idempotency keys are new ones (the voided payments keep theirs).
Amounts, dates and texts of a line never change; only its state and the
who-and-when of the actions move.
"""

from django.db import models
from django.db.models import Q

from billing.models._base import actor_field, currency_field, same_currency
from billing.money import money_field


class StatementFormat(models.TextChoices):
    CAMT053 = "camt053", "ISO 20022 CAMT.053"
    MT940 = "mt940", "SWIFT MT940"
    OFX = "ofx", "OFX"
    CSV = "csv", "Bank CSV export"


class Direction(models.TextChoices):
    CREDIT = "credit", "Credit (money in)"
    DEBIT = "debit", "Debit (money out)"


class LineState(models.TextChoices):
    RECORDED = "recorded", "Recorded"
    SUGGESTED = "suggested", "Suggested"
    UNMATCHED = "unmatched", "Unmatched"
    IGNORED = "ignored", "Ignored"


class Statement(models.Model):
    """One account statement of an imported file, with what the import did."""

    account = models.CharField(max_length=64)
    currency = currency_field(blank=True)
    bank_statement_id = models.CharField("statement id", max_length=128, blank=True)
    format = models.CharField(max_length=10, choices=StatementFormat.choices)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    first_booking_date = models.DateField(null=True, blank=True)
    last_booking_date = models.DateField(null=True, blank=True)
    lines_in_file = models.PositiveIntegerField(default=0)
    lines_new = models.PositiveIntegerField(default=0)
    lines_duplicate = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = actor_field()

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        name = self.bank_statement_id or self.file_name
        return f"Statement {name} ({self.account})"


class StatementLine(models.Model):
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(max_length=64)
    bank_ref = models.CharField("bank entry reference", max_length=100)
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    currency = currency_field()
    amount = money_field()
    direction = models.CharField(max_length=6, choices=Direction.choices)
    remittance = models.CharField("remittance text", max_length=500, blank=True)
    end_to_end_id = models.CharField("end-to-end id", max_length=100, blank=True)
    counterparty_name = models.CharField(max_length=140, blank=True)
    counterparty_account = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=LineState.choices)
    # What the matcher found, as data the page explains (bank/matching.py).
    evidence = models.JSONField(default=dict, blank=True)
    match_round = models.PositiveIntegerField(default=0)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = actor_field(null=True, blank=True)
    ignore_reason = models.CharField(max_length=300, blank=True)
    ignored_at = models.DateTimeField(null=True, blank=True)
    ignored_by = actor_field(null=True, blank=True)
    undo_reason = models.CharField(max_length=300, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = actor_field(null=True, blank=True)
    # The customer whose credit got what was left of the line, and the entry.
    credit_entry = models.ForeignKey(
        "billing.BalanceEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booking_date", "id"]
        indexes = [
            models.Index(fields=["statement", "state", "id"], name="bank_line_statement_state"),
            models.Index(fields=["counterparty_account", "state"], name="bank_line_counterparty"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "bank_ref"], name="bank_line_once"),
            same_currency("bank_line", "amount"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_line_amount_positive"),
            models.CheckConstraint(
                condition=~Q(state=LineState.IGNORED) | ~Q(ignore_reason=""),
                name="bank_line_ignored_with_reason",
            ),
        ]

    def __str__(self):
        return f"Bank line {self.bank_ref} ({self.account})"

    @property
    def is_credit(self):
        return self.direction == Direction.CREDIT

    @property
    def can_match(self):
        """A person may match, confirm or ignore it: a credit not yet recorded or ignored."""
        return self.is_credit and self.state in (LineState.SUGGESTED, LineState.UNMATCHED)

    @property
    def can_ignore(self):
        return self.state in (LineState.SUGGESTED, LineState.UNMATCHED)

    @property
    def can_undo(self):
        return self.state == LineState.RECORDED


class LinePayment(models.Model):
    """A payment a bank line made (a split makes several)."""

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="links")
    payment = models.OneToOneField(
        "billing.Payment", on_delete=models.PROTECT, related_name="bank_link"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.line} → payment #{self.payment_id}"
