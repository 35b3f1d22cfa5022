"""What a list page reads from its query string: its filters, a django-filter
FilterSet over its selector's rows, and its page (``CursorForm``).

A FilterSet filters by its form's ``cleaned_data``, which holds only the
filters that parsed: one that does not is dropped (and shown as an error)
rather than failing the page. Each filter is one field and one lookup; the
searches are the selectors' (``selectors.invoice_search_q``...). A list and its
CSV export (views/exports.py) filter with the same FilterSet.
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import QueryDict
from django.utils import timezone

from billing import selectors
from billing.errors import BillingError
from billing.models import (
    MAX_ID,
    CreditNote,
    CreditNoteReason,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
    Refund,
    RefundDestination,
    RefundReason,
    RefundStatus,
)
from billing.money import parse_amount


class ListFilterForm(forms.Form):
    """The form of a list's FilterSet: what the page shows and links with."""

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


class ListFilterSet(django_filters.FilterSet):
    """A list's filters over ``rows()``, the list's selector (unfiltered,
    newest first); ``.qs`` is the filtered rows, ``.form`` a ListFilterForm."""

    rows = None

    class Meta:
        form = ListFilterForm

    def __init__(self, data=None):
        super().__init__(data, queryset=self.rows())


# The filters' fields: each list names its own search and dates.


class SearchFilter(django_filters.CharFilter):
    """The search box (``q``): the rows matching ``search_q(text)``, a selector's Q."""

    def __init__(self, search_q, *, placeholder):
        super().__init__(
            label="Search",
            max_length=100,
            widget=forms.SearchInput(attrs={"placeholder": placeholder}),
        )
        self.search_q = search_q

    def filter(self, qs, value):
        return qs.filter(self.search_q(value)) if value else qs


class DateBoundFilter(django_filters.DateFilter):
    """One end of a date range. A list filtered by a date is sorted by it, newest
    first: ids follow creation, so old dates lie far down the id order, while the
    (date, id) index answers any range at once (keyset_page pages by the
    queryset's ordering)."""

    def __init__(self, field_name, lookup_expr, *, label):
        widget = forms.DateInput(attrs={"type": "date"})
        super().__init__(field_name, lookup_expr, label=label, widget=widget)

    def filter(self, qs, value):
        if value is None:
            return qs
        return super().filter(qs.order_by(f"-{self.field_name}", "-pk"), value)


class DayBoundFilter(DateBoundFilter):
    """One end of a range of days over a moment (``created_at``): the day in
    the business's time zone, from its first moment or up to its last."""

    def filter(self, qs, value):
        if value is None:
            return qs
        qs = qs.order_by(f"-{self.field_name}", "-pk")
        if self.lookup_expr == "lte":
            value, lookup = value + timedelta(days=1), "lt"
        else:
            lookup = "gte"
        start = timezone.make_aware(datetime.combine(value, time.min))
        return qs.filter(**{f"{self.field_name}__{lookup}": start})


class AmountField(forms.CharField):
    """An amount typed as the pages show them ("1,250.00"), in no currency in
    particular: a Decimal (``billing.money.parse_amount``, the one reader of
    typed amounts), or the parser's error."""

    def clean(self, value):
        text = super().clean(value)
        if text in self.empty_values:
            return None
        try:
            return parse_amount(text)
        except BillingError as error:
            raise ValidationError(error.message, code=error.code) from None


class AmountFilter(django_filters.Filter):
    """An amount, or one end of a range, in any currency (the currency filter
    narrows it): compared with the amount column's number."""

    field_class = AmountField

    def __init__(self, lookup_expr, *, label):
        widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        super().__init__("amount", lookup_expr, label=label, max_length=40, widget=widget)


def _typed_filter(field_name, label, *, max_length):
    """Text the clerk copies from a bank statement or a cheque: the whole of it,
    in any case (an index on its upper case answers it)."""
    return django_filters.CharFilter(field_name, "iexact", label=label, max_length=max_length)


