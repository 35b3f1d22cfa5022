"""Demo data for `make run`: customers, saved methods, invoices in every status,
twelve weeks of payments and refunds, and overdue invoices in every ageing bucket,
so the dashboard has something to show on the first run.

Everything goes through billing.services, as staff would do it. The history is
made by the same services with the clock set back to the day it happened
(``_on_day``), so each record's dates agree with one another as if the work had
been done then. The days are counted back from today, so a run is the same
whenever it is made, relative to its day. Running it again changes nothing (the
demo customers are recognised by their external reference). With the sandbox
gateway, every demo customer also gets one saved method per sandbox test token
(declines, timeouts, failing refunds: docs/gateways.md), its own card staying
the default; tokens a customer already has are skipped.
"""

import contextlib
import datetime
from decimal import Decimal
from typing import NamedTuple
from unittest import mock

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
            with _on_day(_first_day()):
                customers = [
                    self._customer(admin, index, *row) for index, row in enumerate(CUSTOMERS)
                ]
            # The past first, so invoice numbers follow the issue dates.
            self._history(admin, customers)
            for demo in customers:
                self._invoices(admin, demo)
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
        return Demo(customer, index, Money(price, currency), brand, last4)

    def _history(self, actor, customers):
        """Twelve weeks of invoices paid by bank transfer (some partly refunded),
        and for each customer an overdue invoice in each ageing bucket (one of
        them partly paid), each made on its own day."""
        today = timezone.localdate()
        monday = today - datetime.timedelta(days=today.weekday())
        work = []
        for weeks_back in range(12, 0, -1):
            for demo in customers:
                day = monday - datetime.timedelta(weeks=weeks_back) + _days(demo.index % 5)
                work.append((day, demo, "paid", weeks_back))
        for days_late in OVERDUE_DAYS_LATE:
            for demo in customers:
                day = today - _days(days_late + TERMS_DAYS + demo.index)
                work.append((day, demo, "overdue", days_late))
        for day, demo, kind, number in sorted(work, key=lambda item: (item[0], item[1].index)):
            with _on_day(day):
                if kind == "paid":
                    self._paid_that_week(actor, demo, day, number)
                else:
                    self._overdue(actor, demo, day, number)

    def _paid_that_week(self, actor, demo, day, weeks_back):
        invoice = _invoice(actor, demo, 1 + (weeks_back + demo.index) % 3)
        payment = services.payment_record(
            invoice=invoice,
            amount=invoice.total,
            method="bank_transfer",
            paid_at=day,
            actor=actor,
            details={"bank_reference": f"TRF-{demo.index + 1}-{weeks_back:02d}"},
        )
        if weeks_back % 4 == (demo.index % 4):
            services.payment_refund(
                payment=payment,
                amount=_fraction(invoice.total, 5),
                destination="external",
                actor=actor,
                reason="requested_by_customer",
                reference=f"Returned by transfer, week {weeks_back}",
            )

    def _overdue(self, actor, demo, day, days_late):
        invoice = _invoice(actor, demo, 1, due_date=day + _days(TERMS_DAYS))
        if days_late == OVERDUE_DAYS_LATE[1]:
            services.payment_record(
                invoice=invoice,
                amount=_fraction(invoice.total, 4),
                method="cheque",
                paid_at=day,
                actor=actor,
                details={"cheque_number": f"{300100 + demo.index}"},
            )

    def _invoices(self, actor, demo):
        """Today's invoices: one in every status, with payments, a refund, a
        credit note, an overpayment to credit, a charge and a declined one."""
        customer, index, unit, brand, last4 = demo
        today = timezone.localdate()

        def invoice(quantity, issue=True, apply_credit=True):
            return _invoice(actor, demo, quantity, issue=issue, apply_credit=apply_credit)

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


class Demo(NamedTuple):
    customer: Customer
    index: int
    unit: Money
    brand: str
    last4: str


# The history's overdue invoices: days past their due date, one per ageing bucket
# of the dashboard (1-30, 31-60, 61-90, 90+), due TERMS_DAYS after their issue.
OVERDUE_DAYS_LATE = (12, 45, 75, 110)
TERMS_DAYS = 30


def _first_day():
    """The day the demo's history starts: its oldest overdue invoice's issue."""
    return timezone.localdate() - _days(max(OVERDUE_DAYS_LATE) + TERMS_DAYS + len(CUSTOMERS))


def _days(count):
    return datetime.timedelta(days=count)


@contextlib.contextmanager
def _on_day(day):
    """The services run as on ``day`` at 10:00 (the business's time zone): what
    they stamp (created_at, issue dates, "today" in their checks) is that day."""
    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def _invoice(actor, demo, quantity, *, issue=True, apply_credit=True, due_date=None):
    """A demo invoice of consulting and a support plan, issued unless not."""
    draft = services.invoice_create(
        customer=demo.customer,
        currency=demo.unit.currency.code,
        actor=actor,
        due_date=due_date,
        lines=[
            {
                "description": "Consulting",
                "quantity": Decimal(quantity),
                "unit_price": demo.unit,
                "tax_rate": Decimal("10"),
            },
            {"description": "Support plan", "quantity": Decimal(1), "unit_price": demo.unit},
        ],
    )
    if not issue:
        return draft
    return services.invoice_issue(invoice=draft, actor=actor, apply_credit=apply_credit)


def _fraction(total, divisor):
    """A share of an amount, rounded to its currency's minor unit."""
    return quantize(total.amount / divisor, total.currency.code)
