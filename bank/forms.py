"""The Bank page's action forms: validation only, the services decide."""

from django import forms

from bank.models import LineState
from billing.forms.fields import MoneyField

# A split names at most this many invoices on the page (the service takes any).
SPLIT_ROWS = 3


class LineConfirmForm(forms.Form):
    """Confirm a suggestion: one of its candidates, and the rest to credit."""

    invoice = forms.TypedChoiceField(label="Invoice", coerce=int, widget=forms.RadioSelect)
    rest_to_credit = forms.BooleanField(
        label="Send what is left of the line to the customer's credit", required=False
    )

    def __init__(self, *args, line, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = line.evidence.get("candidates", [])
        self.fields["invoice"].choices = [
            (c["invoice"], f"{c['number']} · {c['customer']}") for c in candidates
        ]
        if candidates:
            self.fields["invoice"].initial = candidates[0]["invoice"]


class LineMatchForm(forms.Form):
    """Match a line to invoices typed by number (or id), each with its amount."""

    rest_to_credit = forms.BooleanField(
        label="Send what is left of the line to the customer's credit", required=False
    )

    def __init__(self, *args, line, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(1, SPLIT_ROWS + 1):
            self.fields[f"invoice_{row}"] = forms.CharField(
                label=f"Invoice, row {row}", max_length=40, required=row == 1
            )
            self.fields[f"amount_{row}"] = MoneyField(
                label=f"Amount, row {row}", currency=line.currency, required=row == 1
            )
        self.fields["amount_1"].initial = line.amount
        self.order_fields([*(f for f in self.fields if f != "rest_to_credit"), "rest_to_credit"])

    def clean(self):
        data = super().clean()
        for row in range(1, SPLIT_ROWS + 1):
            invoice, amount = data.get(f"invoice_{row}"), data.get(f"amount_{row}")
            if bool(invoice) != bool(amount) and f"amount_{row}" not in self.errors:
                self.add_error(f"amount_{row}", "Give both the invoice and its amount.")
        return data

    def rows(self):
        data = self.cleaned_data
        return [
            (data[f"invoice_{row}"], data[f"amount_{row}"])
            for row in range(1, SPLIT_ROWS + 1)
            if data.get(f"invoice_{row}")
        ]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class LineFilterForm(forms.Form):
    statement = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    state = forms.ChoiceField(choices=LineState.choices, required=False)
