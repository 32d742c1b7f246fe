"""Safe defaults: DEBUG is off unless set; a signed-in person's pages are never cached."""

import pytest

from tests.test_settings import PRODUCTION, run_manage


def test_debug_is_off_unless_set_so_a_bare_start_asks_for_secrets():
    result = run_manage("check", DEBUG=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert "For local development set DEBUG=true" in result.stderr


def test_with_only_production_secrets_and_no_debug_it_starts_in_production_mode():
    env = {**PRODUCTION, "DEBUG": None}
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", **env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_the_deploy_check_stays_clean_with_debug_unset():
    env = {**PRODUCTION, "DEBUG": None}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("url", ["/o/acme/jobs/", "/o/acme/settings/members/", "/o/acme/jobs/new/"])
def test_authenticated_pages_are_private_and_not_stored(client_for, alice, url):
    response = client_for(alice).get(url)
    assert response.status_code == 200
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
