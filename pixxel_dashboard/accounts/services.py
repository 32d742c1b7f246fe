"""Membership rules in one place: views call these, never edit Membership rows themselves."""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from . import verification
from .models import (
    ROLE_RANK,
    Invitation,
    Membership,
    Organization,
    Role,
    hash_token,
    one_line,
    record_event,
)

logger = logging.getLogger(__name__)


class MembershipError(Exception):
    """A membership change the rules forbid; the message is shown to the user."""


class TooManyInvitations(MembershipError):
    """The hourly invitation limit (per inviter or per organization) is reached."""


def unique_slug(name: str) -> str:
    """The name's slug; if taken, with a short random suffix: "org-a-2" would tell that "org-a"
    exists (an organization outsiders must not learn of)."""
    base = slugify(name)[:50] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def create_organization(name: str, owner) -> Organization:
    organization = Organization.objects.create(name=name, slug=unique_slug(name))
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    record_event(organization, owner, "organization.created", name)
    return organization


@transaction.atomic
def update_organization(
    organization: Organization, actor, *, name: str, time_zone: str
) -> list[str]:
    """Rename the organization and/or change its time zone, each change an audit event.
    Returns what changed, in words for a message: [], ["name"], ["time zone"] or both."""
    old_name, old_time_zone = organization.name, organization.time_zone
    organization.name, organization.time_zone = name, time_zone
    fields = [
        field
        for field, old in (("name", old_name), ("time_zone", old_time_zone))
        if getattr(organization, field) != old
    ]
    if not fields:
        return []
    organization.clean_fields(exclude=["slug", "created_at"])
    organization.save(update_fields=fields)
    if "time_zone" in fields:
        # Cost rollups are kept per local day: the days move with the zone (same transaction).
        from pixxel_dashboard.costs import rollups  # costs builds on accounts, not back

        rollups.rebuild(organization)
    if "name" in fields:
        record_event(organization, actor, "organization.renamed", name, old_name=old_name)
    if "time_zone" in fields:
        record_event(
            organization,
            actor,
            "organization.time_zone_changed",
            time_zone,
            old_time_zone=old_time_zone,
        )
    return [field.replace("_", " ") for field in fields]


def _check_invitation_rate(organization, invited_by) -> None:
    """Invitations are emails from our address: limit them so they can't be used as a relay."""
    recent = Invitation.objects.filter(created_at__gte=timezone.now() - timedelta(hours=1))
    per_inviter = settings.INVITATIONS_PER_INVITER_PER_HOUR
    if recent.filter(invited_by=invited_by).count() >= per_inviter:
        raise TooManyInvitations(
            f"You have sent {per_inviter} invitations in the last hour, the most allowed. "
            "Try again later."
        )
    per_org = settings.INVITATIONS_PER_ORGANIZATION_PER_HOUR
    if recent.filter(organization=organization).count() >= per_org:
        raise TooManyInvitations(
            f"{organization.name} has sent {per_org} invitations in the last hour, the most "
            "allowed. Try again later."
        )


def invite(organization, email: str, role: str, invited_by, request=None) -> Invitation:
    # The checks and the row in one short transaction; the email is sent after it, so no
    # database lock waits on the mail server. If it cannot be sent, the row is removed again.
    with transaction.atomic():
        if role == Role.OWNER and not _is_owner(organization, invited_by):
            raise MembershipError("Only an owner can invite another owner.")
        if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
            raise MembershipError(f"{email} is already a member of {organization.name}.")
        _check_invitation_rate(organization, invited_by)
        invitation, token = Invitation.issue(organization, email, role, invited_by)
    path = reverse("accept_invitation", args=[token])
    link = request.build_absolute_uri(path) if request else path
    try:
        send_mail(
            # One line whatever was stored before names were validated: a header cannot break.
            subject=f"You are invited to {one_line(organization.name)} on Pixxel Dashboard",
            message=render_to_string(
                "accounts/invitation_email.txt",
                {"organization": organization, "invitation": invitation, "link": link},
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invitation.email],
        )
    except (OSError, ValueError):  # SMTP trouble; a header Django refuses (ValueError)
        # Nothing half-done, and a message instead of a 500.
        invitation.delete()
        logger.exception("could not send the invitation email for %s", organization.slug)
        raise MembershipError(
            "The invitation email could not be sent. Nothing was saved; try again later."
        ) from None
    record_event(organization, invited_by, "invitation.created", invitation.email, role=role)
    return invitation


