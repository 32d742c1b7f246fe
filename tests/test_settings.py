"""Settings come from the environment; bad values stop the process at start, loudly."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "kq3-V8f_Zt9wLr2Xp7NbCm4Hs6Jd1Ge5Ya0Uo8Ti3Re7Wn2Qv9Lx4Fz6Bk1Pc5",
    "ALLOWED_HOSTS": "dashboard.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://dashboard.example.com",
    "EMAIL_HOST": "smtp.example.com",
    "PIXXEL_DASHBOARD_ENCRYPTION_KEYS": "0SvJsHkCw3Kq2QkYy6v3TzBd5c3yPCz1Yb0w5GzW1lU=",
}


def run_manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    base.pop("SECRET_KEY", None)
    base.pop("DATABASE_URL", None)
    # Local use sets DEBUG (as `make run` does) unless a test says otherwise; None unsets.
    merged = {**base, "DJANGO_SETTINGS_MODULE": "pixxel_dashboard.settings", "DEBUG": "true", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={k: v for k, v in merged.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_debug_set_it_starts_with_no_other_configuration():
    result = run_manage("check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("PIXXEL_READ_TIMEOUT", "soon", "PIXXEL_READ_TIMEOUT must be a number"),
        ("PIXXEL_CONNECT_TIMEOUT", "0", "PIXXEL_CONNECT_TIMEOUT must be greater than 0"),
        ("PIXXEL_MAX_RETRIES", "three", "PIXXEL_MAX_RETRIES must be an integer"),
        ("PIXXEL_API_BASE_URL", "api.pixxel.space", "PIXXEL_API_BASE_URL must be an http(s) URL"),
        ("DATABASE_URL", "nonsense://", "DATABASE_URL is not a valid database URL"),
        ("DATABASE_CONN_MAX_AGE", "forever", "DATABASE_CONN_MAX_AGE must be an integer"),
        ("DATABASE_CONN_MAX_AGE", "-1", "DATABASE_CONN_MAX_AGE must be at least 0"),
        ("REDIS_URL", "127.0.0.1:6379", "REDIS_URL must be a redis://, rediss:// or unix:// URL"),
    ],
)
def test_it_refuses_to_start_with_a_malformed_value(name, value, complaint):
    result = run_manage("check", **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_production_without_a_secret_key_refuses_to_start():
    env = {**PRODUCTION}
    del env["SECRET_KEY"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_with_a_short_secret_key_refuses_to_start():
    result = run_manage("check", **{**PRODUCTION, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    env = {**PRODUCTION}
    del env["ALLOWED_HOSTS"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_without_an_encryption_key_refuses_to_start():
    env = {**PRODUCTION}
    del env["PIXXEL_DASHBOARD_ENCRYPTION_KEYS"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "PIXXEL_DASHBOARD_ENCRYPTION_KEYS must be set" in result.stderr


def test_a_malformed_encryption_key_refuses_to_start():
    result = run_manage("check", PIXXEL_DASHBOARD_ENCRYPTION_KEYS="not-a-fernet-key")
    assert result.returncode != 0
    assert "must be comma-separated Fernet keys" in result.stderr


def test_the_deploy_check_is_clean_under_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- Secrets from files (`*_FILE`), as Docker and systemd hand them over -----------------------

SHOW = "from django.conf import settings; print({})"
# Each secret, a value for it, and where the running app ends up using it.
SECRETS = [
    ("SECRET_KEY", PRODUCTION["SECRET_KEY"], "settings.SECRET_KEY"),
    (
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS",
        PRODUCTION["PIXXEL_DASHBOARD_ENCRYPTION_KEYS"],
        "','.join(settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS)",
    ),
    (
        "DATABASE_URL",
        "postgres://pd:s3cret@db.example.com:5432/pd_files",
        "'postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}'.format(**settings.DATABASES['default'])",
    ),
    ("EMAIL_HOST_PASSWORD", "smtp-s3cret", "settings.MAILERS['default']['OPTIONS']['password']"),
    (
        "REDIS_URL",
        "redis://:s3cret@cache.example.com:6379/2",
        "settings.CACHES['default']['LOCATION']",
    ),
]


def last_line(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(("name", "value", "used_as"), SECRETS)
def test_each_secret_can_come_from_a_file_and_is_used_stripped(tmp_path, name, value, used_as):
    secret = tmp_path / "secret"
    secret.write_text(f"{value}\n")
    env = {**PRODUCTION, name: None, f"{name}_FILE": str(secret)}
    assert last_line(run_manage("shell", "-c", SHOW.format(used_as), **env)) == value


@pytest.mark.parametrize(("name", "value", "used_as"), SECRETS)
def test_a_secret_given_both_ways_refuses_to_start(tmp_path, name, value, used_as):
    secret = tmp_path / "secret"
    secret.write_text(value)
    result = run_manage("check", **{**PRODUCTION, name: value, f"{name}_FILE": str(secret)})
    assert result.returncode != 0
    assert f"Set {name} or {name}_FILE, not both." in result.stderr


@pytest.mark.parametrize(("name", "value", "used_as"), SECRETS)
def test_an_unreadable_secret_file_refuses_to_start_naming_the_variable(
    tmp_path, name, value, used_as
):
    missing = tmp_path / "not-there"
    result = run_manage("check", **{**PRODUCTION, name: None, f"{name}_FILE": str(missing)})
    assert result.returncode != 0
    assert f"{name}_FILE: cannot read '{missing}' (No such file or directory)." in result.stderr


def test_a_secret_file_that_is_not_text_refuses_to_start_without_showing_its_content(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"\xff\xfe not utf-8 s3cret")
    result = run_manage(
        "check", **{**PRODUCTION, "SECRET_KEY": None, "SECRET_KEY_FILE": str(secret)}
    )
    assert result.returncode != 0
    assert f"SECRET_KEY_FILE: cannot read '{secret}' (UnicodeDecodeError)." in result.stderr
    assert "s3cret" not in result.stderr


# --- ADMINS: who hears about server errors ---------------------------------------------------


def test_admins_from_the_environment_receive_the_error_emails():
    result = run_manage(
        "shell",
        "-c",
        "from django.core.mail import mail_admins; mail_admins('boom', 'a server error')",
        ADMINS='Ops <ops@example.com>, "On Call, Team" <oncall@example.com>, b@example.com',
        SERVER_EMAIL="alerts@example.com",
    )
    assert result.returncode == 0, result.stderr
    assert (
        'To: Ops <ops@example.com>, "On Call, Team" <oncall@example.com>, b@example.com'
        in result.stdout
    )
    assert "From: alerts@example.com" in result.stdout


def test_without_admins_no_error_email_is_sent():
    result = run_manage(
        "shell", "-c", "from django.core.mail import mail_admins; mail_admins('boom', 'error')"
    )
    assert result.returncode == 0, result.stderr
    assert "Subject:" not in result.stdout


@pytest.mark.parametrize(
    "value", ["ops at example.com", "ops@example.com; b@example.com", "Ops <ops@>"]
)
def test_malformed_admins_refuse_to_start(value):
    result = run_manage("check", ADMINS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ADMINS must be comma-separated email addresses" in result.stderr


# --- Database connections --------------------------------------------------------------------

CONNECTION = "settings.DATABASES['default']['CONN_MAX_AGE'], settings.DATABASES['default']['CONN_HEALTH_CHECKS']"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "60 True"),  # SQLite too: opening its file costs more than a small page's queries
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/pd"}, "60 True"),
        (
            {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/pd", "DATABASE_CONN_MAX_AGE": "0"},
            "0 True",
        ),
        ({"DATABASE_CONN_MAX_AGE": "300"}, "300 True"),
    ],
)
def test_connections_are_kept_on_a_server_database_and_checked_before_reuse(env, expected):
    assert last_line(run_manage("shell", "-c", SHOW.format(f"*({CONNECTION})"), **env)) == expected


POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
# One request after another; between the second and third the database drops the connection
# (as a restart or failover does).
REQUESTS = f"""
import psycopg
from django.core.signals import request_finished, request_started
from django.db import connection

