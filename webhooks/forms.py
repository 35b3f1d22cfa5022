from django import forms

from webhooks.models import EventType, WebhookEndpoint


class EndpointForm(forms.Form):
    """An endpoint's settings; the service checks the URL's address and the events."""

    SERVICE_FIELDS = {"event_types": "event_types"}

    url = forms.URLField(
        label="URL",
        max_length=WebhookEndpoint._meta.get_field("url").max_length,
        assume_scheme="https",
        help_text="Where the events are POSTed, e.g. https://erp.example.com/billing-events.",
    )
    description = forms.CharField(
        max_length=WebhookEndpoint._meta.get_field("description").max_length, required=False
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(value, f"{value}: {label}") for value, label in EventType.choices],
        widget=forms.CheckboxSelectMultiple,
    )


class EndpointEditForm(EndpointForm):
    enabled = forms.BooleanField(label="Enabled", required=False)
