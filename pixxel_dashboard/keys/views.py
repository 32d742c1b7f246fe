from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.http import HtmxHttpRequest

from . import services
from .forms import ApiKeyForm
from .models import ApiKey

TEMPLATE = "keys/keys.html"


def _context(organization, membership, form=None, **extra):
    keys = ApiKey.objects.filter(organization=organization).select_related("created_by")
    active = next((k for k in keys if k.is_active), None)
    return {
        "organization": organization,
        "membership": membership,
        "active_key": active,
        "revoked_keys": [k for k in keys if not k.is_active] if membership.can_manage else [],
        "form": form or ApiKeyForm(),
        **extra,
    }


@login_required
@require_GET
def api_keys(request: HtmxHttpRequest, org: str):
    organization, membership = get_org_for_user(request, org)
    return render(request, TEMPLATE, _context(organization, membership))


@sensitive_post_parameters("secret")  # error reports (debug page, admin emails) mask it
@sensitive_variables("data")  # and the frame's copy of the cleaned form
@login_required
@require_POST
def add_api_key(request: HtmxHttpRequest, org: str):
    """Add the organization's key; with one already active this is a rotation."""
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    form = ApiKeyForm(request.POST, offer_save_anyway=bool(request.POST.get("save_anyway")))
    if not form.is_valid():
        return render(request, TEMPLATE, _context(organization, membership, form), status=400)
    data = form.cleaned_data
    # Tested before it is stored: a refused key never replaces (revokes) a working one unasked.
    check = services.check_secret(data["secret"])
    if not check.ok and not data.get("save_anyway"):
        form = ApiKeyForm(request.POST, offer_save_anyway=True)
        context = _context(organization, membership, form, refusal=check.message)
        return render(request, TEMPLATE, context, status=400)
    key = services.add_key(organization, request.user, data["label"], data["secret"], check)
    level = messages.SUCCESS if check.ok else messages.WARNING
    messages.add_message(request, level, f"Saved {key.label} ({key.masked}). {check.message}")
    return redirect("api_keys", organization.slug)


@login_required
@require_POST
def test_api_key(request: HtmxHttpRequest, org: str, key_id: int):
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    key = get_object_or_404(ApiKey.objects.active(), pk=key_id, organization=organization)
    check = services.test_key(key, request.user)
    if request.htmx:
        return render(request, TEMPLATE + "#test-result", {"check": check, "active_key": key})
    messages.add_message(request, messages.SUCCESS if check.ok else messages.ERROR, check.message)
    return redirect("api_keys", organization.slug)


@login_required
@require_http_methods(["GET", "POST"])
def revoke_api_key(request: HtmxHttpRequest, org: str, key_id: int):
    """GET asks for confirmation (a page of its own, so it works without JavaScript); POST revokes."""
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    key = get_object_or_404(ApiKey, pk=key_id, organization=organization)
    if request.method == "GET":
        if not key.is_active:
            return redirect("api_keys", organization.slug)
        context = {"organization": organization, "membership": membership, "key": key}
        return render(request, "keys/revoke.html", context)
    services.revoke_key(key, request.user)
    messages.success(
        request,
        f"Revoked {key.label} ({key.masked}). Jobs cannot be submitted until a key is added.",
    )
    return redirect("api_keys", organization.slug)
