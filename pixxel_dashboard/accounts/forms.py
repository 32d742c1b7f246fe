from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from pixxel_dashboard.core.forms import PlainLabels
from pixxel_dashboard.core.timezones import zone_choices

from .models import ORGANIZATION_NAME_MAX_LENGTH, Organization, Role, validate_organization_name


class SignupForm(PlainLabels, UserCreationForm):
    email = forms.EmailField(
        help_text="Invitations are sent to this address.", widget=forms.EmailInput()
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        # Never "this address already has an account": that would tell anyone who is registered.
        # The address is verified by a link (accounts.verification); its owner is told instead.
        return self.cleaned_data["email"].lower()


class OrganizationForm(PlainLabels, forms.ModelForm):
    class Meta:
        model = Organization
        fields = ("name",)
        labels = {"name": "Organization name"}


class OrganizationSettingsForm(PlainLabels, forms.Form):
    # A plain form, not a ModelForm on the organization: an invalid POST must not rename the
    # organization the rest of the page (top bar, title) is showing.
    name = forms.CharField(
        label="Organization name",
        max_length=ORGANIZATION_NAME_MAX_LENGTH,
        validators=[validate_organization_name],
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=zone_choices,
        help_text="Every time on the organization's pages is shown in this zone, for everyone.",
        error_messages={
            "invalid_choice": "“%(value)s” is not a time zone we know: pick one from the list."
        },
    )


class InviteForm(PlainLabels, forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)


class RoleForm(PlainLabels, forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
