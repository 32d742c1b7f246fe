"""Settings come from the environment; bad values stop the process at start, loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