class IdFilter(django_filters.Filter):
    """A row's id (django-filter's NumberFilter would take decimals); one out of
    the ids' range does not parse, so it is dropped like any other."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def _choice_filter(label, any_label, choices, **kwargs):
    return django_filters.ChoiceFilter(
        label=label, choices=choices, empty_label=any_label, **kwargs
    )


class InUseSelect(forms.Select):
    """A select offering only the choices ``in_use()`` names (and the empty
    and the chosen one), asked when it is drawn: a currency filter lists the
    currencies the list has rows in, while any configured one still parses
    (a link to a currency with no rows shows an empty list, not an error)."""

    def __init__(self, in_use, **kwargs):
        super().__init__(**kwargs)
        self.in_use = in_use

    def get_context(self, name, value, attrs):
        shown = {"", *self.in_use(), *(str(v) for v in self.format_value(value))}
        self.choices = [choice for choice in self.choices if str(choice[0]) in shown]
        return super().get_context(name, value, attrs)


def _currency_filter(model):
    return _choice_filter(
        "Currency",
        "Any currency",
        settings.CURRENCY_CHOICES,
        widget=InUseSelect(lambda: selectors.currencies_in_use(model)),
    )


def _customer_filter(field_name):
    """A customer's id, set by the customer page's links rather than typed."""
    return IdFilter(field_name, label="Customer", min_value=1, widget=forms.HiddenInput)


class InvoiceFilterSet(ListFilterSet):
    """The invoice list's filters; ``status`` is a stored status or "overdue"."""

    rows = staticmethod(selectors.invoice_list)

    q = SearchFilter(selectors.invoice_search_q, placeholder="Number or customer name")
    status = _choice_filter(
        "Status",
        "Any status",
        [*InvoiceStatus.choices, (selectors.OVERDUE, "Overdue")],
        method="by_status",
    )
    currency = _currency_filter(Invoice)
    issued_from = DateBoundFilter("issue_date", "gte", label="Issued from")
    issued_to = DateBoundFilter("issue_date", "lte", label="Issued to")
    customer = _customer_filter("customer")

    def by_status(self, queryset, name, value):
        # "Overdue" is not stored: payable and late on something, an overdue
        # instalment when the invoice has a schedule, else its own due date.
        if value == selectors.OVERDUE:
            return queryset.overdue_by_instalment()
        return queryset.filter(status=value)


class CustomerFilterSet(ListFilterSet):
    rows = staticmethod(selectors.customer_list)

    q = SearchFilter(selectors.customer_search_q, placeholder="Name, e-mail or reference")


class PaymentFilterSet(ListFilterSet):
    """The payments list's (and its CSV export's) filters; the dates are the
    day the customer paid."""

    rows = staticmethod(selectors.payment_list)

    q = SearchFilter(selectors.payment_search_q, placeholder="Invoice number or customer name")
    status = _choice_filter("Status", "Any status", PaymentStatus.choices)
    method = _choice_filter("Method", "Any method", PaymentMethodKind.choices)
    currency = _currency_filter(Payment)
    paid_from = DateBoundFilter("paid_at", "gte", label="Paid from")
    paid_to = DateBoundFilter("paid_at", "lte", label="Paid to")
    customer = _customer_filter("invoice__customer")
    bank_reference = _typed_filter("bank_reference", "Bank reference", max_length=100)
    cheque_number = _typed_filter("cheque_number", "Cheque number", max_length=50)
    card_last4 = django_filters.CharFilter(
        label="Card last 4",
        method="by_card_last4",
        max_length=4,
        min_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        validators=[RegexValidator(r"^[0-9]{4}$", "Type the card's last 4 digits.")],
    )
    amount = AmountFilter("exact", label="Amount")
    amount_min = AmountFilter("gte", label="Amount from")
    amount_max = AmountFilter("lte", label="Amount to")

    def by_card_last4(self, queryset, name, value):
        return queryset.filter(selectors.card_last4_q(value))


class RefundFilterSet(ListFilterSet):
    """The refunds list's (and its CSV export's) filters; the dates are the
    day the refund was recorded."""

    rows = staticmethod(selectors.refund_list)

    q = SearchFilter(selectors.refund_search_q, placeholder="Invoice number or customer name")
    status = _choice_filter("Status", "Any status", RefundStatus.choices)
    destination = _choice_filter("Where to", "Anywhere", RefundDestination.choices)
    reason = _choice_filter("Reason", "Any reason", RefundReason.choices)
    currency = _currency_filter(Refund)
    refunded_from = DayBoundFilter("created_at", "gte", label="Refunded from")
    refunded_to = DayBoundFilter("created_at", "lte", label="Refunded to")
    customer = _customer_filter("payment__invoice__customer")


class CreditNoteFilterSet(ListFilterSet):
    """The credit notes list's (and its CSV export's) filters; the dates are
    the credit note's issue date."""

    rows = staticmethod(selectors.credit_note_list)

    q = SearchFilter(selectors.credit_note_search_q, placeholder="Number, invoice or customer name")
    reason = _choice_filter("Reason", "Any reason", CreditNoteReason.choices)
    currency = _currency_filter(CreditNote)
    issued_from = DateBoundFilter("issue_date", "gte", label="Issued from")
    issued_to = DateBoundFilter("issue_date", "lte", label="Issued to")
    customer = _customer_filter("invoice__customer")


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
