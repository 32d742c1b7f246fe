"""Stored keys under encryption-key rotation, and when the encryption key is lost."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from pixxel_dashboard.keys import services
from pixxel_dashboard.keys.crypto import KeyUnreadable
from pixxel_dashboard.keys.models import ApiKey

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_the_secret_is_stored_encrypted(acme, alice, settings):
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [OLD]
    key = services.add_key(acme, alice, "Prod", "sbx_stored_encrypted_secret")
    stored = ApiKey.objects.values_list("secret_encrypted", flat=True).get(pk=key.pk)
    assert "sbx_stored_encrypted_secret" not in stored
    assert Fernet(OLD.encode()).decrypt(stored.encode()) == b"sbx_stored_encrypted_secret"


def test_rotating_the_encryption_key_keeps_every_api_key_usable(acme, globex, alice, settings):
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [OLD]
    first = services.add_key(acme, alice, "Acme", "sbx_acme_secret_value")
    second = services.add_key(globex, alice, "Globex", "sbx_globex_secret_value")

    # Step 1: the new key first, the old one still listed: everything still decrypts.
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [NEW, OLD]
    assert ApiKey.objects.get(pk=first.pk).reveal() == "sbx_acme_secret_value"
    # Step 2: re-encrypt under the new key.
    out = io.StringIO()
    call_command("reencrypt_api_keys", stdout=out)
    assert "Re-encrypted 2 API keys." in out.getvalue()
    # Step 3: drop the old key: still usable.
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [NEW]
    assert ApiKey.objects.get(pk=first.pk).reveal() == "sbx_acme_secret_value"
    assert ApiKey.objects.get(pk=second.pk).reveal() == "sbx_globex_secret_value"


def test_a_lost_encryption_key_gives_a_clear_message_not_a_500(client_for, acme, alice, settings):
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [OLD]
    key = services.add_key(acme, alice, "Prod", "sbx_will_become_unreadable")
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(KeyUnreadable):
        ApiKey.objects.get(pk=key.pk).reveal()
    response = client_for(alice).post(
        f"/o/acme/settings/keys/{key.pk}/test/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "re-enter the API key" in response.content.decode()
    with pytest.raises(KeyUnreadable, match="re-enter the API key"):
        services.client_for_organization(acme)


def test_reencrypt_names_the_keys_it_cannot_read(acme, alice, settings):
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [OLD]
    services.add_key(acme, alice, "Lost", "sbx_lost_forever_secret")
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError, match=r"acme: Lost \(••••cret\)"):
        call_command("reencrypt_api_keys", stdout=io.StringIO())


def test_without_encryption_keys_one_is_derived_locally_with_a_warning(
    acme, alice, settings, caplog, monkeypatch
):
    from pixxel_dashboard.keys import crypto

    crypto._fernet_for.cache_clear()
    monkeypatch.setenv(crypto.DERIVED_KEY_WARNED, "")  # not said yet in this process tree
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = []
    key = services.add_key(acme, alice, "Local", "sbx_derived_key_secret")
    assert key.reveal() == "sbx_derived_key_secret"
    assert "PIXXEL_DASHBOARD_ENCRYPTION_KEYS is not set" in caplog.text


def test_the_derived_key_warning_is_given_once_for_a_process_and_its_children(
    settings, caplog, monkeypatch
):
    import subprocess
    import sys

    from pixxel_dashboard.keys import crypto

    monkeypatch.setenv(crypto.DERIVED_KEY_WARNED, "")
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = []
    crypto._fernet_for.cache_clear()
    crypto.encrypt("sbx_first")
    crypto._fernet_for.cache_clear()  # as after a settings reload
    crypto.encrypt("sbx_second")
    assert caplog.text.count("PIXXEL_DASHBOARD_ENCRYPTION_KEYS is not set") == 1
    # A process started from here (runserver's reloaded child) inherits the "said" mark.
    child = subprocess.run(
        [sys.executable, "-c", f"import os; print(os.environ['{crypto.DERIVED_KEY_WARNED}'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "1"
