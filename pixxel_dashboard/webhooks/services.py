"""Managing an organization's webhook endpoints (the views call these; each change is audited)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
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


# How long the secret a rotation replaced keeps signing beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)


@sensitive_variables("secret")
def rotate_secret(endpoint: Endpoint, user) -> str:
    """A new signing secret, shown once by the caller; the current one becomes the previous one
    and signs too for ROTATION_OVERLAP (one rotated earlier than that stops signing now)."""
    secret = delivery.new_secret()
    with transaction.atomic():
        # Both right-hand sides read the row as it was: the old secret moves, the new one lands.
        Endpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_encrypted=F("secret_encrypted"),
            previous_secret_until=delivery.clock.now() + ROTATION_OVERLAP,
            secret_encrypted=crypto.encrypt(secret),
            last4=secret[-4:],
        )
        record_event(endpoint.organization, user, "webhook.secret_rotated", endpoint.url)
    endpoint.refresh_from_db()
    return secret


def set_enabled(endpoint: Endpoint, user, enabled: bool) -> None:
    with transaction.atomic():
        if enabled:
            # A fresh start: its failures so far no longer count toward disabling it, and what
            # it was still owed when it stopped is sent now (each with a new 24-hour series).
            # Only if it was off: enabling it again (a second click, a stale tab) changes nothing.
            if not Endpoint.objects.filter(pk=endpoint.pk, is_active=False).update(
                is_active=True, disabled_at=None, disabled_reason="", failing_since=None
            ):
                return
            delivery.resume_pending(endpoint)
        else:
            Endpoint.objects.filter(pk=endpoint.pk).update(
                is_active=False,
                disabled_at=timezone.now(),
                disabled_reason=f"Disabled by {user.get_username()}.",
            )
        action = "webhook.enabled" if enabled else "webhook.disabled"
        record_event(endpoint.organization, user, action, endpoint.url)


def forget_previous_secrets() -> int:
    """Drop the secrets rotations replaced whose day of signing is over (the daily prune, and
    before re-encrypting): they sign nothing and need not be kept, even encrypted."""
    return Endpoint.objects.filter(previous_secret_until__lte=delivery.clock.now()).update(
        previous_secret_encrypted="", previous_secret_until=None
    )


def delete_endpoint(endpoint: Endpoint, user) -> None:
    with transaction.atomic():
        record_event(endpoint.organization, user, "webhook.deleted", endpoint.url)
        endpoint.delete()
