"""`make run`'s polish: each log line once, the encryption-key warning once, a favicon."""

import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from pixxel_dashboard.keys.crypto import DERIVED_KEY_WARNED
from pixxel_dashboard.keys.models import ApiKey
from tests.test_settings import run_manage

ROOT = Path(__file__).resolve().parent.parent
WARNING = "PIXXEL_DASHBOARD_ENCRYPTION_KEYS is not set"


def manage(*args, **env) -> subprocess.CompletedProcess:
    """manage.py in a process of its own, configured as `make run` configures it (DEBUG on)."""
    return run_manage(*args, **{"DEBUG": "true", DERIVED_KEY_WARNED: "", **env})


def test_djangos_log_records_are_printed_once():
    # The worker's and the web server's "Watching for file changes" came out twice, and every
    # "Not Found" too: Django's own console handler and the root handler both printed them.
    code = "import logging; logging.getLogger('django.utils.autoreload').info('watching once')"
    result = manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("watching once") == 1


def test_the_encryption_key_warning_is_not_repeated_by_make_runs_processes(tmp_path):
    # seed_demo (which reads the demo key) says it; the processes started after it do not.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert manage("migrate", "--noinput", **env).returncode == 0
    seeded = manage("seed_demo", **env)
    assert seeded.returncode == 0, seeded.stderr
    assert WARNING in seeded.stderr
    again = manage("seed_demo", **env)  # the next `make run`: the key exists, still said once
    assert again.stderr.count(WARNING) == 1
    quiet = manage(
        "shell",
        "-c",
        "from pixxel_dashboard.keys.models import ApiKey; ApiKey.objects.get().reveal()",
        PIXXEL_DASHBOARD_DERIVED_KEY_WARNED="1",  # what the Makefile sets for them
        **env,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert WARNING not in quiet.stderr
    makefile = (ROOT / "Makefile").read_text()
    assert "export PIXXEL_DASHBOARD_DERIVED_KEY_WARNED=1" in makefile


@pytest.mark.django_db
def test_seed_demo_replaces_a_demo_key_that_can_no_longer_be_read(settings):
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    ApiKey.objects.update(secret_encrypted="gAAAAA-not-readable")
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    key = ApiKey.objects.active().get()
    assert key.reveal().startswith("sbx_")
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 1


def test_every_page_links_a_favicon_and_favicon_ico_finds_it(client):
    from django.contrib.staticfiles import finders

    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response.url == "/static/img/favicon.svg"
    assert Path(finders.find("img/favicon.svg")).read_text().startswith("<svg")
