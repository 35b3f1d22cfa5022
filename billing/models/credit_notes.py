from django.db import models
from django.db.models import F, Q

from billing.models._base import (
    actor_field,
    currency_field,
    equal_amounts,
    note_field,
    note_length,
    same_currency,
)
from billing.money import money_field


class CreditNoteReason(models.TextChoices):
    DUPLICATE = "duplicate", "Duplicate"
    FRAUDULENT = "fraudulent", "Fraudulent"
    ORDER_CHANGE = "order_change", "Order change"
    PRODUCT_UNSATISFACTORY = "product_unsatisfactory", "Product unsatisfactory"
    GOODWILL = "goodwill", "Goodwill"
    WRITE_OFF = "write_off", "Write-off"
    OTHER = "other", "Other"


class CreditNote(models.Model):
    """A reduction of what an invoice asks for, with a gap-free number.

    ``total`` = ``reduce_due`` + ``refund_amount`` + ``to_credit``:
    - ``reduce_due`` lowers the invoice's amount due;
    - ``refund_amount`` gives paid money back by refunding ``refund_payment``
      (a Refund linked to this note);
    - ``to_credit`` moves paid money to the customer's balance (ledger entries of
      kind ``credit_note``, one per payment it was taken from).
    The invoice's ``amount_credited`` is the sum of its credit notes' totals.
    """

    number = models.CharField(max_length=32, unique=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="credit_notes"
    )
    currency = currency_field()
    total = money_field()
    reduce_due = money_field("reduces due by")
    refund_amount = money_field("refunded")
    to_credit = money_field("to customer credit")
    refund_payment = models.ForeignKey(
        "billing.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
    )
    reason = models.CharField(max_length=30, choices=CreditNoteReason.choices)
    memo = note_field()
    issue_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Which currencies have rows (selectors.currencies_in_use), and a list
            # filtered by currency, newest first.
            models.Index(fields=["currency", "id"], name="credit_note_currency_id"),
            # The credit notes list filtered by date is sorted by (issue_date, id).
            models.Index(fields=["issue_date", "id"], name="credit_note_issue_date_id"),
        ]
        constraints = [
            note_length("credit_note", "memo"),
            same_currency("credit_note", "total", "reduce_due", "refund_amount", "to_credit"),
            models.CheckConstraint(condition=Q(total__gt=0), name="credit_note_total_positive"),
            models.CheckConstraint(
                condition=Q(reduce_due__gte=0, refund_amount__gte=0, to_credit__gte=0),
                name="credit_note_parts_not_negative",
            ),
            models.CheckConstraint(
                condition=equal_amounts(
                    F("total"), F("reduce_due") + F("refund_amount") + F("to_credit")
                ),
                name="credit_note_total_is_sum_of_parts",
            ),
            models.CheckConstraint(
                condition=Q(refund_amount=0) | Q(refund_payment__isnull=False),
                name="credit_note_refund_names_payment",
            ),
        ]

    def __str__(self):
        return self.number
