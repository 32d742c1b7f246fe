from django import forms

from pixxel_dashboard.core.forms import PlainLabels


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

    # Offered only after Pixxel refused the key (or did not answer): saving it then is a choice.
    save_anyway = forms.BooleanField(
        label="Save this key anyway, although the test failed",
        required=False,
        help_text="Type the key again and tick this to make it the active key all the same "
        "(e.g. while Pixxel is down). This is recorded in the audit log.",
    )

    def __init__(self, *args, offer_save_anyway=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not offer_save_anyway:
            del self.fields["save_anyway"]

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if any(ch.isspace() for ch in secret):
            raise forms.ValidationError("An API key has no spaces: paste just the key.")
        return secret
