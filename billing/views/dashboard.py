from billing import selectors
from billing.views._htmx import render_page, staff_required


@staff_required
def dashboard(request):
    """Receivables per currency (outstanding, overdue, ageing), this week's
    payments and the latest activity on any invoice."""
    context = {
        "section": "dashboard",
        "receivables": selectors.receivables(),
        "ageing_buckets": selectors.AGEING_BUCKETS,
        "payments_this_week": selectors.payments_this_week(),
        "week_start": selectors.week_start(),
        "events": selectors.recent_events(),
    }
    return render_page(request, "billing/dashboard.html", context)
