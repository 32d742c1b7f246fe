"""Encryption of stored Pixxel API keys with MultiFernet.

PIXXEL_DASHBOARD_ENCRYPTION_KEYS lists Fernet keys: the first encrypts, every one decrypts, so an
operator rotates by putting a new key first, running `manage.py reencrypt_api_keys`, then dropping
the old one. Without the setting (local use only; production refuses to start) one key is derived
from SECRET_KEY.
"""

import base64
import hashlib
import logging
import os
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from .errors import KeyUnreadable

logger = logging.getLogger(__name__)


def _derived_key() -> bytes:
    digest = hashlib.sha256(b"pixxel-dashboard api keys|" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


# Set once the warning below has been given: processes started from then on (runserver's reloaded
# child, and `make run`'s web server, worker and sandbox) inherit it and stay quiet.
DERIVED_KEY_WARNED = "PIXXEL_DASHBOARD_DERIVED_KEY_WARNED"


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        if not os.environ.get(DERIVED_KEY_WARNED):
            logger.warning(
                "PIXXEL_DASHBOARD_ENCRYPTION_KEYS is not set: API keys are encrypted with a key "
                "derived from SECRET_KEY. Set it before storing real keys (see README)."
            )
            os.environ[DERIVED_KEY_WARNED] = "1"
        return MultiFernet([Fernet(_derived_key())])
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    # Keyed on the setting's value so tests (and a reloaded setting) get the right keys.
    return _fernet_for(tuple(settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS))


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise KeyUnreadable() from None


def reencrypt(token: str) -> str:
    """The same secret, encrypted under the first (current) encryption key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise KeyUnreadable() from None


def reencrypt_rows(rows, describe, fields=("secret_encrypted",)) -> tuple[int, list[str]]:
    """Re-encrypt the encrypted `fields` (the non-empty ones) of every row of the queryset under
    the first key, locked and in one transaction (a rotation's step 2); returns how many rows, and
    `describe(row)` of each row no configured key can read."""
    done, unreadable = 0, []
    with transaction.atomic():
        for row in rows.select_for_update():
            try:
                for field in fields:
                    if value := getattr(row, field):
                        setattr(row, field, reencrypt(value))
            except KeyUnreadable:
                unreadable.append(describe(row))
                continue
            row.save(update_fields=list(fields))
            done += 1
    return done, unreadable
