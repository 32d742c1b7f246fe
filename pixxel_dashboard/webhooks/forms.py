from urllib.parse import urlsplit

from django import forms

from pixxel_dashboard.core.forms import PlainLabels

from .models import Event
from .outbound import AllowList, literal_address, why_refused


class EndpointForm(PlainLabels, forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        help_text="Where the events are POSTed, e.g. https://ci.example.com/hooks/pixxel. HTTPS only.",
    )
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        help_text="To tell webhooks apart, e.g. “Slack relay”.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one event."},
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.username or parts.password:
            raise forms.ValidationError(
                "Leave the user name and password out of the URL; the signature proves the sender."
            )
        if parts.scheme != "https" and not AllowList.from_settings().allows_host(host):
            raise forms.ValidationError(
                "Use an https:// URL: deliveries carry your team's job details."
            )
        allow = AllowList.from_settings()
        address = literal_address(host)
        if address is not None and why_refused(address) and not allow.allows_host(host):
            raise forms.ValidationError(
                f"{host} is a {why_refused(address)} address: deliveries only go to public "
                "addresses."
            )
        return url
