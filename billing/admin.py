"""The Django admin: look at every billing record; change money only through services.

Money records (payments, refunds, credit notes, ledger entries, events, balances,
idempotency keys, number sequences and invoices) are view-only: nothing can be
added, changed or deleted here. The invoice and payment actions call
billing.services with ``actor=request.user``, so the services' permission checks
and rules apply; a refusal (BillingError) is shown as an error message.
Customers and saved methods may be added and changed, never deleted; their
saves go through billing.services too (customer_create, customer_update,
payment_method_add, payment_method_update), which move a card's default flag.
A tampered post (a selected id that is not one, a customer that is not an id)
is a 400, not the error Django's admin would raise on it.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse

from billing import permissions, services
from billing.errors import BillingError
from billing.filters import MAX_ID
from billing.models import (
    Allocation,
    BalanceEntry,
    CreditNote,
    Customer,
    DocumentSequence,
    IdempotencyKey,
    Instalment,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    MoneyBalance,
    Payment,
    PaymentMethod,
    Refund,
)
from billing.money import currency_code, format_money
from billing.services.customers import CARD_NUMBER, clean_card_fields, clean_customer_fields

# A void's reason, asked on the confirmation page (as the back office's modals ask it).
VOID_REASON_MAX_LENGTH = 300
PAYMENT_NOT_VOIDABLE = (
    "only a payment recorded by hand, not refunded, can be voided; refund it instead"
)


def money_column(field_name, label=None):
    """A list/detail column showing a money field through format_money."""

    def column(obj):
        return format_money(getattr(obj, field_name))

    column.short_description = label or field_name.replace("_", " ")
    column.admin_order_field = field_name
    column.__name__ = f"{field_name}_display"
    return column


class BillingAdminMixin:
    """Staff with the billing "view" permission may look at every billing page."""

    def has_view_permission(self, request, obj=None):
        return permissions.has(request.user, permissions.VIEW) or super().has_view_permission(
            request, obj
        )

    def has_module_permission(self, request):
        return permissions.has(request.user, permissions.VIEW) or super().has_module_permission(
            request
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def response_action(self, request, queryset, *args, **kwargs):
        # Django filters by the posted ids as they come, and the action's query
        # then fails on one that is not an id ("0x1", 40 digits).
        if not all(is_id(pk) for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            return HttpResponseBadRequest("The selected records are not ids.")
        return super().response_action(request, queryset, *args, **kwargs)


def is_id(value):
    """Whether ``value`` (posted text) is a row id: digits within a BIGINT."""
    text = str(value)
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


class ReadOnlyAdmin(BillingAdminMixin, admin.ModelAdmin):
    """A money record: view only. Changes happen through billing.services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        return permissions.has(request.user, permissions.VIEW) or super().has_view_permission(
            request, obj
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def run_service(modeladmin, request, queryset, call, done):
    """Call ``call(obj)`` for each selected record; report each refusal as an error."""
    succeeded = 0
    for obj in queryset:
        try:
            call(obj)
        except BillingError as error:
            modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, done(succeeded), messages.SUCCESS)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=VOID_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept with each record and on its invoice's timeline.",
    )


def confirm_with_reason(modeladmin, request, queryset, *, permission, verb, allowed, call, done):
    """An action that voids: like Django's "Delete selected", it first answers
    with a confirmation page listing the selected records (those ``allowed``
    refuses apart, with why) and asking for a reason; only that page's post
    (``post=yes``, a reason given) calls the service, ``call(obj, reason)``, for
    each. Someone without ``permission`` is told so at once, for each record."""
    try:
        permissions.require(request.user, permission)
    except BillingError as error:
        for obj in queryset:
            modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        return None
    form = ReasonForm(request.POST if request.POST.get("post") == "yes" else None)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        run_service(modeladmin, request, queryset, lambda obj: call(obj, reason), done)
        return None
    opts = modeladmin.model._meta
    records = list(queryset)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{verb.capitalize()} {opts.verbose_name_plural}: are you sure?",
        "opts": opts,
        "verb": verb,
        "form": form,
        "action": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "allowed": [obj for obj in records if allowed(obj) is None],
        "refused": [(obj, allowed(obj)) for obj in records if allowed(obj) is not None],
        "records": records,
    }
    return TemplateResponse(request, "admin/billing/confirm_with_reason.html", context)


