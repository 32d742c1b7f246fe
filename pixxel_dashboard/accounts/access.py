"""The one way org-scoped views reach an organization.

Like healthchecks' `_get_project_for_user`: a non-member gets 404 (they cannot learn the organization
exists), a member without the required role gets 403.
"""

from zoneinfo import ZoneInfoNotFoundError

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone

from .models import Membership, Organization, Role

CURRENT_ORG_SESSION_KEY = "current_org"


def get_org_for_user(
    request: HttpRequest, slug: str, role: str = Role.VIEWER
) -> tuple[Organization, Membership]:
    if not request.user.is_authenticated:
        raise Http404("Organization not found")
    # All of the user's memberships in one query: the organization switcher lists them anyway.
    memberships = list(
        Membership.objects.select_related("organization")
        .filter(user=request.user)
        .order_by("organization__name")
    )
    request.user_memberships = memberships  # type: ignore[attr-defined]
    membership = next((m for m in memberships if m.organization.slug == slug), None)
    if membership is None:
        raise Http404("Organization not found")
    if not membership.has_role(role):
        raise PermissionDenied("Your role in this organization does not allow this.")
    # The organization a user last worked in is "current": `/` and the switcher follow it.
    if request.session.get(CURRENT_ORG_SESSION_KEY) != slug:
        request.session[CURRENT_ORG_SESSION_KEY] = slug
    # Its pages show times in its zone (core's middleware deactivates it when the response is done).
    try:
        timezone.activate(membership.organization.time_zone)
    except (ZoneInfoNotFoundError, ValueError):  # unknown to this server: the page still works
        timezone.deactivate()
    # For the context processor (the organization switcher); HttpRequest's stubs do not declare them.
    request.organization = membership.organization  # type: ignore[attr-defined]
    request.membership = membership  # type: ignore[attr-defined]
    return membership.organization, membership


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the user's current organization, falling back to their first one."""
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("organization").filter(user=request.user)
    slug = request.session.get(CURRENT_ORG_SESSION_KEY)
    if slug:
        chosen = memberships.filter(organization__slug=slug).first()
        if chosen:
            return chosen
    return memberships.order_by("created_at").first()