class InvitationProblem(Exception):
    """Why an invitation link cannot be used; the message is shown to the user."""


def find_invitation(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None or invitation.revoked_at:
        raise InvitationProblem("This invitation link is not valid. Ask for a new invitation.")
    if invitation.accepted_at:
        raise InvitationProblem("This invitation has already been used.")
    if invitation.is_expired:
        raise InvitationProblem("This invitation has expired. Ask an admin to invite you again.")
    return invitation


@transaction.atomic
def accept_invitation(token: str, user) -> Membership:
    invitation = find_invitation(token)
    # Lock the row so two simultaneous accepts cannot both succeed.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_usable:
        raise InvitationProblem("This invitation has already been used.")
    if (user.email or "").lower() != invitation.email.lower():
        raise InvitationProblem(
            f"This invitation was sent to another email address. Sign in as that user, "
            f"or ask for an invitation to {user.email or 'your address'}."
        )
    if not verification.is_verified(user):
        raise InvitationProblem(
            f"Confirm your email address first: open the link we sent to {user.email}, "
            "then accept the invitation."
        )
    membership, created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if created:
        record_event(
            invitation.organization, user, "member.joined", user.email, role=invitation.role
        )
    return membership


def _is_owner(organization, user) -> bool:
    return Membership.objects.filter(organization=organization, user=user, role=Role.OWNER).exists()


def _owner_count(organization) -> int:
    # Locks the owners' rows so two concurrent demotions cannot remove the last two owners.
    return len(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Role.OWNER)
        .values_list("pk", flat=True)
    )


def _check_may_change(actor_membership: Membership, target: Membership):
    if target.role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise MembershipError("Only an owner can change or remove another owner.")


@transaction.atomic
def change_role(actor_membership: Membership, target: Membership, new_role: str) -> Membership:
    organization = actor_membership.organization
    if new_role not in Role.values:
        raise MembershipError("Unknown role.")
    _check_may_change(actor_membership, target)
    if new_role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise MembershipError("Only an owner can make someone an owner.")
    if target.role == Role.OWNER and new_role != Role.OWNER and _owner_count(organization) <= 1:
        raise MembershipError(
            "An organization needs at least one owner: make someone else an owner first."
        )
    old_role = target.role
    target.role = new_role
    target.save(update_fields=["role"])
    _revoke_invitations_beyond_role(actor_membership.user, target, new_role)
    record_event(
        organization,
        actor_membership.user,
        "member.role_changed",
        target.user.email or target.user.username,
        old_role=old_role,
        new_role=new_role,
    )
    return target


@transaction.atomic
def remove_member(actor_membership: Membership, target: Membership) -> None:
    organization = actor_membership.organization
    _check_may_change(actor_membership, target)
    if target.role == Role.OWNER and _owner_count(organization) <= 1:
        raise MembershipError("The last owner cannot be removed: make someone else an owner first.")
    record_event(
        organization,
        actor_membership.user,
        "member.removed",
        target.user.email or target.user.username,
        role=target.role,
    )
    target.delete()
    _revoke_invitations_beyond_role(actor_membership.user, target, None)


def _revoke_invitations_beyond_role(actor, target: Membership, role: str | None) -> None:
    """Pending invitations die with the inviter's power: when removed (role None) or demoted, those
    they could no longer send (any, below admin; an owner's invitation, below owner) are revoked."""
    pending = Invitation.objects.pending().filter(
        organization=target.organization, invited_by=target.user
    )
    if role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role.ADMIN]:
        pending = pending.filter(role=Role.OWNER) if role != Role.OWNER else pending.none()
    for invitation in pending:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record_event(
            target.organization,
            actor,
            "invitation.revoked",
            invitation.email,
            reason="the inviter was removed" if role is None else "the inviter lost the role",
        )


def revoke_invitation(actor_membership: Membership, invitation: Invitation) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_event(
        actor_membership.organization, actor_membership.user, "invitation.revoked", invitation.email
    )
