"""Guessing passwords is throttled (django-axes): our login page and the admin's."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from pixxel_dashboard.accounts.throttle import client_ip
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def attempt(client, url, username, password="wrong password", address="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_repeated_failures_for_a_username_lock_it_out_with_a_clear_429(client, alice, caplog):
    for _ in range(2):
        assert attempt(client, LOGIN, "alice").status_code == 200
    with caplog.at_level(logging.WARNING):
        locked = attempt(client, LOGIN, "alice")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed logins" in page and "Try again in 15 minutes" in page
    assert any("locked out" in r.getMessage() and "alice" in r.getMessage() for r in caplog.records)
    # Even the right password is refused now, from another address too.
    right = attempt(client, LOGIN, "alice", PASSWORD, address="10.0.0.2")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_repeated_failures_from_an_address_lock_it_out(client, alice, bob):
    for name in ("mallory", "eve"):
        attempt(client, LOGIN, name, address="10.9.9.9")
    assert attempt(client, LOGIN, "trudy", address="10.9.9.9").status_code == 429
    assert attempt(client, LOGIN, "bob", PASSWORD, address="10.9.9.9").status_code == 429
    # Someone else, elsewhere, logs in as usual.
    assert attempt(client, LOGIN, "bob", PASSWORD, address="10.0.0.7").status_code == 302


def test_the_admin_login_is_throttled_too(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    for _ in range(2):
        assert attempt(client, ADMIN_LOGIN, "root").status_code == 200
    assert attempt(client, ADMIN_LOGIN, "root").status_code == 429
    assert attempt(client, ADMIN_LOGIN, "root", PASSWORD, address="10.0.0.3").status_code == 429


def test_a_success_resets_the_count(client, alice):
    for _ in range(2):
        attempt(client, LOGIN, "alice")
    assert attempt(client, LOGIN, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert attempt(client, LOGIN, "alice").status_code == 200


def test_behind_a_proxy_the_forwarded_client_address_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    # The left part was written by the client and is not trusted.
    assert client_ip(request) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.254"


def test_in_production_a_forwarded_address_is_not_trusted_unless_a_proxy_is_declared():
    from tests.test_settings import PRODUCTION, run_manage

    show = "from django.conf import settings; print(settings.TRUSTED_PROXY_COUNT)"
    result = run_manage("shell", "-c", show, **{**PRODUCTION, "DEBUG": None})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0"


def test_an_empty_hop_in_the_forwarded_header_is_not_taken_for_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="6.6.6.6, ")
    assert client_ip(request) == "6.6.6.6"
