"""The Bank page's action forms: validation only, the services decide."""

from django import forms

from bank.models import LineState
from billing.forms.fields import MoneyField

# Rows a new match form shows; "Add another invoice" gives one more, up to
# SPLIT_MAX (a bound on the page's form, not a rule: the service takes any).
SPLIT_ROWS = 2
SPLIT_MAX = 100


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
    """What a match sends besides its rows: the rest of the line to credit."""

    rest_to_credit = forms.BooleanField(
        label="Send what is left of the line to the customer's credit", required=False
    )


class SplitRowForm(forms.Form):
    """One invoice of a match, typed by number (or id), and its amount. A row
    left empty is skipped; a row half filled is refused."""

    invoice = forms.CharField(label="Invoice", max_length=40, required=False)
    amount = MoneyField(label="Amount", required=False)

    def __init__(self, *args, currency, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency

    def clean(self):
        data = super().clean()
        invoice, amount = (data.get("invoice") or "").strip(), data.get("amount")
        if bool(invoice) != bool(amount) and not self.errors:
            self.add_error(
                "amount" if invoice else "invoice", "Give both the invoice and its amount."
            )
        data["invoice"] = invoice
        return data

    def raw(self):
        """What was typed, unvalidated: to render the rows again."""
        return {name: self[name].value() for name in self.fields}


class BaseSplitFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.rows():
            raise forms.ValidationError("Name at least one invoice and its amount.")

    def rows(self):
        """The filled rows as (invoice as typed, amount): valid formset only."""
        return [
            (form.cleaned_data["invoice"], form.cleaned_data["amount"])
            for form in self.forms
            if form.cleaned_data.get("invoice")
        ]

    def kept_rows(self):
        """The rows as typed, the empty ones left out (a bound formset)."""
        rows = [form.raw() for form in self.forms]
        return [row for row in rows if any(row.values())]


def split_formset(data=None, *, line, initial=None, extra=None):
    """A match's rows: a formset of SplitRowForm under the prefix "split". A new
    form offers the line's whole amount on its first row."""
    if initial is None and data is None:
        initial = [{"amount": line.amount}]
    rows = len(initial or ())
    formset = forms.formset_factory(
        SplitRowForm,
        formset=BaseSplitFormSet,
        extra=max(SPLIT_ROWS - rows, 1) if extra is None else extra,
        max_num=SPLIT_MAX,
        validate_max=True,
        absolute_max=SPLIT_MAX,
    )
    return formset(data, initial=initial, prefix="split", form_kwargs={"currency": line.currency})


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class LineFilterForm(forms.Form):
    statement = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    state = forms.ChoiceField(choices=LineState.choices, required=False)
