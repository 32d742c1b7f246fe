from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.http import HtmxHttpRequest

from . import delivery, services
from .forms import EndpointForm
from .models import Attempt, Delivery, Endpoint

LIST_TEMPLATE = "webhooks/webhooks.html"
DETAIL_TEMPLATE = "webhooks/webhook.html"
# The deliveries a webhook's page shows, newest first.
RECENT_DELIVERIES = 25


def _endpoint_for(request, org: str, endpoint_id: int):
    """Owners and admins only; another organization's webhook is a 404 like its organization."""
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    endpoint = get_object_or_404(
        Endpoint.objects.select_related("created_by"), pk=endpoint_id, organization=organization
    )
    endpoint.organization = organization
    return organization, membership, endpoint


def _list_context(organization, membership, form=None):
    endpoints = Endpoint.objects.filter(organization=organization).annotate(
        last_delivery_at=Max("deliveries__created_at")
    )
    return {
        "organization": organization,
        "membership": membership,
        "endpoints": endpoints,
        "form": form or EndpointForm(),
    }


def _detail_context(organization, membership, endpoint, **extra):
    deliveries = Delivery.objects.filter(endpoint=endpoint).prefetch_related(
        Prefetch("attempts", queryset=Attempt.objects.order_by("-started_at", "-id"))
    )[:RECENT_DELIVERIES]
    previous_signs = endpoint.previous_secret_signs(delivery.clock.now())
    return {
        "organization": organization,
        "membership": membership,
        "endpoint": endpoint,
        "deliveries": deliveries,
        "previous_until": endpoint.previous_secret_until if previous_signs else None,
        **extra,
    }


@login_required
@require_GET
def webhooks(request: HtmxHttpRequest, org: str):
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    return render(request, LIST_TEMPLATE, _list_context(organization, membership))


@sensitive_variables("secret")
@login_required
@require_POST
def add_webhook(request: HtmxHttpRequest, org: str):
    """Create it and show its secret, once: this answer is the only page that ever holds it (no
    redirect, so the secret is never stored to be shown later)."""
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        context = _list_context(organization, membership, form)
        return render(request, LIST_TEMPLATE, context, status=400)
    data = form.cleaned_data
    endpoint, secret = services.create_endpoint(
        organization, request.user, data["url"], data["description"], data["events"]
    )
    context = _detail_context(organization, membership, endpoint, new_secret=secret)
    return render(request, DETAIL_TEMPLATE, context, status=201)


@login_required
@require_GET
def webhook_detail(request: HtmxHttpRequest, org: str, endpoint_id: int):
    organization, membership, endpoint = _endpoint_for(request, org, endpoint_id)
    return render(request, DETAIL_TEMPLATE, _detail_context(organization, membership, endpoint))


@login_required
@require_POST
def set_webhook_enabled(request: HtmxHttpRequest, org: str, endpoint_id: int):
    organization, membership, endpoint = _endpoint_for(request, org, endpoint_id)
    enabled = request.POST.get("enabled") == "true"
    services.set_enabled(endpoint, request.user, enabled)
    messages.success(request, f"{'Enabled' if enabled else 'Disabled'} the webhook.")
    return redirect("webhook_detail", organization.slug, endpoint.pk)


@sensitive_variables("secret")
@login_required
@require_POST
def rotate_webhook_secret(request: HtmxHttpRequest, org: str, endpoint_id: int):
    """A new secret, shown once on this answer (no redirect), like a new webhook's."""
    organization, membership, endpoint = _endpoint_for(request, org, endpoint_id)
    secret = services.rotate_secret(endpoint, request.user)
    context = _detail_context(organization, membership, endpoint, new_secret=secret, rotated=True)
    return render(request, DETAIL_TEMPLATE, context)


@login_required
@require_POST
def send_test_event(request: HtmxHttpRequest, org: str, endpoint_id: int):
    organization, membership, endpoint = _endpoint_for(request, org, endpoint_id)
    if not endpoint.is_active:
        messages.error(request, "The webhook is disabled: enable it to send a test event.")
    else:
        delivery.send_test_event(endpoint)
        messages.success(
            request, "A test event is queued: the task worker sends it within seconds."
        )
    return redirect("webhook_detail", organization.slug, endpoint.pk)


@login_required
@require_POST
def redeliver(request: HtmxHttpRequest, org: str, endpoint_id: int, delivery_id: int):
    organization, membership, endpoint = _endpoint_for(request, org, endpoint_id)
    owed = get_object_or_404(Delivery, pk=delivery_id, endpoint=endpoint)
    if not endpoint.is_active:
        messages.error(request, "The webhook is disabled: enable it to redeliver.")
    else:
        delivery.redeliver(owed)
        messages.success(request, f"Delivery {owed.public_id} is queued to be sent again.")
    return redirect("webhook_detail", organization.slug, endpoint.pk)


@login_required
@require_http_methods(["GET", "POST"])
def delete_webhook(request: HtmxHttpRequest, org: str, endpoint_id: int):
    """GET asks for confirmation (a page of its own, so it works without JavaScript)."""
    organization, membership, endpoint = _endpoint_for(request, org, endpoint_id)
    if request.method == "GET":
        context = {"organization": organization, "membership": membership, "endpoint": endpoint}
        return render(request, "webhooks/delete.html", context)
    services.delete_endpoint(endpoint, request.user)
    messages.success(request, f"Deleted the webhook {endpoint.url}.")
    return redirect("webhooks", organization.slug)
