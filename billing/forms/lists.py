"""The list pages' query strings: their filters (``ListFilterForm`` and one
form per list, whose valid filters the list's selector takes) and their page
position (``CursorForm``)."""

from django import forms
from django.conf import settings
from django.http import QueryDict

from billing.forms.fields import any_choice
from billing.models import CreditNoteReason, InvoiceStatus, PaymentMethodKind, PaymentStatus
from billing.selectors import OVERDUE


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
    return forms.ChoiceField(required=False, choices=any_choice(any_label, choices))


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
