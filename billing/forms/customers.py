"""The back office's customer and saved-method forms (views/customers.py):
validation and normalisation only; the services check everything again."""

from django import forms
from django.conf import settings

from billing.forms.fields import IdempotentForm
from billing.gateways import sandbox
from billing.models import Customer, GatewayName, PaymentMethod


class CustomerForm(forms.Form):
    """A customer's details (services.customer_create, customer_update)."""

    name = forms.CharField(label="Name", max_length=Customer._meta.get_field("name").max_length)
    email = forms.CharField(
        label="E-mail", required=False, max_length=Customer._meta.get_field("email").max_length
    )
    currency = forms.ChoiceField(
        label="Default currency", help_text="The currency of new invoices; any may be chosen."
    )
    external_ref = forms.CharField(
        label="External reference",
        required=False,
        max_length=Customer._meta.get_field("external_ref").max_length,
        help_text="The customer's id in another system; no two customers share one.",
    )

    def __init__(self, *args, customer=None, **kwargs):
        if customer is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": customer.name,
                    "email": customer.email,
                    "currency": customer.currency,
                    "external_ref": customer.external_ref,
                },
            )
        super().__init__(*args, **kwargs)
        codes = sorted({*settings.CURRENCIES, *([customer.currency] if customer else [])})
        self.fields["currency"].choices = [(code, code) for code in codes]


class CustomerCreateForm(IdempotentForm, CustomerForm):
    """A new customer: a double submit of one opened form makes one customer."""


# What a saved sandbox test card is saved with (services.sandbox_test_cards_add's).
TEST_CARD_EXPIRY = (12, 2099)


class PaymentMethodAddForm(IdempotentForm):
    """A saved method: one of the sandbox's test cards (while the sandbox is the
    gateway, for development and demos), or a token the gateway gave for a card
    the customer saved there, with what identifies the card. Never card data:
    the service refuses a card number in place of a token."""

    SERVICE_FIELDS = {"gateway": "gateway"}

    test_card = forms.ChoiceField(label="Test card", required=False)
    gateway = forms.ChoiceField(label="Gateway", choices=GatewayName.choices, required=False)
    token = forms.CharField(
        label="Gateway token",
        required=False,
        max_length=PaymentMethod._meta.get_field("token").max_length,
        help_text="The saved method's id at the gateway (for Stripe: pm_…), never a card number.",
    )
    brand = forms.CharField(
        label="Card brand",
        required=False,
        max_length=PaymentMethod._meta.get_field("brand").max_length,
    )
    last4 = forms.CharField(
        label="Last 4 digits",
        required=False,
        max_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    exp_month = forms.IntegerField(label="Expiry month", required=False, min_value=1, max_value=12)
    exp_year = forms.IntegerField(
        label="Expiry year", required=False, min_value=2000, max_value=2100
    )
    default = forms.BooleanField(label="Make it the default method", required=False, initial=True)

    def __init__(self, *args, sandbox_cards=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sandbox_cards is None:
            sandbox_cards = settings.BILLING_DEFAULT_GATEWAY == GatewayName.SANDBOX
        self.sandbox_cards = sandbox_cards
        self.test_cards = {token: (brand, last4) for token, brand, last4 in sandbox.TEST_CARDS}
        if sandbox_cards:
            self.fields["test_card"].choices = [
                ("", "None: enter a gateway token below"),
                *[
                    (token, f"{brand} •••• {last4}")
                    for token, (brand, last4) in self.test_cards.items()
                ],
            ]
            self.fields["test_card"].initial = sandbox.OK
            self.fields["test_card"].help_text = (
                "The sandbox gateway's cards, one per outcome (declines, timeouts, failing "
                "refunds)."
            )
        else:
            del self.fields["test_card"]
            self.fields["gateway"].initial = settings.BILLING_DEFAULT_GATEWAY

    def clean(self):
        data = super().clean()
        token = data.get("test_card")
        if token:
            brand, last4 = self.test_cards[token]
            exp_month, exp_year = TEST_CARD_EXPIRY
            data.update(
                gateway=GatewayName.SANDBOX,
                token=token,
                brand=brand,
                last4=last4,
                exp_month=exp_month,
                exp_year=exp_year,
            )
            return data
        for name in ("gateway", "token", "brand", "last4", "exp_month", "exp_year"):
            if data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, "This field is required without a test card.")
        return data

    def method_fields(self):
        """What services.payment_method_add takes from the form."""
        data = self.cleaned_data
        names = (
            *("gateway", "token", "brand", "last4", "exp_month", "exp_year", "default"),
            "idempotency_key",
        )
        return {name: data[name] for name in names}
