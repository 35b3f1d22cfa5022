from django.db import models
from django.db.models import Q

from billing.models._base import actor_field, currency_field, same_currency
from billing.money import money_field


class MoneyBalance(models.Model):
    """A customer's credit in one currency: money we hold for them.

    ``amount`` is never negative (a constraint) and always equals the sum of the
    balance's ledger entries. It changes only in billing.services, under this
    row's lock, which is always taken after the invoice's and the payment's.
    """

    customer = models.ForeignKey(
        "billing.Customer", on_delete=models.PROTECT, related_name="balances"
    )
    currency = currency_field()
    amount = money_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer", "currency"]
        constraints = [
            same_currency("money_balance", "amount"),
            models.UniqueConstraint(
                fields=["customer", "currency"], name="money_balance_one_per_currency"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="money_balance_not_negative"),
        ]

    def __str__(self):
        return f"{self.customer} {self.currency}"


class BalanceEntryKind(models.TextChoices):
    OVERPAYMENT = "overpayment", "Overpayment"
    CREDIT_NOTE = "credit_note", "Credit note"
    REFUND = "refund", "Refund to credit"
    APPLIED_TO_INVOICE = "applied_to_invoice", "Applied to invoice"
    ADJUSTMENT = "adjustment", "Adjustment"
    PAYOUT = "payout", "Paid out"


class BalanceEntry(models.Model):
    """One signed, append-only movement of a MoneyBalance.

    ``balance_after`` is the balance right after this entry, never negative. The
    record it came from is linked (payment, refund, credit note, invoice).
    """

    balance = models.ForeignKey(MoneyBalance, on_delete=models.PROTECT, related_name="entries")
    currency = currency_field()
    kind = models.CharField(max_length=30, choices=BalanceEntryKind.choices)
    amount = money_field()
    balance_after = money_field()
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment = models.ForeignKey(
        "billing.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="balance_entries",
    )
    refund = models.ForeignKey(
        "billing.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credit_note = models.ForeignKey(
        "billing.CreditNote", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "balance entries"
        constraints = [
            same_currency("balance_entry", "amount", "balance_after"),
            models.CheckConstraint(condition=~Q(amount=0), name="balance_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="balance_entry_after_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"
