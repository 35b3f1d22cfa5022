"""The Bank page: statements, their lines by state with the evidence, and the
actions on a line (docs/bank.md). Each action is a modal in the shape of
docs/frontend.md's worked example, calling one service of bank/services.py."""

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from bank import matching, services
from bank.forms import LineConfirmForm, LineFilterForm, LineMatchForm, ReasonForm, split_formset
from bank.models import LinePayment, LineState, Statement, StatementLine
from billing import permissions, selectors
from billing.errors import BillingError
from billing.models import Invoice
from billing.money import format_money
from billing.views._htmx import (
    action_done,
    add_billing_error,
    form_data,
    form_invalid,
    modal_action,
    permission_or_403,
    render_form,
    render_modal,
    render_page,
    staff_required,
)

BANK_CHANGED = "bank-changed"
STATES = [LineState.SUGGESTED, LineState.UNMATCHED, LineState.RECORDED, LineState.IGNORED]


@staff_required
def bank(request):
    """Statements, and the lines of one state (of one statement, or all)."""
    filters = LineFilterForm(request.GET)
    filters.is_valid()
    statement_id = filters.cleaned_data.get("statement")
    state = filters.cleaned_data.get("state") or LineState.SUGGESTED
    lines = StatementLine.objects.all()
    if statement_id:
        lines = lines.filter(statement_id=statement_id)
    counts = dict(lines.values_list("state").annotate(n=Count("id")).order_by())
    rows = (
        lines.filter(state=state)
        .select_related("recorded_by", "ignored_by", "undone_by")
        .prefetch_related(
            Prefetch("links", queryset=LinePayment.objects.select_related("payment__invoice"))
        )
        .order_by("-id")
    )
    after, before = request.GET.get("after"), request.GET.get("before")
    context = {
        "section": "bank",
        "statements": Statement.objects.select_related("imported_by")[:20],
        "statement_id": statement_id,
        "state": state,
        "tabs": [(s, LineState(s).label, counts.get(s, 0)) for s in STATES],
        "page": selectors.keyset_page(rows, after=after, before=before),
        "query": request.GET.copy(),
        "reasons": matching.REASON_TEXT,
    }
    return render_page(request, "bank/bank.html", context, partials=("bank-lines",))


def _line(pk):
    return get_object_or_404(StatementLine, pk=pk)


def _done(request, message):
    return action_done(
        request, message=message, redirect_to=reverse("billing:bank"), events=(BANK_CHANGED,)
    )


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.RECORD)
def line_confirm(request, pk):
    """Confirm a suggestion: the line on one of its candidate invoices."""
    line = _line(pk)
    form = LineConfirmForm(form_data(request), line=line)
    context = {"line": line, "form": form, "back_url": reverse("billing:bank")}

    def perform(data):
        invoice = Invoice.objects.select_related("customer").get(pk=data["invoice"])
        services.line_confirm(
            line=line, invoice=invoice, rest_to_credit=data["rest_to_credit"], actor=request.user
        )
        return _done(request, f"Recorded bank line {line.bank_ref} on {invoice}.")

    return modal_action(request, "bank/modals/line_confirm.html", context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.RECORD)
def line_match(request, pk):
    """Match a line to one invoice, or split it across as many as staff add
    ("Add another invoice": the form again with one more row, nothing written)."""
    line = _line(pk)
    form = LineMatchForm(form_data(request))
    formset = split_formset(request.POST if request.method == "POST" else None, line=line)
    context = {"line": line, "form": form, "formset": formset, "back_url": reverse("billing:bank")}
    template = "bank/modals/line_match.html"
    if request.method == "GET":
        return render_modal(request, template, context)
    if "add_row" in request.POST:
        context["formset"] = split_formset(line=line, initial=formset.kept_rows(), extra=1)
        return render_form(request, template, context)
    if form.is_valid() and formset.is_valid():
        try:
            allocations = [
                (services.invoices_by_number_or_id(text), amount) for text, amount in formset.rows()
            ]
            services.line_match(
                line=line,
                allocations=allocations,
                rest_to_credit=form.cleaned_data["rest_to_credit"],
                actor=request.user,
            )
        except BillingError as error:
            add_billing_error(form, error)
            context["error_code"] = error.code
        else:
            names = ", ".join(str(invoice) for invoice, _ in allocations)
            return _done(
                request,
                f"Recorded bank line {line.bank_ref} ({format_money(line.amount)}) on {names}.",
            )
    return form_invalid(request, template, context)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.RECORD)
def line_ignore(request, pk):
    """Set a line aside with a reason: not a customer's payment."""
    line = _line(pk)
    form = ReasonForm(form_data(request))
    context = {"line": line, "form": form, "back_url": reverse("billing:bank")}

    def perform(data):
        services.line_ignore(line=line, reason=data["reason"], actor=request.user)
        return _done(request, f"Ignored bank line {line.bank_ref}.")

    return modal_action(request, "bank/modals/line_ignore.html", context, perform, error_code=True)


@require_http_methods(["GET", "POST"])
@staff_required
@permission_or_403(permissions.VOID_PAYMENT)
def line_undo(request, pk):
    """Undo a match: its payments are voided with the reason."""
    line = _line(pk)
    form = ReasonForm(form_data(request))
    context = {"line": line, "form": form, "back_url": reverse("billing:bank")}

    def perform(data):
        services.line_undo(line=line, reason=data["reason"], actor=request.user)
        return _done(
            request, f"Undid the match of bank line {line.bank_ref}; its payments are void."
        )

    return modal_action(request, "bank/modals/line_undo.html", context, perform, error_code=True)
