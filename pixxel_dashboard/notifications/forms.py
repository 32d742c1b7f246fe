from django import forms

from pixxel_dashboard.core.forms import PlainLabels

from .models import JobEmails
from .preferences import ORGANIZATION_DEFAULT, default_of, own_choice

INVALID_CHOICE = "Pick one of the choices listed (“%(value)s” is not one of them)."


def field_name(membership) -> str:
    return f"org-{membership.organization.slug}"


class NotificationSettingsForm(PlainLabels, forms.Form):
    """One choice per organization the person belongs to: the organization's default or their own."""

    def __init__(self, memberships, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = list(memberships)
        for membership in self.memberships:
            default_label = JobEmails(default_of(membership)).label.lower()
            self.fields[field_name(membership)] = forms.ChoiceField(
                label=membership.organization.name,
                choices=[
                    (ORGANIZATION_DEFAULT, f"The organization's default ({default_label})"),
                    *JobEmails.choices,
                ],
                initial=own_choice(membership) or ORGANIZATION_DEFAULT,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": INVALID_CHOICE},
            )

    def choices(self):
        """(membership, chosen value) for every organization on the form (once valid)."""
        return [(m, self.cleaned_data[field_name(m)]) for m in self.memberships]


class OrganizationDefaultForm(PlainLabels, forms.Form):
    job_emails = forms.ChoiceField(
        label="Job emails for members who have not chosen",
        choices=JobEmails.choices,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
