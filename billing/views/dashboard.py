from billing import charts, selectors
from billing.money import format_money
from billing.views._htmx import render_page, staff_required


@staff_required
def dashboard(request):
    """The finance manager's page: receivables per currency (outstanding,
    overdue, ageing, days sales outstanding), this week's payments, cash
    collected and refunded over the last 13 weeks (charts with their tables),
    the customers most overdue, the instalments overdue longest, and the
    latest activity. A fixed number of queries, however many rows
    (docs/frontend.md, "Dashboard figures")."""
    receivables = selectors.receivables()
    dso = selectors.days_sales_outstanding(receivables=receivables)
    cash = [
        {"flow": flow, "chart": charts.cash_chart(flow, format_money=format_money)}
        for flow in selectors.cash_by_week()
    ]
    context = {
        "section": "dashboard",
        "receivables": receivables,
        "dso": {row["currency"]: row for row in dso},
        "dso_days": selectors.DSO_DAYS,
        "ageing_buckets": selectors.AGEING_BUCKETS,
        "overdue_buckets": selectors.OVERDUE_BUCKETS,
        "payments_this_week": selectors.payments_this_week(),
        "week_start": selectors.week_start(),
        "cash": cash,
        "cash_weeks": selectors.CASH_WEEKS,
        "overdue_customers": selectors.overdue_by_customer(),
        "overdue_instalments": selectors.overdue_instalments(),
        "events": selectors.recent_events(),
    }
    return render_page(request, "billing/dashboard.html", context)
