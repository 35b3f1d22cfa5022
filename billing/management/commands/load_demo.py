"""Demo data for `make run`: customers, saved methods, invoices in every status.

Everything goes through billing.services, as staff would do it. Running it again
changes nothing (the demo customers are recognised by their external reference).
With the sandbox gateway, every demo customer also gets one saved method per
sandbox test token (declines, timeouts, failing refunds: docs/gateways.md), its
own card staying the default; tokens a customer already has are skipped.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone
from moneyed import Money

from billing import services
from billing.models import Customer
from billing.money import quantize

DEMO_USER = "admin"
DEMO_PASSWORD = "admin"

CUSTOMERS = [
    # name, currency, e-mail, price of one unit, card brand, last4
    ("Acme Corporation", "USD", "billing@acme.example", "1250.00", "visa", "4242"),
    ("Bäckerei Müller GmbH", "EUR", "buchhaltung@mueller.example", "89.90", "mastercard", "4444"),
    ("Tanaka Trading KK", "JPY", "keiri@tanaka.example", "48000", "jcb", "0505"),
    ("Gulf Logistics WLL", "KWD", "accounts@gulf.example", "375.125", "visa", "1881"),
]


def site_url(addrport):
    """The address to open for runserver's ``addrport``: "8080", "0.0.0.0:8080",
    "localhost:9000" or "[::1]:8000". A server listening on every interface is
    opened through 127.0.0.1."""
    addr, _, port = addrport.rpartition(":")
    if not port.isdigit():
        addr, port = addrport, "8000"
    if addr in ("", "0.0.0.0", "0", "[::]"):
        addr = "127.0.0.1"
    return f"http://{addr}:{port}/"


class Command(BaseCommand):
    help = "Load demo customers, invoices, payments, refunds and credit (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--host",
            default="127.0.0.1:8000",
            help="Where the server listens (runserver's addrport, as `make run HOST=...` "
            "passes it), for the login line (default: %(default)s).",
        )

    def handle(self, *args, host, **options):
        admin = self._admin()
        if Customer.objects.filter(external_ref__startswith="demo-").exists():
            self.stdout.write("Demo data is already loaded.")
        else:
            for index, row in enumerate(CUSTOMERS):
                self._customer(admin, index, *row)
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if settings.BILLING_DEFAULT_GATEWAY == "sandbox":
            self._sandbox_test_cards(admin)
        self.stdout.write(
            f"Staff login: username “{DEMO_USER}”, password “{DEMO_PASSWORD}” "
            f"at {site_url(host)} (the Django admin is at /admin/)"
        )

    def _admin(self):
        User = get_user_model()
        user = User.objects.filter(username=DEMO_USER).first()
        if user is None:
            user = User.objects.create_superuser(DEMO_USER, "admin@example.com", DEMO_PASSWORD)
        return user

    def _sandbox_test_cards(self, actor):
        demo = Customer.objects.filter(external_ref__startswith="demo-").order_by("id")
        added = sum(
            len(services.sandbox_test_cards_add(customer=customer, actor=actor))
            for customer in demo
        )
        if added:
            self.stdout.write(f"Added {added} sandbox test card(s) to the demo customers.")

    def _customer(self, actor, index, name, currency, email, price, brand, last4):
        customer = services.customer_create(
            name=name,
            currency=currency,
            email=email,
            external_ref=f"demo-{index + 1}",
            actor=actor,
        )
        services.payment_method_add(
            customer=customer,
            gateway="sandbox",
            token="sandbox_ok",
            brand=brand,
            last4=last4,
            exp_month=12,
            exp_year=2030,
            actor=actor,
        )
        unit = Money(price, currency)
        today = timezone.localdate()

        def invoice(quantity, issue=True, apply_credit=True):
            draft = services.invoice_create(
                customer=customer,
                currency=currency,
                actor=actor,
                lines=[
                    {
                        "description": "Consulting",
                        "quantity": Decimal(quantity),
                        "unit_price": unit,
                        "tax_rate": Decimal("10"),
                    },
                    {"description": "Support plan", "quantity": Decimal(1), "unit_price": unit},
                ],
            )
            if not issue:
                return draft
            return services.invoice_issue(invoice=draft, actor=actor, apply_credit=apply_credit)

        invoice(2, issue=False)  # a draft
        invoice(1)  # open, and overdue once its terms pass
        partial = invoice(3)
        services.payment_record(
            invoice=partial,
            amount=_fraction(partial.total, 2),
            method="cheque",
            paid_at=today,
            actor=actor,
            details={"cheque_number": f"{100200 + index}"},
            reference="First instalment",
        )
        paid = invoice(1)
        payment = services.payment_record(
            invoice=paid,
            amount=paid.total,
            method="bank_transfer",
            paid_at=today,
            actor=actor,
            details={"bank_reference": f"TRF-{index + 1:04d}"},
        )
        services.payment_refund(
            payment=payment,
            amount=_fraction(paid.total, 10),
            destination="external",
            actor=actor,
            reason="requested_by_customer",
            reference="Refunded by transfer",
        )
        credited = invoice(2)
        services.credit_note_issue(
            invoice=credited,
            actor=actor,
            reason="goodwill",
            reduce_due=_fraction(credited.total, 10),
            memo="Late delivery",
        )
        overpaid = invoice(1)
        services.payment_record(
            invoice=overpaid,
            amount=overpaid.total + unit,
            method="card",
            paid_at=today,
            actor=actor,
            details={"card_brand": brand, "card_last4": last4},
            excess_to_credit=True,
        )
        charged = invoice(1)
        services.payment_charge(invoice=charged, actor=actor)  # the default card: succeeds
        declined_card = services.payment_method_add(
            customer=customer,
            gateway="sandbox",
            token="sandbox_declined",
            brand="Test declined",
            last4="0002",
            exp_month=12,
            exp_year=2030,
            actor=actor,
            default=False,
        )
        declined = invoice(1)
        services.payment_charge(invoice=declined, actor=actor, payment_method=declined_card)
        voided = invoice(1, apply_credit=False)
        services.invoice_void(invoice=voided, actor=actor, reason="Issued by mistake")


def _fraction(total, divisor):
    """A share of an amount, rounded to its currency's minor unit."""
    return quantize(total.amount / divisor, total.currency.code)
