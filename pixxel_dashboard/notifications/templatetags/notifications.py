from django import template

from pixxel_dashboard.accounts.models import Role

from .. import follow, preferences
from ..forms import OrganizationDefaultForm
from ..models import JobEmails

register = template.Library()


@register.inclusion_tag("notifications/_follow.html", takes_context=True)
def follow_panel(context, job):
    """The job page's Follow / Unfollow control (one query)."""
    request = context["request"]
    return {**follow.follow_context(job, request.user), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("notifications/_organization_default.html", takes_context=True)
def organization_job_emails(context, organization):
    """The organization's default for job emails: a form for owners, a sentence for others."""
    membership = context.get("current_membership")
    choice = preferences.organization_default(organization)
    return {
        "organization": organization,
        "choice": JobEmails(choice),
        "is_owner": membership is not None and membership.role == Role.OWNER,
        "form": OrganizationDefaultForm(initial={"job_emails": choice}),
        "csrf_token": context.get("csrf_token"),
    }
