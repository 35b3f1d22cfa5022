"""The invoice page's forms: a draft's header and lines (new and edit), issue,
issue and charge, void, and paying it from the customer's credit."""

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from billing import selectors
from billing.forms.fields import (
    ISO_DATE,
    IdempotentForm,
    MoneyField,
    PlainDecimalField,
    any_choice,
)
from billing.models import Customer
from billing.money import format_money


def _plain(number):
    """A Decimal as people write it: 2, 0.5, 100 (never 1E+2)."""
    return f"{number.normalize():f}"


@dataclass(frozen=True)
class CustomerPicker:
    """What the new-invoice form offers as customers: the chosen one (``chosen``,
    a pk) first, then those matching the search; ``more`` when the search matched
    more than are shown."""

    customers: list
    chosen: int | None
    more: bool


class InvoiceForm(forms.Form):
    """A draft's header: customer and currency (new drafts only) and due date.
    The lines come in an InvoiceLineFormSet next to it.

    The customer is found, not scrolled to: ``customer_search`` narrows the
    customers to a few radio choices (live with htmx, or on a refused submit
    without it), and a search that matches exactly one customer chooses it."""

    MATCHES = 8

    customer_search = forms.CharField(
        label="Customer",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text="Part of a name, e-mail or reference; then choose below.",
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(), required=False, widget=forms.RadioSelect
    )
    currency = forms.ChoiceField(
        required=False, choices=any_choice("The customer's currency", settings.CURRENCY_CHOICES)
    )
    due_date = forms.DateField(
        error_messages={"invalid": ISO_DATE},
        label="Due date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, invoice=None, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        days = settings.BILLING_PAYMENT_TERMS_DAYS
        self.fields["due_date"].help_text = f"Empty: {days} days after the invoice is issued."
        if invoice is not None:
            # invoice_update_lines keeps the customer and currency of a draft.
            del self.fields["customer_search"], self.fields["customer"], self.fields["currency"]
            self.fields["due_date"].initial = invoice.due_date
        elif customer is not None:
            self.fields["customer"].initial = customer.pk
            self.fields["currency"].initial = customer.currency

    def clean(self):
        data = super().clean()
        if self.invoice is None and "customer" not in self.errors and not data.get("customer"):
            search = data.get("customer_search", "")
            matches = selectors.customer_matches(search=search, limit=2)
            if len(matches) == 1:
                data["customer"] = matches[0]
            elif not search:
                self.add_error("customer_search", "Choose the customer: type part of a name.")
            elif not matches:
                self.add_error("customer_search", f"No customer matches “{search}”.")
            else:
                message = f"Several customers match “{search}”; choose one."
                self.add_error("customer_search", message)
        return data

    @cached_property
    def customer_picker(self):
        chosen = None
        if hasattr(self, "cleaned_data") and self.cleaned_data.get("customer"):
            chosen = self.cleaned_data["customer"]
        else:
            pk = self.data.get("customer") if self.is_bound else self.initial.get("customer")
            pk = pk or self.fields["customer"].initial
            if str(pk or "").isdigit():
                chosen = Customer.objects.filter(pk=pk).first()
        matches = selectors.customer_matches(search=self._search(), limit=self.MATCHES + 1)
        others = [customer for customer in matches if customer != chosen]
        customers = ([chosen] if chosen else []) + others[: self.MATCHES]
        return CustomerPicker(
            customers=customers,
            chosen=chosen.pk if chosen else None,
            more=len(others) > self.MATCHES,
        )

    def _search(self):
        """The search as typed, if the field takes it (a NUL byte, say, it does
        not: PostgreSQL text cannot hold one); else no search."""
        if not self.is_bound:
            return ""
        try:
            return self.fields["customer_search"].clean(self.data.get("customer_search", ""))
        except ValidationError:
            return ""

    def draft_currency(self):
        """The draft's currency once the form is valid (the customer's unless
        another was chosen), else None."""
        if self.invoice is not None:
            return self.invoice.currency
        if not self.is_valid():
            return None
        return self.cleaned_data["currency"] or self.cleaned_data["customer"].currency


class InvoiceLineForm(forms.Form):
    """One line. A row left empty (no description, no price) is not a line, so
    the form can offer spare rows and a line is removed by emptying it."""

    description = forms.CharField(required=False, max_length=500)
    quantity = PlainDecimalField(required=False, max_digits=12, decimal_places=4, initial=1)
    unit_price = MoneyField(label="Unit price", required=False, allow_zero=True)
    tax_rate = PlainDecimalField(
        label="Tax rate %",
        required=False,
        max_digits=7,
        decimal_places=4,
        min_value=0,
        max_value=100,
        initial=0,
    )

    def __init__(self, *args, currency=None, **kwargs):
        super().__init__(*args, **kwargs)
        # None while a new draft has no customer (so no currency) yet: the
        # price is only checked as a number until the form comes back with one.
        self.fields["unit_price"].currency = currency

    def clean(self):
        data = super().clean()
        description = (data.get("description") or "").strip()
        price = data.get("unit_price")
        if not description and price is None and not self.errors:
            data["empty"] = True
            return data
        if not description:
            self.add_error("description", "Describe the line.")
        if data.get("quantity") is None:
            if "quantity" not in self.errors:
                self.add_error("quantity", "Enter the quantity.")
        elif data["quantity"] <= 0:
            self.add_error("quantity", "The quantity must be above zero.")
        if price is None and "unit_price" not in self.errors:
            self.add_error("unit_price", "Enter the unit price.")
        if data.get("tax_rate") is None and "tax_rate" not in self.errors:
            data["tax_rate"] = Decimal(0)
        return data

    def line(self):
        """The line as invoice_create takes it."""
        data = self.cleaned_data
        return {
            "description": data["description"].strip(),
            "quantity": data["quantity"],
            "unit_price": data["unit_price"],
            "tax_rate": data["tax_rate"],
        }

    def raw(self):
        """What was typed, unvalidated: to render the rows again ("Add line")."""
        return {name: self[name].value() for name in self.fields if name != "DELETE"}


class BaseInvoiceLineFormSet(forms.BaseFormSet):
    def lines(self):
        """The filled, kept rows as invoice_create's line dicts (valid formset)."""
        return [
            form.line()
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("empty")
            and not self._should_delete_form(form)
        ]

    def kept_rows(self):
        """The rows as typed, without those marked "Remove" (a bound formset)."""
        return [form.raw() for form in self.forms if not (form.is_bound and form["DELETE"].value())]


# Enough spare rows for most drafts; "Add line" gives one more.
SPARE_LINES = 3


def invoice_line_formset(data=None, *, currency=None, initial=None, extra=SPARE_LINES):
    """The lines of a draft: a formset of InvoiceLineForm under the prefix "lines"."""
    formset = forms.formset_factory(
        InvoiceLineForm,
        formset=BaseInvoiceLineFormSet,
        extra=extra,
        can_delete=True,
        max_num=200,
        validate_max=True,
    )
    return formset(data, initial=initial, prefix="lines", form_kwargs={"currency": currency})


def invoice_line_initial(lines):
    """A draft's saved lines as the rows of its form."""
    return [
        {
            "description": line.description,
            "quantity": _plain(line.quantity),
            "unit_price": line.unit_price,
            "tax_rate": _plain(line.tax_rate),
        }
        for line in lines
    ]


class InvoiceIssueForm(forms.Form):
    apply_credit = forms.BooleanField(label="Apply customer credit", required=False, initial=True)

    def __init__(self, *args, invoice, credit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["apply_credit"].help_text = (
            f"{invoice.customer} has {format_money(credit)} of credit."
            if credit.amount > 0
            else f"{invoice.customer} has no {invoice.currency} credit now."
        )


class InvoiceIssueAndChargeForm(IdempotentForm):
    pass


class InvoiceVoidForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_reason(self):
        return self.cleaned_data["reason"].strip()


class CreditApplyForm(IdempotentForm):
    amount = MoneyField(label="Amount")

    def __init__(self, *args, invoice, credit, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        payable = invoice.payable_now
        amount = self.fields["amount"]
        amount.currency = invoice.currency
        amount.initial = min(credit, payable)
        amount.help_text = (
            f"Credit available: {format_money(credit)}; payable now: {format_money(payable)}."
        )
