"""The few helpers every back-office view uses (docs/frontend.md, "Back office").

One view serves a page and its regions: ``render_page`` renders the whole
template, or, for an htmx request aimed at one of the page's regions, only that
region's inline partial. A region's partial is named after its root element's
id, so the region asks for itself (``hx-get`` of the page's own URL, target
itself) and the ``HX-Target`` header names the partial to render.

Action views answer an invalid form with ``form_invalid`` (status 422) and a
success with ``action_done``: 204 and ``HX-Trigger`` events for htmx, a redirect
with a message for a plain form post, so every page also works without
JavaScript. ``modal_action`` strings these together for the usual action: show
the modal, validate, call one service, answer.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event
from django_htmx.http import push_url as set_push_url

from billing import permissions, selectors
from billing.errors import BillingError
from billing.filters import CursorForm

# htmx sends these; a response chosen by them must say so, or a cache (or the
# browser's back button) could serve a region where a page belongs.
VARY = ("HX-Request", "HX-Target")

# The events the pages listen to (docs/frontend.md, "Events").
INVOICE_CHANGED = "invoice-changed"
CUSTOMER_CHANGED = "customer-changed"
CLOSE_MODAL = "closeModal"
SHOW_MESSAGE = "showMessage"


def wants_partial(request, partials):
    """The partial an htmx request asks for, or None for the whole page."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request or htmx.boosted:
        return None
    return htmx.target if htmx.target in partials else None


def render_page(request, template, context=None, *, partials=(), push_url=None):
    """The whole page, or the one region (an inline partial of ``template``
    named like its root element's id) an htmx request targets.

    ``push_url`` is the canonical URL of what a region shows (a list's filters
    without the empty ones); htmx puts it in the address bar instead of the
    request's own URL.
    """
    partial = wants_partial(request, partials)
    response = _render(request, template, partial, context)
    if partial and push_url:
        set_push_url(response, push_url)
    return response


def list_url(request, query, cursors=None):
    """A list's canonical URL: its valid, non-empty filters and page cursor."""
    shown = query.copy()
    for key, value in (cursors or {}).items():
        shown[key] = value
    return f"{request.path}?{shown.urlencode()}" if shown else request.path


def render_list(request, template, context, *, filterset, partial):
    """A filtered list, keyset-paged (``selectors.keyset_page`` by the query
    string's cursor): the whole page, or for htmx its table region ``partial``
    with the list's canonical URL pushed. Adds to ``context`` the filter
    ``form`` (the FilterSet's, billing/filters.py), its ``query`` (for links
    that keep the filters) and the ``page`` of the filtered rows."""
    cursors = CursorForm(request.GET).cursors()
    query = filterset.form.query()
    context = {
        **context,
        "form": filterset.form,
        "query": query,
        "page": selectors.keyset_page(filterset.qs, **cursors),
    }
    return render_page(
        request, template, context, partials=(partial,), push_url=list_url(request, query, cursors)
    )


def _render(request, template, partial, context, status=200):
    name = f"{template}#{partial}" if partial else template
    response = TemplateResponse(request, name, context, status=status)
    patch_vary_headers(response, VARY)
    return response


# A modal, billing/modals/<action>.html, extends the modal shell
# billing/modals/base.html, which extends base.html: a page of its own. For htmx
# the shell extends instead one of these bare parents, which render only the
# dialog or only its form (docs/frontend.md, "Modals"). Not partials: Django
# finds "<action>.html#name" only among the partials <action>.html defines
# itself, and a partial rendered alone leaves the blocks in it unfilled.
MODAL_PARTS = {
    "modal-dialog": "billing/modals/parts/modal-dialog.html",
    "modal-form": "billing/modals/parts/modal-form.html",
}


def _render_modal(request, template, part, context, status=200):
    context = dict(context or {})
    if part:
        context["modal_parent"] = MODAL_PARTS[part]
    return _render(request, template, None, context, status)


def render_modal(request, template, context=None):
    """GET of an action: for htmx (a button aimed at ``#modal``) only the
    dialog, which app.js opens with showModal(); for htmx aimed at
    ``#modal-form`` (a dialog loading another action's form) only the form;
    without JavaScript the same template as a page of its own, dialog shown
    open."""
    htmx = getattr(request, "htmx", None)
    target = htmx.target if htmx else None
    # Aimed at a form already in a dialog ("Take payment" loading the chosen
    # source's form): only the form.
    part = {"modal": "modal-dialog", "modal-form": "modal-form"}.get(target)
    return _render_modal(request, template, part, context)


def form_invalid(request, template, context=None):
    """An action's form again, with its errors, status 422: for htmx only the
    form (it replaces itself in the open dialog; the htmx-config meta tag in
    base.html lets htmx swap a 422), otherwise the page."""
    return render_form(request, template, context, status=422)


def render_form(request, template, context=None, *, status=200):
    """An action's form re-rendered without acting: "Add line", "Preview".
    Like ``form_invalid`` (only the form for htmx aimed at ``#modal-form``, the
    page otherwise) but 200: nothing was refused."""
    htmx = getattr(request, "htmx", None)
    part = "modal-form" if htmx and htmx.target == "modal-form" else None
    return _render_modal(request, template, part, context, status)


