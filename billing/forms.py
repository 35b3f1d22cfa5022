"""Forms: validation and normalisation only, never a save (STYLE.md)."""

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone

from billing import selectors
from billing.errors import BillingError
from billing.models import (
    EXTERNAL_METHODS,
    CreditNoteReason,
    Customer,
    InvoiceStatus,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
    RefundDestination,
    RefundReason,
)
from billing.money import format_money, normalize, parse_money, zero
from billing.selectors import OVERDUE
from billing.templatetags.billing import card, card_expired
from billing.templatetags.billing import payment_method as payment_method_label


def _any(label, choices):
    return [("", label), *choices]


class ListFilterForm(forms.Form):
    """A list page's filters from its query string. Filters that do not parse
    are dropped (and shown as errors) rather than failing the page."""

    def filters(self):
        """The valid, non-empty filters, cleaned."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}

    def query(self):
        """The same filters as submitted, for links that keep them (pages,
        the pushed URL): a QueryDict without the empty and the invalid ones."""
        query = QueryDict(mutable=True)
        for name in self.filters():
            query[name] = self.data[name]
        return query


# The list filters' fields: each list names its own search and dates.


def _search_filter(placeholder):
    return forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": placeholder}),
    )


def _choice_filter(any_label, choices):
    return forms.ChoiceField(required=False, choices=_any(any_label, choices))


def _currency_filter():
    return _choice_filter("Any currency", settings.CURRENCY_CHOICES)


def _date_filter(label):
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _customer_filter():
    """A customer's id, set by the customer page's links rather than typed."""
    return forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class InvoiceFilterForm(ListFilterForm):
    q = _search_filter("Number or customer name")
    status = _choice_filter("Any status", [*InvoiceStatus.choices, (OVERDUE, "Overdue")])
    currency = _currency_filter()
    issued_from = _date_filter("Issued from")
    issued_to = _date_filter("Issued to")
    customer = _customer_filter()


class CustomerFilterForm(ListFilterForm):
    q = _search_filter("Name, e-mail or reference")


class PaymentFilterForm(ListFilterForm):
    """The payments list's (and its CSV export's) filters; ``q`` is the
    selector's ``search``, the dates are the day the customer paid."""

    q = _search_filter("Invoice number or customer name")
    status = _choice_filter("Any status", PaymentStatus.choices)
    method = _choice_filter("Any method", PaymentMethodKind.choices)
    currency = _currency_filter()
    paid_from = _date_filter("Paid from")
    paid_to = _date_filter("Paid to")
    customer = _customer_filter()


class CreditNoteFilterForm(ListFilterForm):
    """The credit notes list's (and its CSV export's) filters; ``q`` is the
    selector's ``search``, the dates are the credit note's issue date."""

    q = _search_filter("Number, invoice or customer name")
    reason = _choice_filter("Any reason", CreditNoteReason.choices)
    currency = _currency_filter()
    issued_from = _date_filter("Issued from")
    issued_to = _date_filter("Issued to")
    customer = _customer_filter()


class CursorForm(forms.Form):
    """A page's position from the query string: a keyset cursor (``after`` or
    ``before``, see selectors.keyset_page) or an offset page ``number``. Junk
    gives the first page."""

    after = forms.CharField(required=False, max_length=100)
    before = forms.CharField(required=False, max_length=100)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def cursors(self):
        """{"after": id} or {"before": id}, or {} for the first page."""
        self.is_valid()
        data = self.cleaned_data
        return {k: data[k] for k in ("after", "before") if data.get(k)}

    def page_number(self):
        self.is_valid()
        return self.cleaned_data.get("page") or 1


# -- invoice lifecycle and credit notes (docs/frontend.md) ------------------------


