"""The webhooks pages, under the user menu beside API keys: a manager's
(``manage_webhooks``). A secret is shown on the answer that made it only."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from billing import permissions
from billing.errors import BillingError
from billing.views._htmx import add_billing_error, permission_or_403, staff_required
from webhooks import services
from webhooks.forms import EndpointEditForm, EndpointForm
from webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

LOG_LENGTH = 50


@staff_required
@permission_or_403(permissions.MANAGE_WEBHOOKS)
def endpoint_list(request):
    """GET: the endpoints and a form for a new one. POST: make one; its secret is
    on this answer only."""
    form = EndpointForm(
        request.POST or None, initial={"event_types": EventType.values}, prefix="new"
    )
    secret, created, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, secret = services.endpoint_create(actor=request.user, **form.cleaned_data)
                form = EndpointForm(initial={"event_types": EventType.values}, prefix="new")
            except BillingError as error:
                add_billing_error(form, error)
        if secret is None:
            status = 422
    context = {
        "section": "webhooks",
        "form": form,
        "secret": secret,
        "created": created,
        "endpoints": WebhookEndpoint.objects.all(),
    }
    return TemplateResponse(request, "webhooks/endpoint_list.html", context, status=status)


@staff_required
@permission_or_403(permissions.MANAGE_WEBHOOKS)
def endpoint_detail(request, pk):
    """GET: the endpoint's settings and its delivery log. POST: save the settings,
    or ``rotate`` its secret (the new one shown on this answer), or ``resend`` a
    delivery of the log (its id)."""
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if request.method == "POST" and "resend" in request.POST:
        return _resend(request, endpoint, request.POST["resend"])
    secret, status = None, 200
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    }
    form = EndpointEditForm(initial=initial)
    if request.method == "POST" and "rotate" in request.POST:
        endpoint, secret = services.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
    elif request.method == "POST":
        form = EndpointEditForm(request.POST, initial=initial)
        if form.is_valid():
            try:
                services.endpoint_update(endpoint=endpoint, actor=request.user, **form.cleaned_data)
                messages.success(request, "The endpoint is saved.")
                return redirect(endpoint)
            except BillingError as error:
                add_billing_error(form, error)
        status = 422
    log = (
        WebhookAttempt.objects.filter(delivery__endpoint=endpoint)
        .select_related("delivery__event")
        .order_by("-pk")[:LOG_LENGTH]
    )
    context = {
        "section": "webhooks",
        "endpoint": endpoint,
        "form": form,
        "secret": secret,
        "log": log,
        "pending": endpoint.deliveries.filter(status=DeliveryStatus.PENDING).count(),
    }
    return TemplateResponse(request, "webhooks/endpoint_detail.html", context, status=status)


def _resend(request, endpoint, pk):
    delivery = get_object_or_404(
        WebhookDelivery, pk=pk if str(pk).isdigit() else None, endpoint=endpoint
    )
    attempt = services.delivery_resend(delivery=delivery, actor=request.user)
    if attempt is None:
        messages.warning(request, "That delivery is being sent right now; look again shortly.")
    elif attempt.succeeded:
        messages.success(request, f"Re-sent: the endpoint answered {attempt.status_code}.")
    else:
        answer = attempt.status_code or attempt.error
        messages.warning(request, f"Re-sent, and it failed again: {answer}.")
    return redirect(endpoint)
