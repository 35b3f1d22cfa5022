"""The customer page's credit forms: adjust a balance, pay credit out, and pay
one of the customer's invoices from it."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from billing.forms.fields import IdempotentForm, MoneyField, amount_initial
from billing.money import format_money, normalize


class BalanceAdjustForm(IdempotentForm):
    """A signed correction of a customer's credit in one currency."""

    currency = forms.ChoiceField(label="Currency")
    # In the currency chosen above: clean() parses it once both fields are
    # clean; until then it is only checked as a number.
    amount = MoneyField(label="Amount", allow_negative=True)
    reason = forms.CharField(
        label="Reason", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, customer, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        codes = sorted({*settings.CURRENCIES, *currencies, customer.currency})
        self.fields["currency"].choices = [(code, code) for code in codes]
        self.fields["currency"].initial = customer.currency
        self.fields["amount"].help_text = (
            "A positive amount adds credit; a negative one (-50.00) takes credit away. "
            "A balance never goes below zero."
        )

    def clean(self):
        data = super().clean()
        if "amount" in data and data.get("currency"):
            try:
                data["amount"] = self.fields["amount"].to_money(data["amount"], data["currency"])
            except ValidationError as error:
                self.add_error("amount", error)
        return data


class BalancePayOutForm(IdempotentForm):
    """Credit returned to the customer outside the system."""

    amount = MoneyField(label="Amount")
    reference = forms.CharField(
        label="Reference",
        max_length=200,
        help_text="How it was paid out: the bank transfer's or cheque's reference.",
    )
    notes = forms.CharField(
        label="Notes", required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, credit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = credit.currency.code
        self.fields["amount"].initial = credit


class CustomerCreditApplyForm(IdempotentForm):
    """Pay one of the customer's invoices from their credit in its currency
    (the customer page's "Apply credit"; the invoice page has CreditApplyForm)."""

    invoice = forms.TypedChoiceField(
        label="Invoice",
        coerce=int,
        error_messages={"invalid_choice": "That invoice cannot be paid now; choose another."},
    )
    amount = MoneyField(label="Amount", required=False)

    def __init__(self, *args, credit, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.credit = credit
        self.invoices = {invoice.pk: invoice for invoice in invoices}
        self.fields["invoice"].choices = [
            (pk, _payable_invoice_label(invoice)) for pk, invoice in self.invoices.items()
        ]
        self.fields["amount"].currency = credit.currency.code
        self.fields["amount"].help_text = (
            f"Credit available: {format_money(normalize(credit))}. Empty: the most it can, "
            "the smaller of the credit and what the invoice still asks for."
        )
        first = next(iter(self.invoices.values()), None)
        if first is not None:
            self.fields["invoice"].initial = first.pk
            self.fields["amount"].initial = amount_initial(min(credit, first.payable_now))

    def clean_invoice(self):
        return self.invoices[self.cleaned_data["invoice"]]

    def suggest_amount_for_chosen_invoice(self):
        """Put in the amount the most this credit can pay on the invoice now
        chosen: the smaller of the credit and its payable amount (the amount
        region's refresh when another invoice is chosen). An invoice that is not
        among the choices leaves the amount as it was; the post refuses it."""
        try:
            invoice = self.invoices.get(int(self.data.get("invoice", "")))
        except (TypeError, ValueError):
            invoice = None
        if invoice is not None:
            self.data = self.data.copy()
            suggested = amount_initial(min(self.credit, invoice.payable_now))
            self.data["amount"] = self.fields["amount"].prepare_value(suggested) or ""


def _payable_invoice_label(invoice):
    due = normalize(invoice.payable_now)
    label = f"{invoice.number} — {format_money(due)} due"
    if invoice.due_date:
        label += f" by {invoice.due_date:%Y-%m-%d}"
    return f"{label} (overdue)" if invoice.is_overdue else label
