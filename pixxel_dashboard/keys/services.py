"""Adding, testing, rotating and revoking an organization's Pixxel API key, and using it."""

import hashlib
import threading
import time
from dataclasses import dataclass

from django.core.signals import setting_changed
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from pixxel_dashboard.accounts.models import record_event
from pixxel_dashboard.pixxel import PixxelClient, PixxelError

from . import crypto
from .errors import KeyUnreadable, NoActiveKey
from .models import ApiKey


@dataclass
class ConnectionCheck:
    ok: bool
    message: str
    project_count: int | None = None


def active_key(organization) -> ApiKey | None:
    return ApiKey.objects.active().filter(organization=organization).first()


@sensitive_variables("secret")  # error reports show frames' local variables
def add_key(
    organization, actor, label: str, secret: str, check: ConnectionCheck | None = None
) -> ApiKey:
    """Store a new key and make it the active one; a previously active key is revoked (rotation).

    `check` is the outcome of `check_secret` the person saw; a failed one means they chose to save
    the key anyway, which the audit log records.
    """
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
        if check is not None:
            _remember(key, check)
        key.save()
        if check is not None and not check.ok:
            record_event(
                organization,
                actor,
                "api_key.saved_despite_failed_test",
                key.label,
                mask=key.masked,
                test_message=check.message[:300],
            )
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


def pixxel_answer(error: PixxelError) -> str:
    """Pixxel's own answer in a few words ("HTTP 403 · invalid API key"), or what went wrong
    when it gave none (no answer, a timeout)."""
    if error.status is None:
        return error.user_message
    said = (error.message or error.code or "").strip().rstrip(".")[:200]
    return f"HTTP {error.status}" + (f" · {said}" if said else "")


@sensitive_variables("secret")
def check_secret(secret: str) -> ConnectionCheck:
    """Ping Pixxel and list projects with a key, stored or not yet."""
    try:
        with PixxelClient(secret) as client:
            client.ping()
            _projects, count = client.list_projects(page_num=1, page_size=1)
    except PixxelError as exc:
        if exc.status is None:
            return ConnectionCheck(False, f"No answer from Pixxel: {exc.user_message}")
        return ConnectionCheck(False, f"Pixxel rejected the key: {pixxel_answer(exc)}.")
    return ConnectionCheck(
        True,
        f"Connected to Pixxel: the key works and sees {count} project{'s' if count != 1 else ''}.",
        count,
    )


def _remember(key: ApiKey, check: ConnectionCheck) -> list[str]:
    """Note a check's outcome on the key; the fields to save."""
    now = timezone.now()
    key.last_verified_at = now
    key.last_verification_ok = check.ok
    key.last_verification_message = check.message[:300]
    fields = ["last_verified_at", "last_verification_ok", "last_verification_message"]
    if check.ok:
        key.last_used_at = now
        fields.append("last_used_at")
    return fields


def test_key(key: ApiKey, actor) -> ConnectionCheck:
    """Test a stored key against Pixxel; remember and audit the outcome."""
    try:
        check = check_secret(key.reveal())
    except KeyUnreadable as exc:
        check = ConnectionCheck(False, exc.user_message)
    key.save(update_fields=_remember(key, check))
    record_event(key.organization, actor, "api_key.tested", key.label, mask=key.masked, ok=check.ok)
    return check


def client_for_organization(organization) -> tuple[PixxelClient, ApiKey]:
    """A Pixxel client on the organization's active key. Raises a KeyProblem (none, or unreadable)."""
    key = active_key(organization)
    if key is None:
        raise NoActiveKey()
    client = PixxelClient(key.reveal())
    _note_used_by(key)
    return client, key


def _note_used_by(key: ApiKey) -> None:
    """`last_used_at`, as the worker writes it, at most once a minute; told from the row just
    read, so every web process agrees (a submission spares a commit, ~4 ms on PostgreSQL)."""
    now = timezone.now()
    if key.last_used_at and (now - key.last_used_at).total_seconds() < LAST_USED_EVERY_SECONDS:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


# `last_used_at` says roughly when a key last worked for us: a worker syncing hundreds of jobs a
# second writes it at most once a minute per key, not once per sync.
LAST_USED_EVERY_SECONDS = 60.0
_last_noted: dict[int, float] = {}
_last_noted_lock = threading.Lock()


def _note_used(key_id: int) -> None:
    now = time.monotonic()
    with _last_noted_lock:
        due = now - _last_noted.get(key_id, -LAST_USED_EVERY_SECONDS) >= LAST_USED_EVERY_SECONDS
        if due:
            _last_noted[key_id] = now
    if due:
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


def active_key_columns(organization_field: str = "organization") -> dict:
    """Annotations that load an organization's active key (id, ciphertext) with another row, for
    `client_for_stored_key`: the background sync reads its job and its key in one statement."""
    from django.db.models import OuterRef, Subquery

    active = ApiKey.objects.active().filter(organization=OuterRef(organization_field))
    return {
        "active_key_id": Subquery(active.values("pk")[:1]),
        "active_key_secret": Subquery(active.values("secret_encrypted")[:1]),
    }


# The worker keeps one client per key, so its syncs reuse Pixxel's connection (no TCP and TLS
# handshake per sync) and decrypt the key once. Keyed by the key's row *and* ciphertext: a rotated
# or re-entered key is a new client, the old one closed. Per thread: a requests.Session is not
# shared between threads. Renewed every few minutes, and dropped when settings change (tests).
CLIENT_REUSE_SECONDS = 300.0
_kept = threading.local()


def _drop_kept_client(**_kwargs) -> None:
    kept = getattr(_kept, "client", None)
    _kept.client = None
    if kept is not None:
        kept[1].close()


def client_for_stored_key(key_id: int | None, secret_encrypted: str | None) -> PixxelClient:
    """A client on a key loaded by `active_key_columns`, kept open for this thread's next syncs:
    the caller must not close it. Raises a KeyProblem (none, or unreadable)."""
    if key_id is None or secret_encrypted is None:
        raise NoActiveKey()
    identity = (key_id, hashlib.sha256(secret_encrypted.encode()).hexdigest())
    kept = getattr(_kept, "client", None)
    if kept is not None and kept[0] == identity and time.monotonic() < kept[2]:
        client = kept[1]
    else:
        client = PixxelClient(crypto.decrypt(secret_encrypted))
        _drop_kept_client()
        _kept.client = (identity, client, time.monotonic() + CLIENT_REUSE_SECONDS)
    _note_used(key_id)
    return client


setting_changed.connect(_drop_kept_client)
