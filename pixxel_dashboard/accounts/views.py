from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from pixxel_dashboard.core.http import AuthenticatedHttpRequest, HtmxHttpRequest

from . import services, verification
from .access import current_membership, get_org_for_user
from .forms import (
    InviteForm,
    OrganizationForm,
    OrganizationSettingsForm,
    RoleForm,
    SignupForm,
)
from .models import AuditEvent, Invitation, Membership, Role


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return None


@require_GET
def home(request: HtmxHttpRequest):
    if not request.user.is_authenticated:
        return redirect("login")
    membership = current_membership(request)
    if membership is None:
        return redirect("create_organization")
    return redirect("job_list", membership.organization.slug)


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        verification.start(request, user, _safe_next(request))
        messages.success(
            request,
            f"Welcome, {user.username}. We sent a link to {user.email}: open it to confirm "
            "your email address (needed to accept invitations).",
        )
        return redirect(_safe_next(request) or reverse("create_organization"))
    return render(request, "accounts/signup.html", {"form": form, "next": _safe_next(request)})


@login_required
@require_http_methods(["GET", "POST"])
def create_organization(request: HtmxHttpRequest):
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.create_organization(form.cleaned_data["name"], request.user)
        messages.success(request, f"Created {organization.name}. You are its owner.")
        return redirect("org_home", organization.slug)
    return render(request, "accounts/create_organization.html", {"form": form})


@login_required
@require_GET
def org_home(request: HtmxHttpRequest, org: str):
    """An organization's front page is its job history."""
    organization, _membership = get_org_for_user(request, org)
    return redirect("job_list", organization.slug)


@login_required
@require_http_methods(["GET", "POST"])
def organization_settings(request: HtmxHttpRequest, org: str):
    """The organization's name and time zone (owners and admins)."""
    organization, _membership = get_org_for_user(request, org, role=Role.ADMIN)
    initial = {"name": organization.name, "time_zone": organization.time_zone}
    form = OrganizationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not form.is_valid():
            context = {"organization": organization, "form": form}
            return render(request, "accounts/organization_settings.html", context, status=400)
        changed = services.update_organization(
            organization,
            request.user,
            name=form.cleaned_data["name"],
            time_zone=form.cleaned_data["time_zone"],
        )
        if changed:
            messages.success(
                request,
                f"Saved the {' and '.join(changed)}. Times are shown in {organization.time_zone}.",
            )
        else:
            messages.info(request, "Nothing to save: the name and time zone are as they were.")
        return redirect("organization_settings", organization.slug)
    return render(
        request, "accounts/organization_settings.html", {"organization": organization, "form": form}
    )


@login_required
@require_GET
def members(request: HtmxHttpRequest, org: str):
    organization, membership = get_org_for_user(request, org)
    return _render_members(request, organization, membership, InviteForm())


def _render_members(request, organization, membership, invite_form, status=200):
    context = {
        "organization": organization,
        "membership": membership,
        "memberships": organization.memberships.select_related("user").order_by("user__username"),
        "invitations": organization.invitations.pending().select_related("invited_by")
        if membership.can_manage
        else [],
        "invite_form": invite_form,
        "roles": Role.choices,
        "events": AuditEvent.objects.filter(organization=organization).select_related("actor")[:20]
        if membership.can_manage
        else [],
    }
    return render(request, "accounts/members.html", context, status=status)


@login_required
@require_POST
def invite_member(request: HtmxHttpRequest, org: str):
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invite(
                organization,
                form.cleaned_data["email"],
                form.cleaned_data["role"],
                request.user,
                request=request,
            )
        except services.MembershipError as exc:
            form.add_error(None, str(exc))
            if isinstance(exc, services.TooManyInvitations):
                return _render_members(request, organization, membership, form, status=429)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("members", organization.slug)
    return _render_members(request, organization, membership, form, status=400)


@login_required
@require_POST
def change_member_role(request: HtmxHttpRequest, org: str, member_id: int):
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    target = get_object_or_404(Membership, pk=member_id, organization=organization)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
    else:
        try:
            services.change_role(membership, target, form.cleaned_data["role"])
        except services.MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"{target.user.username} is now {target.get_role_display().lower()}."
            )
    return redirect("members", organization.slug)


@login_required
@require_POST
def remove_member(request: HtmxHttpRequest, org: str, member_id: int):
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    target = get_object_or_404(Membership, pk=member_id, organization=organization)
    try:
        services.remove_member(membership, target)
    except services.MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Removed {target.user.username} from {organization.name}.")
    return redirect("members", organization.slug)


@login_required
@require_POST
def revoke_invitation(request: HtmxHttpRequest, org: str, invitation_id: int):
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    invitation = get_object_or_404(Invitation, pk=invitation_id, organization=organization)
    services.revoke_invitation(membership, invitation)
    messages.success(request, f"Revoked the invitation of {invitation.email}.")
    return redirect("members", organization.slug)


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HtmxHttpRequest, token: str):
    try:
        invitation = services.find_invitation(token)
    except services.InvitationProblem as exc:
        return render(request, "accounts/invitation.html", {"problem": str(exc)}, status=410)
    if not request.user.is_authenticated:
        # Both paths come back here afterwards.
        return render(request, "accounts/invitation.html", {"invitation": invitation})
    if not verification.is_verified(request.user):
        return render(
            request,
            "accounts/invitation.html",
            {"invitation": invitation, "unverified": True},
            status=403 if request.method == "POST" else 200,
        )
    if request.method == "POST":
        try:
            membership = services.accept_invitation(token, request.user)
        except services.InvitationProblem as exc:
            return render(
                request,
                "accounts/invitation.html",
                {"invitation": invitation, "problem": str(exc)},
                status=403,
            )
        messages.success(request, f"You joined {membership.organization.name}.")
        url = reverse("org_home", args=[membership.organization.slug])
        if request.htmx:
            return HttpResponseClientRedirect(url)
        return redirect(url)
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@require_http_methods(["GET", "POST"])
def verify_email(request: HtmxHttpRequest, uidb64: str, token: str):
    """The link from the sign-up email: a GET shows a button, the POST confirms (GETs never write)."""
    user = verification.user_for_link(uidb64, token)
    if user is None:
        return render(request, "accounts/verify_email.html", {"valid": False}, status=410)
    if request.method == "POST":
        verification.confirm(user)
        messages.success(request, f"Thank you: {user.email} is confirmed.")
        return redirect(_safe_next(request) or reverse("home"))
    return render(
        request,
        "accounts/verify_email.html",
        {"valid": True, "email": user.email, "next": _safe_next(request)},
    )


@login_required
@require_POST
def resend_verification(request: AuthenticatedHttpRequest):
    if verification.resend(request, request.user):
        messages.success(request, f"We sent the link again to {request.user.email}.")
    else:
        messages.info(request, "The link was sent less than a minute ago: check your inbox.")
    return redirect(_safe_next(request) or reverse("home"))
