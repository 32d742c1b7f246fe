from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from pixxel_dashboard.core.forms import PlainLabels

from .models import Organization, Role


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


class InviteForm(PlainLabels, forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)


class RoleForm(PlainLabels, forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
