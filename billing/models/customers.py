from django.db import models
from django.db.models import Q
from django.urls import reverse

from billing.models._base import actor_field, currency_field


class Customer(models.Model):
    """Someone we invoice. ``currency`` is the default for new invoices only;
    invoices and credit balances may be in any currency."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    currency = currency_field(help_text="Default currency of new invoices.")
    external_ref = models.CharField(
        "external reference", max_length=100, blank=True, help_text="Id in another system."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_ref"],
                condition=~Q(external_ref=""),
                name="customer_external_ref_unique",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("billing:customer_detail", args=[self.pk])


# Gateways name card brands by code ("visa", "jcb"); people read them so.
BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def brand_label(brand):
    """A card brand as people write it: "visa" → "Visa", "jcb" → "JCB"; a brand
    typed by a person ("Visa") stays as typed."""
    brand = (brand or "").strip()
    return BRANDS.get(brand.lower(), brand)


def card_label(brand, last4):
    """A card as every page, message and timeline entry writes it:
    "Visa •••• 4242" (the brand alone without last 4 digits)."""
    return f"{brand_label(brand)} •••• {last4}" if last4 else brand_label(brand)


class GatewayName(models.TextChoices):
    """The payment gateways a saved method can belong to (billing.gateways)."""

    SANDBOX = "sandbox", "Sandbox"
    STRIPE = "stripe", "Stripe"


class PaymentMethod(models.Model):
    """A customer's method saved at a gateway. Holds the gateway's token and what a
    person needs to recognise the card; never a card number or CVC.

    At most one default method per customer (a partial unique constraint); a
    removed method (``removed_at``) is never the default, charged or offered.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payment_methods")
    gateway = models.CharField(max_length=30, choices=GatewayName.choices)
    token = models.CharField(max_length=255)
    brand = models.CharField(max_length=30)
    last4 = models.CharField("last 4 digits", max_length=4)
    exp_month = models.PositiveSmallIntegerField("expiry month")
    exp_year = models.PositiveSmallIntegerField("expiry year")
    is_default = models.BooleanField("default", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()
    # Removed from the customer's saved methods (services.payment_method_remove):
    # kept, since payments name it, but never charged or offered again.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default=True),
                name="payment_method_one_default",
            ),
            models.CheckConstraint(
                condition=Q(exp_month__gte=1, exp_month__lte=12),
                name="payment_method_exp_month_valid",
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(is_default=False),
                name="payment_method_removed_not_default",
            ),
        ]

    def __str__(self):
        return card_label(self.brand, self.last4)

    @property
    def is_removed(self):
        return self.removed_at is not None
