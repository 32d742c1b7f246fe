"""Managing an organization's webhook endpoints (the views call these; each change is audited)."""

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from pixxel_dashboard.accounts.models import record_event
from pixxel_dashboard.keys import crypto

from . import delivery
from .models import Endpoint


@sensitive_variables("secret")
def create_endpoint(organization, user, url: str, description: str, events: list[str]):
    """The new endpoint and its secret: the only time the secret exists in plaintext outside the
    worker; the caller shows it once."""
    secret = delivery.new_secret()
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            organization=organization,
            url=url,
            description=description,
            events=events,
            secret_encrypted=crypto.encrypt(secret),
            last4=secret[-4:],
            created_by=user,
        )
        record_event(organization, user, "webhook.created", endpoint.url, events=events)
    return endpoint, secret


def set_enabled(endpoint: Endpoint, user, enabled: bool) -> None:
    with transaction.atomic():
        if enabled:
            # A fresh start: its failures so far no longer count toward disabling it, and what
            # it was still owed when it stopped is sent now (each with a new 24-hour series).
            Endpoint.objects.filter(pk=endpoint.pk).update(
                is_active=True, disabled_at=None, disabled_reason="", failing_since=None
            )
            delivery.resume_pending(endpoint)
        else:
            Endpoint.objects.filter(pk=endpoint.pk).update(
                is_active=False,
                disabled_at=timezone.now(),
                disabled_reason=f"Disabled by {user.get_username()}.",
            )
        action = "webhook.enabled" if enabled else "webhook.disabled"
        record_event(endpoint.organization, user, action, endpoint.url)


def delete_endpoint(endpoint: Endpoint, user) -> None:
    with transaction.atomic():
        record_event(endpoint.organization, user, "webhook.deleted", endpoint.url)
        endpoint.delete()
