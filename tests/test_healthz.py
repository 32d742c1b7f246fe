from django.db import DatabaseError


def test_it_answers_ok_when_the_database_is_reachable(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_database_is_unreachable(client, db, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    # Undone before teardown, which needs the real cursor to roll back.
    with monkeypatch.context() as patched:
        patched.setattr("pixxel_dashboard.core.views.connection.cursor", broken_cursor)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_it_needs_no_login(client, db):
    assert client.get("/healthz").status_code == 200