# Customers and saved methods ---------------------------------------------------


def add_refusal(form, error):
    """A BillingError on the form field it names, or above the form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["name", "email", "currency", "external_ref"]

    def clean_currency(self):
        try:
            return currency_code(self.cleaned_data["currency"])
        except BillingError as error:
            raise forms.ValidationError(error.message) from None

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                clean_customer_fields(
                    data["name"],
                    data["currency"],
                    data["email"],
                    data["external_ref"],
                    customer=self.instance if self.instance.pk else None,
                )
            except BillingError as error:
                add_refusal(self, error)
        return data


class PaymentMethodInline(ReadOnlyInline):
    model = PaymentMethod
    fields = ["brand", "last4", "exp_month", "exp_year", "gateway", "is_default"]
    readonly_fields = fields


class MoneyBalanceInline(ReadOnlyInline):
    model = MoneyBalance
    fields = ["currency", "amount_display", "updated_at"]
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_display(self, obj):
        return format_money(obj.amount)


class EditableBillingAdmin(BillingAdminMixin, admin.ModelAdmin):
    """Customers and saved methods: added and changed here, never deleted."""

    def has_add_permission(self, request):
        return permissions.has(
            request.user, permissions.MANAGE_INVOICES
        ) or super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return permissions.has(
            request.user, permissions.MANAGE_INVOICES
        ) or super().has_change_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Not in the admin's own transaction: save_model calls a service, whose
        # transaction is durable. The form has asked the service's checks; a
        # refusal only the service sees (a race) goes back to the form's page.
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except BillingError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        saved = self.save_through_service(request, obj, form, change)
        # The admin goes on with ``obj`` (its log entry, its message).
        obj.__dict__.update(saved.__dict__)

    def save_through_service(self, request, obj, form, change):
        raise NotImplementedError


@admin.register(Customer)
class CustomerAdmin(EditableBillingAdmin):
    form = CustomerForm
    list_display = ["name", "email", "currency", "external_ref", "created_at"]
    list_filter = ["currency"]
    search_fields = ["name", "email", "external_ref"]
    readonly_fields = ["created_at", "created_by"]
    inlines = [PaymentMethodInline, MoneyBalanceInline]
    actions = ["add_sandbox_test_cards"]

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        # Test cards only make sense where the sandbox takes the payments; an
        # action missing from this list cannot be posted either.
        if settings.BILLING_DEFAULT_GATEWAY != "sandbox":
            actions.pop("add_sandbox_test_cards", None)
        return actions

    def save_through_service(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in CustomerForm.Meta.fields}
        if change:
            return services.customer_update(customer=obj, actor=request.user, **fields)
        return services.customer_create(actor=request.user, **fields)

    @admin.action(description="Add sandbox test cards", permissions=["change"])
    def add_sandbox_test_cards(self, request, queryset):
        """One saved sandbox method per test token (docs/gateways.md); idempotent."""
        run_service(
            self,
            request,
            queryset,
            lambda customer: services.sandbox_test_cards_add(customer=customer, actor=request.user),
            lambda n: f"Added the sandbox test cards to {n} customer(s).",
        )


class PaymentMethodForm(forms.ModelForm):
    class Meta:
        model = PaymentMethod
        fields = [
            "customer",
            "gateway",
            "token",
            "brand",
            "last4",
            "exp_month",
            "exp_year",
            "is_default",
        ]

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if CARD_NUMBER.match(token):
            raise forms.ValidationError("Enter the gateway's token, never a card number.")
        return token

    def clean_last4(self):
        last4 = self.cleaned_data["last4"].strip()
        if not (len(last4) == 4 and last4.isdigit()):
            raise forms.ValidationError("Enter the last 4 digits of the card.")
        return last4

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                clean_card_fields(data["brand"], data["last4"], data["exp_month"], data["exp_year"])
            except BillingError as error:
                add_refusal(self, error)
        return data

    def validate_constraints(self):
        # At most one default per customer: payment_method_add and
        # payment_method_update take the flag from the previous default, so
        # making a card the default is no violation.
        exclude = self._get_validation_exclusions() | {"is_default"}
        try:
            self.instance.validate_constraints(exclude=exclude)
        except forms.ValidationError as error:
            self._update_errors(error)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(EditableBillingAdmin):
    form = PaymentMethodForm
    list_display = ["__str__", "customer", "gateway", "exp_month", "exp_year", "is_default"]
    list_filter = ["gateway", "is_default", "brand"]
    search_fields = ["customer__name", "customer__email", "last4"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["created_at", "created_by"]
        # The token and gateway identify the method at the gateway: fixed once saved.
        return ["customer", "gateway", "token", "created_at", "created_by"]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The customer's autocomplete widget looks the posted value up as an id
        # when it renders, and fails on one that is not.
        customer = request.POST.get("customer", "")
        if request.method == "POST" and customer and not is_id(customer):
            return HttpResponseBadRequest("The customer is not an id.")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_through_service(self, request, obj, form, change):
        data = form.cleaned_data
        card = {name: data[name] for name in ("brand", "last4", "exp_month", "exp_year")}
        if change:
            return services.payment_method_update(
                payment_method=obj, default=data["is_default"], actor=request.user, **card
            )
        return services.payment_method_add(
            customer=data["customer"],
            gateway=data["gateway"],
            token=data["token"],
            default=data["is_default"],
            actor=request.user,
            **card,
        )


# Invoices ----------------------------------------------------------------------


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = [
        "position",
        "description",
        "quantity",
        "unit_price_display",
        "tax_rate",
        "net_display",
        "tax_display",
        "total_display",
    ]
    readonly_fields = fields

    unit_price_display = staticmethod(money_column("unit_price", "unit price"))
    net_display = staticmethod(money_column("net"))
    tax_display = staticmethod(money_column("tax"))
    total_display = staticmethod(money_column("total"))


class InvoiceEventInline(ReadOnlyInline):
    model = InvoiceEvent
    fields = ["created_at", "kind", "amount_display", "message", "created_by"]
    readonly_fields = fields
    amount_display = staticmethod(money_column("amount"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class InstalmentInline(ReadOnlyInline):
    """The invoice's payment schedule, as the rules read it."""

    model = Instalment
    fields = [
        "sequence",
        "due_date",
        "amount_display",
        "amount_paid_display",
        "remaining_display",
        "status_display",
        "is_overdue",
    ]
    readonly_fields = fields
    amount_display = staticmethod(money_column("amount"))
    amount_paid_display = staticmethod(money_column("amount_paid", "paid"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice")

    @admin.display(description="remaining")
    def remaining_display(self, obj):
        return format_money(obj.remaining)

    @admin.display(description="status")
    def status_display(self, obj):
        return obj.get_status_display()

    @admin.display(description="overdue", boolean=True)
    def is_overdue(self, obj):
        return obj.is_overdue


class AllocationInline(ReadOnlyInline):
    """Which instalments a payment paid (what refunds and voids released)."""

    model = Allocation
    fields = ["instalment", "amount_display", "amount_released_display", "created_at"]
    readonly_fields = fields
    amount_display = staticmethod(money_column("amount"))
    amount_released_display = staticmethod(money_column("amount_released", "released"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("instalment")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "customer",
        "status",
        "issue_date",
        "due_date",
        "total_display",
        "amount_paid_display",
        "amount_due_display",
    ]
    list_filter = ["status", "currency", "issue_date", "due_date"]
    search_fields = ["number", "customer__name", "customer__email"]
    list_select_related = ["customer"]
    date_hierarchy = "issue_date"
    fields = [
        "number",
        "customer",
        "status",
        "currency",
        "issue_date",
        "due_date",
        "total_display",
        "amount_credited_display",
        "amount_paid_display",
        "amount_pending_display",
        "amount_due_display",
        "has_schedule",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields
    inlines = [InvoiceLineInline, InstalmentInline, InvoiceEventInline]
    actions = ["issue_drafts", "void_invoices", "apply_customer_credit"]

    total_display = staticmethod(money_column("total"))
    amount_credited_display = staticmethod(money_column("amount_credited", "credited"))
    amount_paid_display = staticmethod(money_column("amount_paid", "paid"))
    amount_pending_display = staticmethod(money_column("amount_pending", "pending"))
    amount_due_display = staticmethod(money_column("amount_due", "due"))

    @admin.action(description="Issue selected drafts")
    def issue_drafts(self, request, queryset):
        run_service(
            self,
            request,
            queryset.select_related("customer"),
            lambda invoice: services.invoice_issue(invoice=invoice, actor=request.user),
            lambda n: f"Issued {n} invoice(s).",
        )

    @admin.action(description="Void selected invoices…")
    def void_invoices(self, request, queryset):
        return confirm_with_reason(
            self,
            request,
            queryset.select_related("customer"),
            permission=permissions.VOID_INVOICE,
            verb="void",
            allowed=lambda invoice: (
                None if invoice.can_void else f"it is {invoice.get_status_display().lower()}"
            ),
            call=lambda invoice, reason: services.invoice_void(
                invoice=invoice, actor=request.user, reason=reason
            ),
            done=lambda n: f"Voided {n} invoice(s).",
        )

    @admin.action(description="Apply customer credit")
    def apply_customer_credit(self, request, queryset):
        run_service(
            self,
            request,
            queryset.select_related("customer"),
            lambda invoice: services.credit_apply(invoice=invoice, actor=request.user),
            lambda n: f"Applied customer credit to {n} invoice(s).",
        )


# Payments, refunds, credit notes ---------------------------------------------------


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "invoice",
        "customer",
        "status",
        "method",
        "amount_display",
        "amount_refunded_display",
        "paid_at",
        "created_by",
    ]
    list_filter = ["status", "method", "currency", "paid_at"]
    search_fields = ["invoice__number", "invoice__customer__name", "invoice__customer__email"]
    list_select_related = ["invoice__customer", "created_by"]
    date_hierarchy = "paid_at"
    actions = ["void_payments"]
    inlines = [AllocationInline]

    amount_display = staticmethod(money_column("amount"))
    amount_refunded_display = staticmethod(money_column("amount_refunded", "refunded"))
    amount_to_credit_display = staticmethod(money_column("amount_to_credit", "sent to credit"))
    fields = [
        "invoice",
        "status",
        "method",
        "payment_method",
        "currency",
        "amount_display",
        "amount_refunded_display",
        "amount_to_credit_display",
        "paid_at",
        "cheque_number",
        "card_brand",
        "card_last4",
        "bank_reference",
        "reference",
        "notes",
        "gateway_key",
        "gateway_charge_id",
        "failure_reason",
        "retryable",
        "void_reason",
        "voided_at",
        "voided_by",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields

    @admin.display(description="customer", ordering="invoice__customer__name")
    def customer(self, obj):
        return obj.invoice.customer

    @admin.display(description="can be retried", boolean=True)
    def retryable(self, obj):
        """The back office's rule: only the invoice's latest failed charge."""
        return obj.can_retry

    @admin.action(description="Void selected payments…")
    def void_payments(self, request, queryset):
        return confirm_with_reason(
            self,
            request,
            queryset.select_related("invoice", "payment_method"),
            permission=permissions.VOID_PAYMENT,
            verb="void",
            allowed=lambda payment: None if payment.can_void else PAYMENT_NOT_VOIDABLE,
            call=lambda payment, reason: services.payment_void(
                payment=payment, actor=request.user, reason=reason
            ),
            done=lambda n: f"Voided {n} payment(s).",
        )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "payment",
        "invoice",
        "status",
        "destination",
        "reason",
        "amount_display",
        "created_at",
        "created_by",
    ]
    list_filter = ["status", "destination", "reason", "currency"]
    search_fields = [
        "payment__invoice__number",
        "payment__invoice__customer__name",
        "payment__invoice__customer__email",
    ]
    list_select_related = ["payment__invoice", "created_by"]
    amount_display = staticmethod(money_column("amount"))
    fields = [
        "payment",
        "status",
        "destination",
        "external_method",
        "reason",
        "currency",
        "amount_display",
        "credit_note",
        "reference",
        "notes",
        "gateway_key",
        "gateway_refund_id",
        "failure_reason",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields

    @admin.display(description="invoice", ordering="payment__invoice__number")
    def invoice(self, obj):
        return obj.payment.invoice


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "invoice",
        "customer",
        "reason",
        "total_display",
        "issue_date",
        "created_by",
    ]
    list_filter = ["reason", "currency", "issue_date"]
    search_fields = [
        "number",
        "invoice__number",
        "invoice__customer__name",
        "invoice__customer__email",
    ]
    list_select_related = ["invoice__customer", "created_by"]
    total_display = staticmethod(money_column("total"))
    reduce_due_display = staticmethod(money_column("reduce_due", "reduces due by"))
    refund_amount_display = staticmethod(money_column("refund_amount", "refunded"))
    to_credit_display = staticmethod(money_column("to_credit", "to customer credit"))
    fields = [
        "number",
        "invoice",
        "reason",
        "currency",
        "total_display",
        "reduce_due_display",
        "refund_amount_display",
        "to_credit_display",
        "refund_payment",
        "memo",
        "issue_date",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields

    @admin.display(description="customer", ordering="invoice__customer__name")
    def customer(self, obj):
        return obj.invoice.customer


# Balances and their ledger -----------------------------------------------------------


class BalanceEntryInline(ReadOnlyInline):
    model = BalanceEntry
    fk_name = "balance"
    fields = [
        "created_at",
        "kind",
        "amount_display",
        "balance_after_display",
        "invoice",
        "payment",
        "reason",
        "created_by",
    ]
    readonly_fields = fields
    amount_display = staticmethod(money_column("amount"))
    balance_after_display = staticmethod(money_column("balance_after", "balance after"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice", "payment", "created_by")


@admin.register(MoneyBalance)
class MoneyBalanceAdmin(ReadOnlyAdmin):
    list_display = ["customer", "currency", "amount_display", "updated_at"]
    list_filter = ["currency"]
    search_fields = ["customer__name", "customer__email"]
    list_select_related = ["customer"]
    amount_display = staticmethod(money_column("amount"))
    fields = ["customer", "currency", "amount_display", "updated_at"]
    readonly_fields = fields
    inlines = [BalanceEntryInline]


@admin.register(BalanceEntry)
class BalanceEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "customer",
        "kind",
        "amount_display",
        "balance_after_display",
        "invoice",
        "payment",
        "created_at",
        "created_by",
    ]
    list_filter = ["kind", "currency"]
    search_fields = ["invoice__number", "balance__customer__name", "balance__customer__email"]
    list_select_related = ["balance__customer", "invoice", "payment", "created_by"]
    amount_display = staticmethod(money_column("amount"))
    balance_after_display = staticmethod(money_column("balance_after", "balance after"))
    fields = [
        "balance",
        "kind",
        "currency",
        "amount_display",
        "balance_after_display",
        "invoice",
        "payment",
        "refund",
        "credit_note",
        "reason",
        "reference",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields

    @admin.display(description="customer", ordering="balance__customer__name")
    def customer(self, obj):
        return obj.balance.customer


# Audit and bookkeeping -----------------------------------------------------------------


@admin.register(InvoiceEvent)
class InvoiceEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "invoice", "kind", "amount_display", "message", "created_by"]
    list_filter = ["kind"]
    search_fields = ["invoice__number", "invoice__customer__name", "invoice__customer__email"]
    list_select_related = ["invoice", "created_by"]
    amount_display = staticmethod(money_column("amount"))
    fields = [
        "invoice",
        "kind",
        "currency",
        "amount_display",
        "message",
        "payment",
        "refund",
        "credit_note",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["operation", "key", "result_model", "result_id", "created_at", "created_by"]
    list_filter = ["operation", "result_model"]
    search_fields = ["key", "operation"]
    list_select_related = ["created_by"]
    readonly_fields = [
        "operation",
        "key",
        "fingerprint",
        "result_model",
        "result_id",
        "created_at",
        "created_by",
    ]


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(ReadOnlyAdmin):
    list_display = ["kind", "year", "last_number"]
    list_filter = ["kind", "year"]
    search_fields = ["kind"]
