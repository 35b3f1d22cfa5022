"""The API keys page, under the user menu: a person makes keys that act as
them (the key is shown once, on the answer to the POST, never stored) and
revokes them."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from api import keys
from api.models import ApiKey
from billing.errors import BillingError
from billing.views._htmx import staff_required


class KeyForm(forms.Form):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        help_text="What the key is for, e.g. “ERP sync”.",
    )


@staff_required
def key_list(request):
    """GET: the person's keys. POST: make one (``name``), shown on this answer
    only, or revoke one (``revoke``: its id)."""
    if request.method == "POST" and "revoke" in request.POST:
        return _revoke(request, request.POST["revoke"])
    form = KeyForm(request.POST or None)
    secret, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _, secret = keys.api_key_create(
                    user=request.user, name=form.cleaned_data["name"], actor=request.user
                )
                form = KeyForm()
            except BillingError as error:
                form.add_error("name", error.message)
        if secret is None:
            status = 422
    context = {
        "section": "api_keys",
        "form": form,
        "secret": secret,
        "keys": ApiKey.objects.filter(user=request.user),
    }
    return TemplateResponse(request, "api/keys.html", context, status=status)


def _revoke(request, pk):
    key = ApiKey.objects.filter(pk=pk if str(pk).isdigit() else None, user=request.user).first()
    if key is None:
        raise Http404("No such key.")
    keys.api_key_revoke(key=key, actor=request.user)
    messages.success(request, f"The key “{key.name}” is revoked.")
    return redirect("api:key_list")
