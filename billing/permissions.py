"""Who may do what (docs/design.md, "Permissions").

Services call ``require(actor, PERMISSION)`` first, so no page, admin action,
command or API can forget the check. The two ready-made groups are kept in step
with GROUPS after every ``migrate``.
"""

from django.contrib.auth.models import Group, Permission

from billing.errors import BillingError, ErrorCode

VIEW = "view_billing"
MANAGE_INVOICES = "manage_invoices"
VOID_INVOICE = "void_invoice"
RECORD = "record_payment"
CHARGE = "charge_payment"
VOID_PAYMENT = "void_payment"
REFUND = "refund_payment"
ISSUE_CREDIT_NOTE = "issue_credit_note"
ADJUST_BALANCE = "adjust_balance"
MANAGE_WEBHOOKS = "manage_webhooks"

LABELS = {
    VIEW: "view billing",
    MANAGE_INVOICES: "create and issue invoices",
    VOID_INVOICE: "void invoices",
    RECORD: "record payments",
    CHARGE: "charge saved payment methods",
    VOID_PAYMENT: "void payments",
    REFUND: "refund payments",
    ISSUE_CREDIT_NOTE: "issue credit notes",
    ADJUST_BALANCE: "adjust customer balances",
    MANAGE_WEBHOOKS: "manage webhook endpoints",
}

CLERK = "Billing clerk"
MANAGER = "Billing manager"
GROUPS = {
    CLERK: [VIEW, MANAGE_INVOICES, RECORD, CHARGE],
    MANAGER: list(LABELS),
}


def has(actor, permission):
    return bool(
        actor is not None
        and getattr(actor, "is_active", False)
        and actor.has_perm(f"billing.{permission}")
    )


def require(actor, permission):
    """Refuse with ``permission_denied`` unless ``actor`` holds ``permission``."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise BillingError(ErrorCode.PERMISSION_DENIED, "Sign in to make billing changes.")
    if not has(actor, permission):
        raise BillingError(
            ErrorCode.PERMISSION_DENIED,
            f"{actor.get_username()} may not {LABELS[permission]}: "
            f"the permission “{LABELS[permission]}” is missing.",
        )


def ensure_groups(**kwargs):
    """Create the Billing clerk and Billing manager groups with their permissions."""
    by_codename = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label="billing", codename__in=LABELS)
    }
    if len(by_codename) < len(LABELS):
        return  # Permissions not created yet (first half of a fresh migrate).
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([by_codename[c] for c in codenames])
