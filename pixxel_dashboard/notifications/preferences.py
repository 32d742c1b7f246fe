"""Each member's choice of job emails per organization, and the organization's default."""

from django.db import transaction

from pixxel_dashboard.accounts.models import Membership, Organization, record_event

from .models import JOB_EMAILS_RANK, JobEmail, JobEmails, MemberJobEmails, OrganizationJobEmails

# "Use the organization's default" on the preferences form: no MemberJobEmails row.
ORGANIZATION_DEFAULT = "default"


def organization_default(organization: Organization) -> str:
    """What the organization's members get unless they chose: "only failures" until an owner sets it."""
    row = OrganizationJobEmails.objects.filter(organization=organization).first()
    return row.job_emails if row else JobEmails.FAILURES


def default_of(membership: Membership) -> str:
    """The organization's default, read through `select_related("organization__job_emails_default")`."""
    try:
        return membership.organization.job_emails_default.job_emails
    except OrganizationJobEmails.DoesNotExist:
        return JobEmails.FAILURES


def own_choice(membership: Membership) -> str | None:
    """The member's own choice (None: the organization's default), through `select_related("job_emails")`."""
    try:
        return membership.job_emails.job_emails
    except MemberJobEmails.DoesNotExist:
        return None


def effective(membership: Membership) -> str:
    """The member's setting in effect, through `Membership.objects.with_job_emails()`."""
    return own_choice(membership) or default_of(membership)


def wants(choice: str, event: str) -> bool:
    """Does a member with this setting get the email of this event?"""
    if choice == JobEmails.ALL:
        return True
    return choice == JobEmails.FAILURES and event == JobEmail.Event.FAILED


def set_member_choice(membership: Membership, choice: str) -> bool:
    """Set (or, with ORGANIZATION_DEFAULT, clear) the member's choice; returns whether it changed."""
    current = own_choice(membership)
    if choice == ORGANIZATION_DEFAULT:
        if current is None:
            return False
        MemberJobEmails.objects.filter(membership=membership).delete()
        return True
    if current == choice:
        return False
    MemberJobEmails.objects.update_or_create(membership=membership, defaults={"job_emails": choice})
    return True


def lower_to(membership: Membership, ceiling: str) -> tuple[str, str]:
    """At most `ceiling` from now on (an unsubscribe link: it never turns emails back on).
    Returns (before, after), both effective settings."""
    before = effective(membership)
    if JOB_EMAILS_RANK[JobEmails(before)] > JOB_EMAILS_RANK[JobEmails(ceiling)]:
        set_member_choice(membership, ceiling)
        return before, ceiling
    return before, before


@transaction.atomic
def set_organization_default(organization: Organization, actor, choice: str) -> bool:
    """An owner's change of the default, written to the audit log; returns whether it changed."""
    old = organization_default(organization)
    if old == choice:
        return False
    OrganizationJobEmails.objects.update_or_create(
        organization=organization, defaults={"job_emails": choice}
    )
    record_event(organization, actor, "notifications.default_changed", choice, old=old)
    return True