def form_data(request):
    """The data to bind an action's form to: the POST, even an empty one (an
    unticked box posts nothing, and is an answer), or None on GET."""
    return request.POST if request.method == "POST" else None


def modal_action(request, template, context, perform, *, error_code=False):
    """An action's modal and its post, for the usual action: one form, one service.

    GET renders the modal (``render_modal``). A POST validates
    ``context["form"]`` and calls ``perform(form.cleaned_data)``, which calls the
    service and returns the success response (usually ``action_done``). A
    ``BillingError`` from ``perform`` (the service refused; it wrote nothing) goes
    onto the form (``add_billing_error``), and with ``error_code`` its code into
    the context as ``error_code`` (the form's errors show it as ``data-code``).
    An invalid or refused form is answered by ``form_invalid`` (422).

    Views with more outcomes (a preview, "Add line", a region of the form)
    answer those before calling this, or do without it.
    """
    if request.method == "GET":
        return render_modal(request, template, context)
    form = context["form"]
    if form.is_valid():
        try:
            return perform(form.cleaned_data)
        except BillingError as error:
            add_billing_error(form, error)
            if error_code:
                context["error_code"] = error.code
    return form_invalid(request, template, context)


def add_billing_error(form, error):
    """Show a refused service call (BillingError) on the form: on the field it
    names when the form has that field (or the one the form's ``SERVICE_FIELDS``
    says stands for it), otherwise above the form."""
    field = getattr(form, "SERVICE_FIELDS", {}).get(error.field, error.field)
    form.add_error(field if field in form.fields else None, error.message)


# action_done's message levels (the toast's and the messages framework's).
MESSAGE_LEVELS = {
    "success": messages.SUCCESS,
    "info": messages.INFO,
    "warning": messages.WARNING,
}


class HtmlSafeJSONEncoder(DjangoJSONEncoder):
    """JSON whose strings carry no HTML: ``<``, ``>`` and ``&`` are written as
    Unicode escapes, as Django's ``json_script`` does. Toasts quote customer names
    and references people typed; app.js shows them as text, and the header itself
    holds no markup for anything else that reads it."""

    def encode(self, o):
        return super().encode(o).translate(HTML_IN_JSON)


HTML_IN_JSON = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def trigger(response, name, params=None):
    """Add the client event ``name`` to the response's ``HX-Trigger`` (after
    those already there), HTML-safe."""
    return trigger_client_event(response, name, params, encoder=HtmlSafeJSONEncoder)


def action_done(request, *, message, redirect_to, events=(INVOICE_CHANGED,), level="success"):
    """A successful action. htmx: 204 with ``HX-Trigger`` — the data events
    (regions refetch themselves), the message as a toast, then ``closeModal``.
    Otherwise: a redirect with the message, so the page works without JS.

    ``level`` is "warning" (or "info") when the action was made but did not
    end as hoped: an invoice issued whose charge was declined is still issued."""
    if getattr(request, "htmx", None):
        response = HttpResponse(status=204)
        # trigger_client_event adds each event to the one HX-Trigger object, in
        # order; htmx fires them in that order.
        for name in events:
            trigger(response, name)
        trigger(response, SHOW_MESSAGE, {"text": str(message), "level": level})
        # Last, so the form that sent the request is still in the page while the
        # other events bubble from it to <body>.
        return trigger(response, CLOSE_MODAL)
    messages.add_message(request, MESSAGE_LEVELS[level], message)
    return redirect(redirect_to)


def forbidden(request, message):
    """403 naming what is missing: a toast for htmx, a page otherwise."""
    if getattr(request, "htmx", None):
        return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    return TemplateResponse(request, "403.html", {"message": message}, status=403)


def _login_redirect(request):
    htmx = getattr(request, "htmx", None)
    if htmx:
        # A 302 would be followed by the XHR and the login page swapped into a
        # region; send the whole browser there instead.
        return_to = htmx.current_url_abs_path or request.get_full_path()
        return HttpResponseClientRedirect(redirect_to_login(return_to).url)
    return redirect_to_login(request.get_full_path())


def staff_required(view):
    """Signed-in, active staff holding ``view_billing``, or: not signed in (or
    not staff) → the login page; staff without the permission → 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return _login_redirect(request)
        if not permissions.has(user, permissions.VIEW):
            return forbidden(request, _missing(user, permissions.VIEW))
        return view(request, *args, **kwargs)

    return wrapper


def permission_or_403(permission):
    """For action views, under ``@staff_required``: 403 (naming the missing
    permission) unless the user holds ``permission``. The service checks it
    again; this answers before any form is shown or parsed."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not permissions.has(request.user, permission):
                return forbidden(request, _missing(request.user, permission))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def missing_permission(user, permission):
    """What a 403 says when ``user`` lacks ``permission``."""
    return _missing(user, permission)


def _missing(user, permission):
    label = permissions.LABELS[permission]
    return f"{user.get_username()} may not {label}: the permission “{label}” is missing."
