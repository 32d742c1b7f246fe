"""Adding, testing, rotating and revoking an organization's Pixxel API key, and using it."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from pixxel_dashboard.accounts.models import record_event
from pixxel_dashboard.pixxel import PixxelClient, PixxelError

from .crypto import KeyUnreadable
from .models import ApiKey


class NoActiveKey(Exception):
    user_message = (
        "This organization has no Pixxel API key yet. An owner or admin can add one in "
        "Settings → API keys."
    )

    def __str__(self):
        return self.user_message


def active_key(organization) -> ApiKey | None:
    return ApiKey.objects.active().filter(organization=organization).first()


@sensitive_variables("secret")  # error reports show frames' local variables
def add_key(organization, actor, label: str, secret: str) -> ApiKey:
    """Store a new key and make it the active one; a previously active key is revoked (rotation)."""
    # A `with` block, not the @atomic decorator: its wrapper frame would show `secret` in reports.
    with transaction.atomic():
        previous = (
            ApiKey.objects.select_for_update().active().filter(organization=organization).first()
        )
        if previous:
            previous.revoked_at = timezone.now()
            previous.save(update_fields=["revoked_at"])
        key = ApiKey(organization=organization, label=label, created_by=actor)
        key.set_secret(secret)
        key.save()
        if previous:
            record_event(
                organization,
                actor,
                "api_key.rotated",
                key.label,
                mask=key.masked,
                replaced_label=previous.label,
                replaced_mask=previous.masked,
            )
        else:
            record_event(organization, actor, "api_key.added", key.label, mask=key.masked)
    return key


def revoke_key(key: ApiKey, actor) -> None:
    if key.revoked_at:
        return
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    record_event(key.organization, actor, "api_key.revoked", key.label, mask=key.masked)


@dataclass
class ConnectionCheck:
    ok: bool
    message: str
    project_count: int | None = None


def test_key(key: ApiKey, actor) -> ConnectionCheck:
    """Ping Pixxel and list projects with the key; remember and audit the outcome."""
    try:
        client = PixxelClient(key.reveal())
        client.ping()
        _projects, count = client.list_projects(page_num=1, page_size=1)
    except KeyUnreadable as exc:
        check = ConnectionCheck(False, exc.user_message)
    except PixxelError as exc:
        check = ConnectionCheck(False, exc.user_message)
    else:
        check = ConnectionCheck(
            True,
            f"Connected to Pixxel: the key works and sees {count} project{'s' if count != 1 else ''}.",
            count,
        )
    now = timezone.now()
    key.last_verified_at = now
    key.last_verification_ok = check.ok
    key.last_verification_message = check.message[:300]
    fields = ["last_verified_at", "last_verification_ok", "last_verification_message"]
    if check.ok:
        key.last_used_at = now
        fields.append("last_used_at")
    key.save(update_fields=fields)
    record_event(key.organization, actor, "api_key.tested", key.label, mask=key.masked, ok=check.ok)
    return check


def client_for_organization(organization) -> tuple[PixxelClient, ApiKey]:
    """A Pixxel client on the organization's active key. Raises NoActiveKey or KeyUnreadable."""
    key = active_key(organization)
    if key is None:
        raise NoActiveKey()
    client = PixxelClient(key.reveal())
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return client, key
