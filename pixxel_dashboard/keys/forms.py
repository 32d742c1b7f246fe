from django import forms

from pixxel_dashboard.accounts.forms import PlainLabels


class ApiKeyForm(PlainLabels, forms.Form):
    label = forms.CharField(
        label="Label", max_length=80, help_text="To tell keys apart, e.g. “Production key”."
    )
    # render_value=False: the key is never sent back to the browser, not even after a form error.
    secret = forms.CharField(
        label="API key",
        strip=True,
        min_length=8,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="From the API tab of your organization settings in Pixxel's console. "
        "It is stored encrypted and never shown again.",
    )

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if any(ch.isspace() for ch in secret):
            raise forms.ValidationError("An API key has no spaces: paste just the key.")
        return secret