def request():
    request_started.send(sender=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    request_finished.send(sender=None)
    return pid

first, second = request(), request()
with psycopg.connect({POSTGRES!r}, autocommit=True) as admin:
    admin.execute("SELECT pg_terminate_backend(%s)", [second])
third = request()
print("reused" if first == second else "new", "reconnected" if third != second else "same")
"""


def postgres_available() -> bool:
    try:
        import psycopg

        psycopg.connect(POSTGRES, connect_timeout=2).close()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not postgres_available(), reason="needs PostgreSQL on 127.0.0.1:5432")
def test_on_postgres_a_connection_serves_many_requests_and_a_dropped_one_is_replaced():
    result = run_manage("shell", "-c", REQUESTS, DATABASE_URL=POSTGRES)
    assert last_line(result) == "reused reconnected"


@pytest.mark.skipif(not postgres_available(), reason="needs PostgreSQL on 127.0.0.1:5432")
def test_with_conn_max_age_zero_each_request_opens_its_own_connection():
    result = run_manage("shell", "-c", REQUESTS, DATABASE_URL=POSTGRES, DATABASE_CONN_MAX_AGE="0")
    assert last_line(result) == "new reconnected"


# --- The shared cache ------------------------------------------------------------------------

SET = "from django.core.cache import cache; cache.set({key!r}, 'seen by the other process', 60)"
GET = "from django.core.cache import cache; print(cache.get({key!r}))"


def test_after_migrate_on_a_fresh_database_every_process_shares_one_cache(tmp_path):
    env = {"SQLITE_PATH": str(tmp_path / "fresh.sqlite3")}
    assert run_manage("migrate", "--noinput", **env).returncode == 0
    assert run_manage("shell", "-c", SET.format(key="shared"), **env).returncode == 0
    assert last_line(run_manage("shell", "-c", GET.format(key="shared"), **env)) == (
        "seen by the other process"
    )


REDIS = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except Exception:
        return False


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_with_redis_url_every_process_shares_the_cache_in_redis(tmp_path):
    import redis

    key = f"pixxel-dashboard-test-{uuid.uuid4().hex}"
    # No migrate: with Redis the database holds no cache.
    env = {"REDIS_URL": REDIS, "SQLITE_PATH": str(tmp_path / "never-created.sqlite3")}
    try:
        assert run_manage("shell", "-c", SET.format(key=key), **env).returncode == 0
        assert last_line(run_manage("shell", "-c", GET.format(key=key), **env)) == (
            "seen by the other process"
        )
        assert any(
            key in stored.decode() for stored in redis.Redis.from_url(REDIS).keys(f"*{key}*")
        )
    finally:
        client = redis.Redis.from_url(REDIS)
        for stored in client.keys(f"*{key}*"):
            client.delete(stored)


def test_error_reports_hide_passwords_inside_the_database_and_redis_urls():
    result = run_manage(
        "shell",
        "-c",
        "from django.views.debug import get_default_exception_reporter_filter as f; "
        "print(f().get_safe_settings())",
        DATABASE_URL="postgres://pd:db-s3cret@db.example.com:5432/pd",
        REDIS_URL="redis://:redis-s3cret@cache.example.com:6379/0",
        EMAIL_HOST="smtp.example.com",
        EMAIL_HOST_PASSWORD="smtp-s3cret",
    )
    assert result.returncode == 0, result.stderr
    assert "db.example.com" in result.stdout  # the report still says which database
    assert "s3cret" not in result.stdout


def test_sessions_are_read_from_the_cache_only_when_redis_holds_it():
    show = "from django.conf import settings; print(settings.SESSION_ENGINE)"
    with_redis = run_manage("shell", "-c", show, REDIS_URL="redis://127.0.0.1:6379/7")
    without = run_manage("shell", "-c", show)
    assert last_line(with_redis) == "pixxel_dashboard.accounts.sessions"
    # Without Redis the cache is a database table: reading it first would cost a query more.
    assert last_line(without) == "django.contrib.sessions.backends.db"


REDIS_7 = "redis://127.0.0.1:6379/7"
SESSIONS_IN_REDIS = {
    "CACHES": {
        "default": {
            "BACKEND": "pixxel_dashboard.core.cache.ForgivingRedisCache",
            "LOCATION": REDIS_7,
        }
    },
    "SESSION_ENGINE": "pixxel_dashboard.accounts.sessions",
}


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_with_redis_a_page_reads_no_session_row_and_a_flushed_redis_logs_nobody_out(
    acme, alice, client, django_assert_max_num_queries
):
    from django.core.cache import cache

    with override_settings(**SESSIONS_IN_REDIS):
        client.force_login(alice)
        client.get("/o/acme/jobs/")  # the session's first request may write to it
        with django_assert_max_num_queries(20) as queries:
            assert client.get("/o/acme/jobs/").status_code == 200
        assert not [q for q in queries if "django_session" in q["sql"]]
        cache.clear()  # Redis restarted empty: the session is still in the database
        assert client.get("/o/acme/jobs/").status_code == 200
        cache.clear()


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_a_logout_while_redis_fails_leaves_a_cached_session_minutes_not_weeks(
    acme, alice, client, monkeypatch
):
    import redis
    from django.core.cache import cache
    from redis.exceptions import ConnectionError as RedisConnectionError

    from pixxel_dashboard.accounts.sessions import CACHED_SECONDS

    with override_settings(**SESSIONS_IN_REDIS):
        client.force_login(alice)
        client.get("/o/acme/jobs/")
        key = client.cookies["sessionid"].value
        stored = redis.Redis.from_url(REDIS_7).keys(f"*{key}*")
        assert stored and 0 < redis.Redis.from_url(REDIS_7).ttl(stored[0]) <= CACHED_SECONDS

        def unreachable(*args, **kwargs):
            raise RedisConnectionError("Redis is down")

        monkeypatch.setattr(cache._cache, "delete", unreachable)  # below ForgivingRedisCache
        assert client.post("/accounts/logout/").status_code == 302  # not an error page
        # The copy Redis kept expires within CACHED_SECONDS, not with the session's two weeks.
        assert 0 < redis.Redis.from_url(REDIS_7).ttl(stored[0]) <= CACHED_SECONDS
        monkeypatch.undo()
        cache.clear()


def test_with_redis_unreachable_people_still_log_in_and_out_and_no_session_id_is_logged(
    acme, alice, client, caplog
):
    from tests.conftest import PASSWORD

    unreachable = {
        **SESSIONS_IN_REDIS,
        "CACHES": {
            "default": {
                "BACKEND": "pixxel_dashboard.core.cache.ForgivingRedisCache",
                "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        },
    }
    with override_settings(**unreachable):
        login = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert login.status_code == 302 and login.url == "/"
        assert client.get("/o/acme/jobs/").status_code == 200
        session_id = client.cookies["sessionid"].value
        assert client.post("/accounts/logout/").status_code == 302
        assert client.get("/o/acme/jobs/").status_code == 302  # to the login page
    warnings = [r.getMessage() for r in caplog.records if r.name == "pixxel_dashboard.core.cache"]
    assert warnings and not [w for w in warnings if session_id in w]
