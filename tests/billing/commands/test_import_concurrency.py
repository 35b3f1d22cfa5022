"""Two runs of one import at the same moment still record each row once."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from billing import permissions
from billing.models import Payment
from tests.factories import CustomerFactory
from tests.helpers import issued_invoice, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_file_imported_twice_at_once_records_each_row_once(tmp_path):
    clerk = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    clerk.groups.add(Group.objects.get(name=permissions.CLERK))
    today = datetime.date.today().isoformat()
    invoices = [issued_invoice(CustomerFactory(), clerk, "10.00") for _ in range(5)]
    path = tmp_path / "payments.csv"
    path.write_text(
        "invoice,amount,currency,paid_at,method\n"
        + "".join(f"{invoice.number},10.00,USD,{today},cash\n" for invoice in invoices)
    )

    def work(i):
        out = io.StringIO()
        call_command("import_payments", str(path), actor="clerk", stdout=out, stderr=io.StringIO())
        return out.getvalue()

    results, errors = run_together(2, work)

    assert errors == {}
    # A row the other run claimed first waits for it, then gets its payment back.
    assert all("refused 0." in results[i] for i in range(2))
    assert Payment.objects.count() == 5
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.status == "paid"
