import tomllib
from pathlib import Path

from django.db import DatabaseError

# The release as pyproject.toml states it: the one place it is written.
VERSION = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())[
    "project"
]["version"]


def test_it_answers_ok_when_the_database_is_reachable(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": VERSION}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_database_is_unreachable(client, db, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    # Undone before teardown, which needs the real cursor to roll back.
    with monkeypatch.context() as patched:
        patched.setattr("pixxel_dashboard.core.views.connection.cursor", broken_cursor)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable", "version": VERSION}


def test_it_needs_no_login(client, db):
    assert client.get("/healthz").status_code == 200


def test_every_page_footer_names_the_release(client, db):
    footer = client.get("/accounts/login/").content.decode().split('<footer class="footer">')[1]
    assert f"Pixxel Dashboard {VERSION}</span>" in footer
