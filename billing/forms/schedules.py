"""The payment schedule's form (docs/frontend.md, "Payment schedules"): how
an invoice is split (equal parts, percentages, fixed amounts), into how many
parts, and each part's due date and percentage or amount.

The parts are fields of their own (``due_date_1``, ``percent_1``,
``amount_1`` …), as many as the bound ``count`` says, so changing the count
re-renders the rows. The form only parses; ``services.schedule_preview`` and
``services.schedule_set`` decide what is a valid schedule, and their
refusals name a group of fields (``due_dates``, ``percentages``,
``amounts``), shown above that column (``add_schedule_error``).
"""

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone

from billing.errors import BillingError
from billing.forms.fields import ISO_DATE, IdempotentForm, MoneyField, PlainDecimalField
from billing.money import normalize
from billing.services.schedules import (
    MAX_INSTALMENTS,
    Split,
    monthly_due_dates,
    split_amounts,
)

DEFAULT_PARTS = 3

# The service's names for a column of parts, as the form's errors name them.
COLUMN_LABELS = {"due_dates": "Due dates", "percentages": "Percentages", "amounts": "Amounts"}


class ScheduleForm(IdempotentForm):
    split = forms.ChoiceField(
        label="Split",
        choices=[
            (Split.EQUAL, "Equal parts"),
            (Split.PERCENT, "Percentages"),
            (Split.FIXED, "Fixed amounts"),
        ],
        widget=forms.RadioSelect,
        initial=Split.EQUAL,
    )
    count = forms.IntegerField(
        label="Number of parts",
        min_value=1,
        max_value=MAX_INSTALMENTS,
        initial=DEFAULT_PARTS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, data=None, *, invoice, instalments=()):
        super().__init__(data)
        self.invoice = invoice
        self.editing = bool(instalments)
        if instalments and not self.is_bound:
            # An edit starts from the schedule as it is: its dates and amounts.
            self.fields["split"].initial = Split.FIXED
            self.fields["count"].initial = len(instalments)
        self.parts = self._part_count()
        defaults = self._defaults(instalments)
        if self.is_bound:
            # Rows the request did not have yet (the count went up) start from
            # the defaults, their due dates a month after the last row's; a
            # row present but emptied stays empty.
            self.data = self.data.copy()
            self._follow_last_date(defaults)
            for name, value in defaults.items():
                if name not in self.data and value is not None:
                    self.data[name] = value
        for n in range(1, self.parts + 1):
            self.fields[f"due_date_{n}"] = forms.DateField(
                label=f"Due date, part {n}",
                initial=defaults[f"due_date_{n}"],
                widget=forms.DateInput(attrs={"type": "date"}),
                error_messages={"invalid": ISO_DATE, "required": "Give each part a due date."},
            )
            self.fields[f"percent_{n}"] = PlainDecimalField(
                label=f"Percentage, part {n}",
                required=False,
                max_digits=9,
                decimal_places=6,
                initial=defaults[f"percent_{n}"],
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )
            last = n == self.parts
            self.fields[f"amount_{n}"] = MoneyField(
                label=f"Amount, part {n}",
                required=False,
                currency=invoice.currency,
                initial=defaults[f"amount_{n}"],
                help_text="Empty: the rest." if last else "",
            )

    def _part_count(self):
        if not self.is_bound:
            return self.fields["count"].initial
        try:
            count = int(self.data.get("count", ""))
        except ValueError:
            return DEFAULT_PARTS
        return min(max(count, 1), MAX_INSTALMENTS)

    def _follow_last_date(self, defaults):
        present = [n for n in range(1, self.parts + 1) if f"due_date_{n}" in self.data]
        if not present or present[-1] == self.parts:
            return
        try:
            last = datetime.date.fromisoformat(self.data[f"due_date_{present[-1]}"])
        except ValueError:
            return
        added = range(present[-1] + 1, self.parts + 1)
        for n, day in zip(added, monthly_due_dates(last, len(added) + 1)[1:], strict=True):
            defaults[f"due_date_{n}"] = day.isoformat()

    def _defaults(self, instalments):
        """Each part's starting values: an edit's instalments as they are;
        otherwise monthly due dates from the invoice's due date, equal
        percentages and amounts (the last amount left empty: the rest)."""
        count = self.parts
        first = self.invoice.due_date or timezone.localdate()
        days = monthly_due_dates(first, count)
        if instalments:
            days[: len(instalments)] = [i.due_date for i in instalments][:count]
            added = count - len(instalments)
            if added > 0:
                # Parts added to a schedule follow its last one monthly.
                days[-added:] = monthly_due_dates(instalments[-1].due_date, added + 1)[1:]
        try:
            amounts = split_amounts(self.invoice.asks_for, count, split=Split.EQUAL)
        except BillingError:  # Too little to split this many ways: no defaults.
            amounts = [None] * count
        if instalments:
            amounts[: len(instalments)] = [i.amount for i in instalments][:count]
        share = (Decimal(100) / count).quantize(Decimal("0.01"))
        percents = [share] * (count - 1) + [Decimal(100) - share * (count - 1)]
        defaults = {}
        for n in range(1, count + 1):
            defaults[f"due_date_{n}"] = days[n - 1].isoformat()
            defaults[f"percent_{n}"] = f"{percents[n - 1]:f}"
            amount = amounts[n - 1]
            last = n == count
            defaults[f"amount_{n}"] = (
                None
                if amount is None or (last and not instalments)
                else f"{normalize(amount).amount:f}"
            )
        return defaults

    def rows(self):
        """The parts' bound fields, one dict per part, for the template."""
        return [
            {
                "sequence": n,
                "due_date": self[f"due_date_{n}"],
                "percent": self[f"percent_{n}"],
                "amount": self[f"amount_{n}"],
            }
            for n in range(1, self.parts + 1)
        ]

    def schedule(self):
        """The service's arguments from the cleaned data: ``split``,
        ``due_dates`` and, for that split, ``percentages`` or ``amounts``."""
        data = self.cleaned_data
        split = data["split"]
        indexes = range(1, self.parts + 1)
        arguments = {"split": split, "due_dates": [data[f"due_date_{n}"] for n in indexes]}
        if split == Split.PERCENT:
            arguments["percentages"] = [_or_empty(data[f"percent_{n}"]) for n in indexes]
        elif split == Split.FIXED:
            arguments["amounts"] = [_or_empty(data[f"amount_{n}"]) for n in indexes]
        return arguments

    def column_errors_labelled(self):
        """(column, message) for each refusal the service gave a whole column
        of parts (``due_dates``, ``percentages``, ``amounts``)."""
        return [
            (label, message)
            for column, label in COLUMN_LABELS.items()
            for message in self.errors.get(column, ())
        ]


def _or_empty(value):
    return "" if value is None else value


def add_schedule_error(form, error):
    """A refused preview or save: on the column of parts it names, on the
    field it names, or above the form."""
    if error.field in COLUMN_LABELS:
        form.errors.setdefault(error.field, form.error_class()).append(error.message)
    else:
        form.add_error(error.field if error.field in form.fields else None, error.message)


class ScheduleRemoveForm(forms.Form):
    """Confirms removing a schedule no payment was allocated to
    (services.schedule_remove). A second remove is refused (``invalid_state``)
    and writes nothing, so it needs no idempotency key."""
