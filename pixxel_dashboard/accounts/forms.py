from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .models import Organization, Role


class PlainLabels:
    """Labels read exactly as written ("Role", not "Role:"), for people and for tests alike."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(PlainLabels, UserCreationForm):
    email = forms.EmailField(
        help_text="Invitations are sent to this address.", widget=forms.EmailInput()
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email


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
