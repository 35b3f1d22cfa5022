"""The customer page's credit forms: adjust a balance, pay credit out, and pay
one of the customer's invoices from it."""

from django import forms
from django.conf import settings

from billing.errors import BillingError
from billing.forms.fields import IdempotentForm, amount_suffix, money_field_error
from billing.money import format_money, normalize, parse_money


class BalanceAdjustForm(IdempotentForm):
    """A signed correction of a customer's credit in one currency."""

    currency = forms.ChoiceField(label="Currency")
    amount = forms.CharField(label="Amount", max_length=40)
    reason = forms.CharField(
        label="Reason", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, customer, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        codes = sorted({*settings.CURRENCIES, *currencies, customer.currency})
        self.fields["currency"].choices = [(code, code) for code in codes]
        self.fields["currency"].initial = customer.currency
        self.fields["amount"].widget.attrs["autocomplete"] = "off"
        self.fields["amount"].help_text = (
            "A positive amount adds credit; a negative one (-50.00) takes credit away. "
            "A balance never goes below zero."
        )

    def clean(self):
        data = super().clean()
        if "amount" in data and data.get("currency"):
            try:
                data["amount"] = parse_money(data["amount"], data["currency"], allow_negative=True)
            except BillingError as error:
                self.add_error("amount", error.message)
        return data


class BalancePayOutForm(IdempotentForm):
    """Credit returned to the customer outside the system."""

    amount = forms.CharField(label="Amount", max_length=40)
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
        self.currency = credit.currency.code
        amount_suffix(self.fields["amount"], self.currency)
        self.fields["amount"].initial = f"{normalize(credit).amount:f}"

    def clean_amount(self):
        return money_field_error(self.cleaned_data["amount"], self.currency)


class CustomerCreditApplyForm(IdempotentForm):
    """Pay one of the customer's invoices from their credit in its currency
    (the customer page's "Apply credit"; the invoice page has CreditApplyForm)."""

    invoice = forms.TypedChoiceField(
        label="Invoice",
        coerce=int,
        error_messages={"invalid_choice": "That invoice cannot be paid now; choose another."},
    )
    amount = forms.CharField(label="Amount", required=False, max_length=40)

    def __init__(self, *args, credit, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = credit.currency.code
        self.invoices = {invoice.pk: invoice for invoice in invoices}
        self.fields["invoice"].choices = [
            (pk, _payable_invoice_label(invoice)) for pk, invoice in self.invoices.items()
        ]
        amount_suffix(self.fields["amount"], self.currency)
        self.fields["amount"].help_text = (
            f"Credit available: {format_money(normalize(credit))}. Empty: the most it can, "
            "the smaller of the credit and what the invoice still asks for."
        )
        first = next(iter(self.invoices.values()), None)
        if first is not None:
            self.fields["invoice"].initial = first.pk
            most = min(credit, first.payable_now)
            if most.amount > 0:
                self.fields["amount"].initial = f"{normalize(most).amount:f}"

    def clean_invoice(self):
        return self.invoices[self.cleaned_data["invoice"]]

    def clean_amount(self):
        amount = self.cleaned_data["amount"].strip()
        return money_field_error(amount, self.currency) if amount else None


def _payable_invoice_label(invoice):
    due = normalize(invoice.payable_now)
    label = f"{invoice.number} — {format_money(due)} due"
    if invoice.due_date:
        label += f" by {invoice.due_date:%Y-%m-%d}"
    return f"{label} (overdue)" if invoice.is_overdue else label