def _amount_suffix(field, currency):
    """Show the currency after the input, so the label stays exactly the field's
    name (components/form_fields.html)."""
    field.suffix = currency
    field.widget.attrs.setdefault("inputmode", "decimal")
    field.widget.attrs.setdefault("autocomplete", "off")
    return field


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
        required=False, choices=_any("The customer's currency", settings.CURRENCY_CHOICES)
    )
    due_date = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
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
        search = self.data.get("customer_search", "") if self.is_bound else ""
        matches = selectors.customer_matches(search=search[:100], limit=self.MATCHES + 1)
        others = [customer for customer in matches if customer != chosen]
        customers = ([chosen] if chosen else []) + others[: self.MATCHES]
        return CustomerPicker(
            customers=customers,
            chosen=chosen.pk if chosen else None,
            more=len(others) > self.MATCHES,
        )

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
    quantity = forms.DecimalField(required=False, max_digits=12, decimal_places=4, initial=1)
    unit_price = forms.CharField(label="Unit price", required=False, max_length=40)
    tax_rate = forms.DecimalField(
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
        self.currency = currency
        self.fields["unit_price"].widget.attrs.update(inputmode="decimal", autocomplete="off")

    def clean(self):
        data = super().clean()
        description = (data.get("description") or "").strip()
        price = (data.get("unit_price") or "").strip()
        if not description and not price and not self.errors:
            data["empty"] = True
            return data
        if not description:
            self.add_error("description", "Describe the line.")
        if data.get("quantity") is None:
            if "quantity" not in self.errors:
                self.add_error("quantity", "Enter the quantity.")
        elif data["quantity"] <= 0:
            self.add_error("quantity", "The quantity must be above zero.")
        if not price:
            self.add_error("unit_price", "Enter the unit price.")
        else:
            try:
                data["unit_price"] = self._price(price)
            except (BillingError, ValidationError) as error:
                self.add_error("unit_price", error.message)
        if data.get("tax_rate") is None and "tax_rate" not in self.errors:
            data["tax_rate"] = Decimal(0)
        return data

    def _price(self, price):
        if self.currency:
            return parse_money(price, self.currency, allow_zero=True, field="unit_price")
        # No currency yet (no customer chosen): only the number is checked now.
        try:
            number = Decimal(price)
        except InvalidOperation:
            raise ValidationError(f"{price!r} is not an amount.") from None
        if not number.is_finite() or number < 0:
            raise ValidationError(f"{price!r} is not an amount.")
        return price

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
            "unit_price": normalize(line.unit_price).amount,
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


class IdempotentForm(forms.Form):
    # One key per opened form: a double submit acts once (DESIGN.md).
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4()


class InvoiceIssueAndChargeForm(IdempotentForm):
    pass


class InvoiceVoidForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_reason(self):
        return self.cleaned_data["reason"].strip()


class CreditApplyForm(IdempotentForm):
    amount = forms.CharField(label="Amount", max_length=40)

    def __init__(self, *args, invoice, credit, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        payable = invoice.payable_now
        amount = _amount_suffix(self.fields["amount"], invoice.currency)
        amount.initial = normalize(min(credit, payable)).amount
        amount.help_text = (
            f"Credit available: {format_money(credit)}; payable now: {format_money(payable)}."
        )

    def clean_amount(self):
        try:
            return parse_money(self.cleaned_data["amount"], self.invoice.currency)
        except BillingError as error:
            raise ValidationError(error.message) from None


CREDIT_NOTE_PARTS = ("reduce_due", "refund", "to_credit")


def _refund_choice_label(payment):
    how = {
        PaymentMethodKind.SAVED_METHOD: "back to the card",
        PaymentMethodKind.CUSTOMER_CREDIT: "back to customer credit",
    }.get(payment.method, "paid back outside the system")
    return (
        f"{payment_method_label(payment)} · {payment.paid_at:%Y-%m-%d} · "
        f"{format_money(normalize(payment.refundable))} refundable ({how})"
    )


class CreditNoteIssueForm(IdempotentForm):
    """A credit note's reason, memo and three parts, any of them empty. The
    parts' limits are the service's to check (credit_note_issue)."""

    reason = forms.ChoiceField(
        label="Reason", choices=_any("Choose a reason", CreditNoteReason.choices)
    )
    reduce_due = forms.CharField(label="Reduce what is due", required=False, max_length=40)
    refund = forms.CharField(label="Refund", required=False, max_length=40)
    refund_payment = forms.TypedChoiceField(
        label="From payment", required=False, coerce=int, empty_value=None
    )
    to_credit = forms.CharField(label="Move to customer credit", required=False, max_length=40)
    memo = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, invoice, payments, preview=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.payments = {payment.pk: payment for payment in payments}
        # A preview (also htmx's, on every change) shows what the parts do: it
        # does not insist on a reason or on a part yet.
        self.preview = preview
        self.fields["reason"].required = not preview
        for name in CREDIT_NOTE_PARTS:
            _amount_suffix(self.fields[name], invoice.currency)
        due = format_money(invoice.amount_due)
        self.fields["reduce_due"].help_text = f"Up to what is due: {due}."
        if not self.payments:
            # Nothing paid that could be refunded or moved to credit.
            del self.fields["refund"], self.fields["refund_payment"], self.fields["to_credit"]
            return
        self.fields["refund_payment"].choices = _any(
            "Choose the payment to refund",
            [(pk, _refund_choice_label(payment)) for pk, payment in self.payments.items()],
        )
        if len(self.payments) == 1:
            self.fields["refund_payment"].initial = next(iter(self.payments))
        self.fields["to_credit"].help_text = "Paid money the customer keeps as credit."

    def _clean_part(self, name):
        try:
            return parse_money(
                self.cleaned_data.get(name) or "0",
                self.invoice.currency,
                allow_zero=True,
                field=name,
            )
        except BillingError as error:
            raise ValidationError(error.message) from None

    def clean_reduce_due(self):
        return self._clean_part("reduce_due")

    def clean_refund(self):
        return self._clean_part("refund")

    def clean_to_credit(self):
        return self._clean_part("to_credit")

    def clean_refund_payment(self):
        pk = self.cleaned_data.get("refund_payment")
        return self.payments.get(pk) if pk is not None else None

    def clean(self):
        data = super().clean()
        parts = self.parts()
        if any(name in self.errors for name in CREDIT_NOTE_PARTS):
            return data
        if not self.preview and not any(amount.amount > 0 for amount in parts.values()):
            raise ValidationError("Enter what the credit note credits: at least one part.")
        if parts["refund"].amount > 0 and data.get("refund_payment") is None:
            self.add_error("refund_payment", "Choose the payment to refund.")
        return data

    def parts(self):
        """{part: Money}, zero for a part left empty or not offered."""
        currency = self.invoice.currency
        return {
            name: self.cleaned_data.get(name) or zero(currency)
            if name in self.fields
            else zero(currency)
            for name in CREDIT_NOTE_PARTS
        }


# -- customer credit: adjust, pay out, apply (docs/frontend.md) -------------------------


def _money_field_error(value, currency, **kwargs):
    try:
        return parse_money(value, currency, **kwargs)
    except BillingError as error:
        raise ValidationError(error.message) from None


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
        _amount_suffix(self.fields["amount"], self.currency)
        self.fields["amount"].initial = f"{normalize(credit).amount:f}"

    def clean_amount(self):
        return _money_field_error(self.cleaned_data["amount"], self.currency)


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
        _amount_suffix(self.fields["amount"], self.currency)
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
        return _money_field_error(amount, self.currency) if amount else None


def _payable_invoice_label(invoice):
    due = normalize(invoice.payable_now)
    label = f"{invoice.number} — {format_money(due)} due"
    if invoice.due_date:
        label += f" by {invoice.due_date:%Y-%m-%d}"
    return f"{label} (overdue)" if invoice.is_overdue else label


# -- payment actions of the invoice page (docs/frontend.md, "Invoice payment actions")


def _amount_initial(money):
    """An amount to prefill, at its currency's decimals: 48000, 100.00, 375.125."""
    return normalize(money).amount if money.amount > 0 else ""


def _parse_amount(value, currency):
    try:
        return parse_money(value, currency)
    except BillingError as error:
        raise ValidationError(error.message) from None


class PaymentRecordForm(IdempotentForm):
    """Money that arrived outside the system (services.payment_record).

    "Reference" is a bank transfer's bank reference (kept as the payment's
    ``bank_reference``, shown as "Bank transfer (ref …)"); for the other methods
    it is the payment's reference. Only the chosen method's details are passed
    on: the others stay in the page (CSS hides them) and are posted too.
    ``excess_to_credit`` counts only when the amount is above what is payable and
    "Write off the rest" only when it is below, so a choice left over from an
    earlier amount never reaches the service.
    """

    KEEP = "keep"
    WRITE_OFF = "write_off"

    amount = forms.CharField(label="Amount", max_length=40)
    paid_at = forms.DateField(label="Payment date", widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(
        label="Method", choices=[(m.value, m.label) for m in EXTERNAL_METHODS]
    )
    cheque_number = forms.CharField(
        label="Cheque number", required=False, max_length=50, help_text="For a cheque."
    )
    card_brand = forms.CharField(
        label="Card brand",
        required=False,
        max_length=30,
        help_text="For a card terminal: as on the receipt, e.g. Visa.",
    )
    card_last4 = forms.CharField(
        label="Last 4 digits",
        required=False,
        max_length=4,
        help_text="For a card terminal.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=100,
        help_text="For a bank transfer: the bank's reference.",
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    excess_to_credit = forms.BooleanField(
        label="Send the excess to customer credit", required=False
    )
    rest = forms.ChoiceField(
        label="The rest",
        required=False,
        initial=KEEP,
        widget=forms.RadioSelect,
        choices=[(KEEP, "Keep the invoice open for the rest"), (WRITE_OFF, "Write off the rest")],
    )

    def __init__(self, *args, invoice, may_write_off=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.payable = invoice.payable_now
        # Writing off is crediting (a write_off credit note): only for people who
        # may issue credit notes; for the others the rest simply stays due.
        self.may_write_off = may_write_off
        if not may_write_off:
            self.fields["rest"].choices = [(self.KEEP, "Keep the invoice open for the rest")]
        amount = _amount_suffix(self.fields["amount"], invoice.currency)
        amount.initial = _amount_initial(self.payable)
        today = timezone.localdate()
        self.fields["paid_at"].initial = today
        self.fields["paid_at"].widget.attrs["max"] = today.isoformat()
        if self.is_bound and not self.data.get("rest"):
            # The choice below the due appears only once an amount is typed:
            # until one is made, "keep the invoice open" is the one shown chosen.
            self.data = self.data.copy()
            self.data["rest"] = self.KEEP

    def clean_amount(self):
        return _parse_amount(self.cleaned_data["amount"], self.invoice.currency)

    def clean(self):
        data = super().clean()
        amount = data.get("amount")
        data["excess_to_credit"] = bool(
            amount is not None and data.get("excess_to_credit") and amount > self.payable
        )
        data["write_off_remainder"] = bool(
            amount is not None and data.get("rest") == self.WRITE_OFF and amount < self.payable
        )
        return data

    def payment_details(self):
        """The ``details`` of the chosen method (services.payments.clean_details)."""
        data = self.cleaned_data
        method = data["method"]
        if method == PaymentMethodKind.BANK_TRANSFER:
            return {"bank_reference": data["reference"]}
        names = {
            PaymentMethodKind.CHEQUE: ("cheque_number",),
            PaymentMethodKind.CARD: ("card_brand", "card_last4"),
        }.get(method, ())
        return {name: data[name] for name in names}

    def payment_reference(self):
        data = self.cleaned_data
        return "" if data["method"] == PaymentMethodKind.BANK_TRANSFER else data["reference"]

    @cached_property
    def typed_amount(self):
        """The amount in the field now (as typed, or prefilled), or None."""
        try:
            return parse_money(self["amount"].value(), self.invoice.currency)
        except BillingError:
            return None

    @property
    def excess(self):
        """How much the typed amount is above what is payable, or None."""
        amount = self.typed_amount
        return amount - self.payable if amount is not None and amount > self.payable else None

    @property
    def remainder(self):
        """How much the typed amount leaves payable, or None."""
        amount = self.typed_amount
        return self.payable - amount if amount is not None and amount < self.payable else None


def _saved_method_label(method):
    """ "Visa •••• 4242 · expires 04/2030 · default", as staff pick a card."""
    when = f"{method.exp_month:02d}/{method.exp_year}"
    expiry = f"expired {when}" if card_expired(method) else f"expires {when}"
    default = " · default" if method.is_default else ""
    return f"{card(method.brand, method.last4)} · {expiry}{default}"


class PaymentChargeForm(IdempotentForm):
    """A charge of one of the customer's saved methods (services.payment_charge),
    prefilled with what is payable now (the due less pending charges). With no
    saved method the field is optional, so the service's own refusal
    (``no_saved_payment_method``) is what the form shows."""

    payment_method = forms.ModelChoiceField(
        label="Saved method",
        queryset=PaymentMethod.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
    )
    amount = forms.CharField(label="Amount", max_length=40)

    def __init__(self, *args, invoice, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.payable = invoice.payable_now
        field = self.fields["payment_method"]
        field.queryset = methods
        field.label_from_instance = _saved_method_label
        listed = list(methods)
        default = next((m for m in listed if m.is_default), listed[0] if listed else None)
        field.initial = default.pk if default else None
        field.required = bool(listed)
        amount = _amount_suffix(self.fields["amount"], invoice.currency)
        amount.initial = _amount_initial(self.payable)
        if invoice.amount_pending.amount > 0:
            amount.help_text = (
                f"{format_money(invoice.amount_pending)} is already being charged; at most "
                f"{format_money(normalize(self.payable))} more can be."
            )

    def clean_amount(self):
        return _parse_amount(self.cleaned_data["amount"], self.invoice.currency)


class PaymentRefundForm(IdempotentForm):
    """A refund of one payment, and what it does to the invoice.

    "The customer owes this again" is a plain refund (services.payment_refund):
    the invoice's due grows back. "Also issue a credit note" is
    services.credit_note_issue with the refund: the invoice stays paid, and the
    money goes back the way it came (``Payment.natural_refund_destination``), so that
    destination must be the one chosen. The credit-note choice is offered only
    to people who may issue credit notes.
    """

    # With a credit note the service names the credit note's parts; here they
    # are all this form's amount (views._htmx.add_billing_error reads this).
    SERVICE_FIELDS = {"refund": "amount", "reduce_due": "amount"}

    OWES_AGAIN = "owes_again"
    CREDIT_NOTE = "credit_note"

    amount = forms.CharField(label="Amount", max_length=40)
    destination = forms.ChoiceField(label="Where the money goes", widget=forms.RadioSelect)
    reason = forms.ChoiceField(
        label="Reason", choices=_any("Choose a reason", RefundReason.choices)
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=200,
        help_text="How it was paid back, e.g. the bank transfer's reference.",
    )
    invoice_effect = forms.ChoiceField(
        label="The invoice", widget=forms.RadioSelect, initial=OWES_AGAIN
    )

    def __init__(self, *args, payment, credit_note_allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.natural_destination = payment.natural_refund_destination
        refundable = normalize(payment.refundable)
        amount = _amount_suffix(self.fields["amount"], payment.currency)
        amount.initial = _amount_initial(refundable)
        amount.help_text = f"At most {format_money(refundable)} of this payment."
        labels = dict(RefundDestination.choices)
        if payment.payment_method_id:
            saved = payment.payment_method
            labels[RefundDestination.ORIGINAL_METHOD] = (
                f"Back to the card ({card(saved.brand, saved.last4)})"
            )
        destination = self.fields["destination"]
        destination.choices = [(d, labels[d]) for d in payment.refund_destinations]
        destination.initial = self.natural_destination
        self.natural_label = labels[self.natural_destination]
        effects = [(self.OWES_AGAIN, "The customer owes this again")]
        if credit_note_allowed:
            effects.append((self.CREDIT_NOTE, "Also issue a credit note so the invoice stays paid"))
            self.fields["invoice_effect"].help_text = (
                "A refund alone puts the amount back on what the invoice asks for. With a "
                "credit note the invoice stays paid, and the money goes back the way it "
                f"came: “{self.natural_label}”."
            )
        self.fields["invoice_effect"].choices = effects

    def clean_amount(self):
        return _parse_amount(self.cleaned_data["amount"], self.payment.currency)

    def clean(self):
        data = super().clean()
        if (
            data.get("invoice_effect") == self.CREDIT_NOTE
            and data.get("destination")
            and data["destination"] != self.natural_destination
        ):
            self.add_error(
                "destination",
                "A credit note refunds the way the money came: choose "
                f"“{self.natural_label}”, or let the customer owe it again.",
            )
        return data


class PaymentVoidForm(IdempotentForm):
    """Why an external payment is voided (services.payment_void). The service
    takes no idempotency key: a second void of the same payment is refused
    (``invalid_state``) and writes nothing, so a double submit voids once."""

    reason = forms.CharField(
        label="Reason",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why it was recorded by mistake. The payment stays listed, voided.",
    )


class PaymentRetryForm(IdempotentForm):
    """Confirms a new charge after a failed one (services.payment_retry)."""

    def __init__(self, *args, payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.amount = payment.retry_amount
