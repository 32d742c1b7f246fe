"""The person's notification settings, an owner's organization default, Follow / Unfollow on a
job's page, and the one-click unsubscribe link's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Membership, Role
from pixxel_dashboard.core.http import AuthenticatedHttpRequest, HtmxHttpRequest
from pixxel_dashboard.jobs.models import Job

from . import follow, preferences
from .forms import NotificationSettingsForm, OrganizationDefaultForm
from .models import JobEmails
from .unsubscribe import Expired, Tampered, read_token

SETTINGS_TEMPLATE = "notifications/settings.html"
UNSUBSCRIBE_TEMPLATE = "notifications/unsubscribe.html"


def _memberships(**filters):
    return Membership.objects.filter(**filters).with_job_emails()


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Which job emails the person gets, per organization they belong to."""
    memberships = list(_memberships(user=request.user).order_by("organization__name"))
    request.user_memberships = memberships  # type: ignore[attr-defined]  # the top bar's switcher
    form = NotificationSettingsForm(memberships, request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, SETTINGS_TEMPLATE, {"form": form}, status=400)
        changed = [
            m.organization.name
            for m, choice in form.choices()
            if preferences.set_member_choice(m, choice)
        ]
        if changed:
            messages.success(request, f"Saved your job emails for {', '.join(changed)}.")
        else:
            messages.info(request, "Nothing to save: your choices are as they were.")
        return redirect("notification_settings")
    return render(request, SETTINGS_TEMPLATE, {"form": form})


@login_required
@require_POST
def organization_job_emails(request: AuthenticatedHttpRequest, org: str) -> HttpResponse:
    """The organization's default (owners): what members who have not chosen get."""
    organization, _membership = get_org_for_user(request, org, role=Role.OWNER)
    form = OrganizationDefaultForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the choices for the job emails' default.")
    else:
        choice = form.cleaned_data["job_emails"]
        if preferences.set_organization_default(organization, request.user, choice):
            label = JobEmails(choice).label.lower()
            messages.success(request, f"Members who have not chosen now get: {label}.")
        else:
            messages.info(request, "Nothing to save: the job emails' default is as it was.")
    return redirect("organization_settings", organization.slug)


def _set_following(request: HtmxHttpRequest, org: str, job: str, following: bool):
    organization, _membership = get_org_for_user(request, org)
    job_obj = get_object_or_404(Job, organization=organization, pixxel_id=job)
    job_obj.organization = organization
    (follow.follow if following else follow.unfollow)(job_obj, request.user)
    if request.htmx:
        context = follow.follow_context(job_obj, request.user)
        return render(request, "notifications/_follow.html", context)
    if following:
        messages.success(request, "You follow this job: you get an email when it ends.")
    else:
        messages.info(request, "You no longer follow this job.")
    return redirect(job_obj.get_absolute_url())


@login_required
@require_POST
def follow_job(request: HtmxHttpRequest, org: str, job: str) -> HttpResponse:
    return _set_following(request, org, job, True)


@login_required
@require_POST
def unfollow_job(request: HtmxHttpRequest, org: str, job: str) -> HttpResponse:
    return _set_following(request, org, job, False)


# No login and no CSRF token: mail clients POST here on their own (RFC 8058 one-click), and the
# signed token, not a session, says whose setting changes. GET only shows what a POST would do.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HtmxHttpRequest, token: str) -> HttpResponse:
    try:
        link = read_token(token)
    except Expired:
        return render(request, UNSUBSCRIBE_TEMPLATE, {"problem": "expired"}, status=400)
    except Tampered:
        return render(request, UNSUBSCRIBE_TEMPLATE, {"problem": "tampered"}, status=400)
    membership = _memberships(user_id=link.user_id, organization_id=link.organization_id).first()
    if membership is None:
        return render(request, UNSUBSCRIBE_TEMPLATE, {"problem": "not_a_member"}, status=404)
    context = {
        "organization": membership.organization,
        "ceiling": JobEmails(link.ceiling),
        "current": JobEmails(preferences.effective(membership)),
    }
    if request.method == "POST":
        before, after = preferences.lower_to(membership, link.ceiling)
        context.update(done=True, changed=before != after, current=JobEmails(after))
    return render(request, UNSUBSCRIBE_TEMPLATE, context)
