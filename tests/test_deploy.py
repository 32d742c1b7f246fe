"""The production shape in deploy/: gunicorn really serves the app with its config and reloads
without dropping a request; the process definitions are valid and agree with each other and with
the settings the application reads."""

import ast
import fnmatch
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.test_settings import PRODUCTION

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
HOST = PRODUCTION["ALLOWED_HOSTS"]
# What the reverse proxy sends: the site's host name, and the scheme it was reached by.
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}


# --- gunicorn, for real ---------------------------------------------------------------------


class Gunicorn:
    """gunicorn started as the systemd unit starts it (deploy/gunicorn.conf.py, DEBUG off), on
    SQLite and a port of its own choosing, with 2 workers; its output kept in files."""

    def __init__(self, tmp: Path):
        self.out = tmp / "gunicorn.out"
        self.err = tmp / "gunicorn.err"
        # Nothing of the test run's own configuration (DJANGO_SETTINGS_MODULE=tests.settings,
        # DEBUG=true) leaks in: wsgi.py picks the product's settings, as in production.
        ours = ("DJANGO_", "DEBUG", "PIXXEL", "DATABASE_", "REDIS_", "SECRET_KEY", "GUNICORN_")
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        self.env = {
            **inherited,
            **PRODUCTION,
            "SQLITE_PATH": str(tmp / "db.sqlite3"),
            "GUNICORN_BIND": "127.0.0.1:0",
            "WEB_CONCURRENCY": "2",
        }
        # From another directory: the config itself says where the code is.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(DEPLOY / "gunicorn.conf.py")],
            cwd=tmp,
            env=self.env,
            stdout=self.out.open("w"),
            stderr=self.err.open("w"),
        )
        self.port = self._wait_for_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.wait_until(lambda: len(self.workers()) == 2 and self.healthz_status() == 200)

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.err.read_text())
            if found:
                return int(found.group(1))
            assert self.process.poll() is None, self.err.read_text()
            time.sleep(0.05)
        raise AssertionError("gunicorn did not start:\n" + self.err.read_text())

    def wait_until(self, condition, seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, self.err.read_text()
            time.sleep(0.05)

    def workers(self) -> set[int]:
        """The master's child processes (Linux /proc)."""
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended while we looked
            if int(fields[1]) == self.process.pid:
                children.add(int(stat.parent.name))
        return children

    def healthz_status(self) -> int | None:
        try:
            return requests.get(f"{self.url}/healthz", headers=PROXIED, timeout=5).status_code
        except requests.ConnectionError:
            return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    if not Path("/proc/self/stat").exists():
        pytest.skip("counting gunicorn's workers reads /proc (Linux)")
    server = Gunicorn(tmp_path_factory.mktemp("gunicorn"))
    yield server
    server.stop()


def test_gunicorn_serves_the_app_with_the_deploy_config(gunicorn):
    response = requests.get(f"{gunicorn.url}/healthz", headers=PROXIED, timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert len(gunicorn.workers()) == 2  # WEB_CONCURRENCY
    # Production settings are in force: plain HTTP is sent to HTTPS, unknown hosts refused.
    plain = requests.get(
        f"{gunicorn.url}/healthz", headers={"Host": HOST}, allow_redirects=False, timeout=5
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://{HOST}/healthz"
    other = {**PROXIED, "Host": "evil.example"}
    assert requests.get(f"{gunicorn.url}/healthz", headers=other, timeout=5).status_code == 400


def test_the_access_log_keeps_no_token_from_a_link_nor_any_query_string(gunicorn):
    for path in (
        "/invitations/INVITE-TOKEN-7f3a/?next=QUERY-SECRET",
        "/accounts/reset/MQ/RESET-TOKEN-9b2c/",
        "/accounts/verify/MQ/VERIFY-TOKEN-4d1e/",
    ):
        headers = {"Host": HOST, "X-Forwarded-For": "203.0.113.7"}
        requests.get(gunicorn.url + path, headers=headers, allow_redirects=False, timeout=5)
    gunicorn.wait_until(lambda: "/accounts/verify/" in gunicorn.out.read_text(), seconds=5)
    access_log = gunicorn.out.read_text()
    logs = access_log + gunicorn.err.read_text()
    for secret in ("INVITE-TOKEN", "RESET-TOKEN", "VERIFY-TOKEN", "QUERY-SECRET", "next="):
        assert secret not in logs
    lines = [line for line in access_log.splitlines() if "[redacted]" in line]
    assert len(lines) == 3
    # The line still says which page, which answer, and for whom (the address the proxy saw).
    assert lines[0].startswith("203.0.113.7 127.0.0.1 ")
    assert '"GET /invitations/[redacted] HTTP/1.1" 301 ' in lines[0]
    assert '"GET /accounts/reset/[redacted] HTTP/1.1"' in lines[1]


def test_the_container_probe_is_healthy_exactly_while_the_app_answers(gunicorn):
    env = {**gunicorn.env, "GUNICORN_BIND": f"127.0.0.1:{gunicorn.port}"}
    probe = [sys.executable, str(DEPLOY / "healthcheck.py")]
    assert subprocess.run(probe, env=env, capture_output=True, timeout=10).returncode == 0
    # A port nobody listens on (ours, once released) is unhealthy.
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        free_port = spare.getsockname()[1]
    env["GUNICORN_BIND"] = f"127.0.0.1:{free_port}"
    down = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=10)
    assert down.returncode == 1
    assert "healthz:" in down.stderr


def test_a_hup_reload_replaces_every_worker_without_failing_a_request(gunicorn):
    failures: list[str] = []
    answered = 0
    polling = threading.Event()
    polling.set()

    def poll():
        nonlocal answered
        while polling.is_set():
            try:
                status = requests.get(
                    f"{gunicorn.url}/healthz", headers=PROXIED, timeout=10
                ).status_code
            except requests.RequestException as exc:
                failures.append(repr(exc))
                continue
            if status == 200:
                answered += 1
            else:
                failures.append(f"HTTP {status}")

    old_workers = gunicorn.workers()
    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for poller in pollers:
        poller.start()
    try:
        time.sleep(0.3)
        before_reload = answered
        os.kill(gunicorn.process.pid, signal.SIGHUP)
        # Reloaded: two workers again, none of them an old one, and still answering.
        gunicorn.wait_until(
            lambda: len(workers := gunicorn.workers()) == 2 and not workers & old_workers
        )
        during_reload = answered
        time.sleep(0.5)
    finally:
        polling.clear()
        for poller in pollers:
            poller.join()
    assert failures == []
    assert before_reload > 0 and answered > during_reload
    assert gunicorn.process.poll() is None  # the same master: the socket never closed
    assert "Handling signal: hup" in gunicorn.err.read_text()
    # The configuration was read again, and its access log still keeps tokens out.
    redacted = gunicorn.out.read_text().count("/invitations/[redacted]")
    path = "/invitations/AFTER-RELOAD-TOKEN/"
    requests.get(gunicorn.url + path, headers={"Host": HOST}, allow_redirects=False, timeout=5)
    gunicorn.wait_until(
        lambda: gunicorn.out.read_text().count("/invitations/[redacted]") == redacted + 1
    )
    assert "AFTER-RELOAD-TOKEN" not in gunicorn.out.read_text()


# --- the process definitions ----------------------------------------------------------------


def load_yaml(path: Path):
    """PyYAML in this environment, else a Python that has it (Debian's python3-yaml), else None."""
    try:
        import yaml
    except ImportError:
        pass
    else:
        return yaml.safe_load(path.read_text())
    code = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"
    for python in ("python3", "/usr/bin/python3"):
        if shutil.which(python):
            result = subprocess.run(
                [python, "-c", code],
                input=path.read_text(),
                capture_output=True,
                text=True,
                timeout=30,
            )
            if result.returncode == 0:
                return json.loads(result.stdout)
    return None


@pytest.fixture(scope="module")
def compose():
    loaded = load_yaml(DEPLOY / "compose.yaml")
    if loaded is None:
        pytest.skip("no YAML parser here (PyYAML, in this venv or a system python3)")
    return loaded


def test_compose_runs_migrations_before_web_and_workers_on_a_healthy_database(compose):
    services = compose["services"]
    assert {"db", "migrate", "web", "worker"} <= set(services)
    assert services["db"]["healthcheck"]["test"][1].startswith("pg_isready")
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"  # a one-shot, not restarted forever
    for name in ("web", "web-2", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
        assert services[name]["environment"]["DATABASE_URL"].endswith("@db:5432/pixxel_dashboard")


def test_compose_runs_gunicorn_with_two_processes_and_two_workers(compose):
    services = compose["services"]
    web = services["web"]
    assert web["command"] == ["gunicorn", "--config", "deploy/gunicorn.conf.py"]
    assert web["environment"]["WEB_CONCURRENCY"] == "2"
    assert web["healthcheck"]["test"] == ["CMD", "python", "deploy/healthcheck.py"]
    # Reachable from this host's proxy only.
    assert all(port.startswith("127.0.0.1:") for port in web["ports"] + services["web-2"]["ports"])
    worker = services["worker"]
    assert worker["command"][:3] == ["python", "manage.py", "db_worker"]
    assert "--no-reload" in worker["command"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["healthcheck"] == {"disable": True}  # the image's probe is the web server's
    assert services["redis"]["profiles"] == ["redis"]  # only on request
    for name in ("migrate", "web", "worker"):
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert services[name]["env_file"] == "pixxel-dashboard.env"
    assert (DEPLOY / "pixxel-dashboard.env.example").exists()


def test_compose_config_accepts_the_file(tmp_path):
    docker = shutil.which("docker")
    has_compose = docker and subprocess.run(
        [docker, "compose", "version"], capture_output=True, timeout=30
    )
    if not has_compose or has_compose.returncode != 0:
        pytest.skip("docker compose is not installed here")
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    shutil.copy(copy / "pixxel-dashboard.env.example", copy / "pixxel-dashboard.env")
    result = subprocess.run(
        [docker, "compose", "-f", str(copy / "compose.yaml"), "config", "--quiet"],
        env={**os.environ, "POSTGRES_PASSWORD": "example"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# The helpers settings.py reads variables with; envsecret also reads NAME_FILE.
_SETTINGS_READERS = {"envbool", "envint", "envfloat", "envlist", "envsecret", "envaddresses"}
_SETTINGS_READERS |= {"envurl", "os.environ.get", "os.getenv"}


def variables_read_by(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in _SETTINGS_READERS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
                if ast.unparse(node.func) == "envsecret":
                    names.add(f"{first.value}_FILE")
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return names


def test_the_env_example_lists_exactly_the_variables_the_app_and_gunicorn_read():
    read = variables_read_by(ROOT / "pixxel_dashboard" / "settings.py")
    read |= variables_read_by(DEPLOY / "gunicorn.conf.py")
    # Sanity of the parser itself: names read each way are found.
    assert {"DEBUG", "EMAIL_HOST", "SECRET_KEY_FILE", "ADMINS", "WEB_CONCURRENCY"} <= read
    example = (DEPLOY / "pixxel-dashboard.env.example").read_text()
    # Set (NAME=value) or shown with its default (# NAME=value).
    listed = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert listed - read == set(), "listed in the example, read by nothing"
    assert read - listed == set(), "read by the app, missing from the example"


def test_the_env_example_holds_no_secret_and_starts_nothing_until_filled_in():
    example = (DEPLOY / "pixxel-dashboard.env.example").read_text()
    assert re.search(r"^DEBUG=false$", example, flags=re.MULTILINE)
    for required_secret in ("SECRET_KEY", "PIXXEL_DASHBOARD_ENCRYPTION_KEYS"):
        assert re.search(rf"^{required_secret}=$", example, flags=re.MULTILINE)


def gunicorn_settings() -> dict:
    """deploy/gunicorn.conf.py's values, as gunicorn reads them (the file executed)."""
    namespace: dict = {"__file__": str(DEPLOY / "gunicorn.conf.py")}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return namespace


def seconds_in(text: str, directive: str) -> int:
    found = re.search(rf"^\s*{directive}\s*[=: ]\s*(\d+)s?\b", text, flags=re.MULTILINE)
    assert found, directive
    return int(found.group(1))


def test_each_layer_waits_longer_than_the_one_behind_it():
    from django.conf import settings

    conf = gunicorn_settings()
    # A submission may wait this long on Pixxel (never retried): gunicorn must not kill it.
    assert conf["timeout"] > settings.PIXXEL_CONNECT_TIMEOUT + settings.PIXXEL_READ_TIMEOUT
    assert conf["timeout"] > settings.PIXXEL_RETRY_TOTAL_SECONDS + settings.PIXXEL_READ_TIMEOUT
    # The proxy does not give up before gunicorn does (a 504 for a request still running).
    nginx = (DEPLOY / "nginx.conf.example").read_text()
    assert seconds_in(nginx, "proxy_read_timeout") > conf["timeout"]
    # A reload or a stop lets a request in progress finish before anything is killed.
    assert conf["graceful_timeout"] >= conf["timeout"]
    for unit in ("pixxel-dashboard-web.service", "pixxel-dashboard-worker@.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        assert seconds_in(text, "TimeoutStopSec") > conf["graceful_timeout"], unit
    services = load_yaml(DEPLOY / "compose.yaml")
    if services is not None:
        for name in ("web", "worker"):
            grace = services["services"][name]["stop_grace_period"]
            assert int(grace.removesuffix("s")) > conf["graceful_timeout"], name


def test_gunicorn_reloads_code_on_hup_and_recycles_its_workers():
    conf = gunicorn_settings()
    # With the app preloaded in the master, a HUP would bring up workers on the old code.
    assert conf["preload_app"] is False
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    web = (DEPLOY / "systemd" / "pixxel-dashboard-web.service").read_text()
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in web
    assert "KillMode=mixed" in web


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed here")
    # The units name the install location; here the code is this checkout and this venv.
    venv_bin = str(Path(sys.executable).parent)
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text().replace("/opt/pixxel-dashboard/.venv/bin", venv_bin)
        text = text.replace("/opt/pixxel-dashboard", str(ROOT))
        # A template is verified as one of its instances.
        copy = tmp_path / unit.name.replace("@.service", "@1.service")
        copy.write_text(text)
        units.append(str(copy))
    assert len(units) == 7
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )
    # Unknown keys and bad values are only warnings to systemd: any output is a failure here.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_daily_prune_also_clears_old_webhook_deliveries():
    service = (DEPLOY / "systemd" / "pixxel-dashboard-prune.service").read_text()
    assert "manage.py prune_webhook_deliveries --days 30" in service


def test_the_resume_timer_sweeps_lost_syncs_every_five_minutes():
    timer = (DEPLOY / "systemd" / "pixxel-dashboard-resume.timer").read_text()
    assert re.search(r"^OnUnitActiveSec=5min$", timer, flags=re.MULTILINE)
    service = (DEPLOY / "systemd" / "pixxel-dashboard-resume.service").read_text()
    assert "manage.py resume_stalled_syncs" in service


def test_the_prune_timer_starts_the_prune_service_daily():
    timer = (DEPLOY / "systemd" / "pixxel-dashboard-prune.timer").read_text()
    assert re.search(r"^OnCalendar=daily$", timer, flags=re.MULTILINE)
    assert "WantedBy=timers.target" in timer
    # A timer starts the service of its own name unless told otherwise.
    assert (DEPLOY / "systemd" / "pixxel-dashboard-prune.service").exists()


@pytest.mark.django_db
def test_the_daily_prune_keeps_a_days_successes_and_two_weeks_of_failures():
    from django.core.management import call_command
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    service = (DEPLOY / "systemd" / "pixxel-dashboard-prune.service").read_text()
    command = re.search(r"^ExecStart=\S+ manage\.py (.+)$", service, flags=re.MULTILINE)
    assert command, "the unit runs manage.py"
    now = timezone.now()

    def result(status: str, days_ago: float) -> DBTaskResult:
        finished = now - timedelta(days=days_ago)
        return DBTaskResult.objects.create(
            status=status,
            finished_at=finished,
            run_after=finished,
            args_kwargs={"args": [], "kwargs": {}},
            task_path="pixxel_dashboard.jobs.sync.sync_job_task",
            backend_name="default",
        )

    kept = {result("SUCCESSFUL", 0.5).pk, result("FAILED", 10).pk, result("READY", 30).pk}
    result("SUCCESSFUL", 2)
    result("FAILED", 15)
    call_command(*command.group(1).split(), stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == kept


# --- the image ---------------------------------------------------------------------------------


def ignored_by_docker(path: str, patterns: list[str]) -> bool:
    """.dockerignore's rules, as far as the patterns used here go: the last matching line wins;
    `**/` matches any depth; a pattern matching a directory excludes what it holds."""
    ignored = False
    parts = path.split("/")
    for line in patterns:
        negated = line.startswith("!")
        pattern = line.removeprefix("!").strip("/").split("/")
        anywhere = pattern[0] == "**"
        pattern = pattern[1:] if anywhere else pattern
        starts = range(len(parts)) if anywhere else [0]
        for start in starts:
            window = parts[start : start + len(pattern)]
            if len(window) == len(pattern) and all(map(fnmatch.fnmatchcase, window, pattern)):
                ignored = not negated
                break
    return ignored


def test_the_image_is_built_without_secrets_or_local_state_and_runs_as_non_root():
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for secret_or_state in (
        "deploy/pixxel-dashboard.env",
        "deploy/.env",
        ".env",
        "db.sqlite3",
        "db.sqlite3-wal",
        ".venv/bin/python",
        ".git/config",
        "staticfiles/css/app.css",
        "pixxel_dashboard/__pycache__/settings.cpython-312.pyc",
    ):
        assert ignored_by_docker(secret_or_state, patterns), secret_or_state
    for needed in (
        "manage.py",
        "pyproject.toml",
        "requirements.txt",
        "pixxel_dashboard/settings.py",
        "templates/base.html",
        "static/css/app.css",
        "deploy/gunicorn.conf.py",
        "deploy/healthcheck.py",
    ):
        assert (ROOT / needed).exists() and not ignored_by_docker(needed, patterns), needed
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.12-slim" in dockerfile
    user = re.findall(r"^USER (\S+)$", dockerfile, flags=re.MULTILINE)[-1]
    assert user.split(":")[0] not in {"root", "0"}
    assert re.search(r"collectstatic --noinput", dockerfile)


def test_the_apps_own_log_lines_never_carry_a_links_token(client, db):
    # Django's request logger writes the path of every 4xx answer: an expired invitation's link
    # would put its token in the log (the console handler's filter redacts it).
    console = next(h for h in logging.getLogger().handlers if h.name == "console")
    written = io.StringIO()
    previous = console.setStream(written)
    try:
        token = "s3cr3t-invitation-token-4b1d"
        response = client.get(f"/invitations/{token}/")
    finally:
        console.setStream(previous)
    assert response.status_code >= 400
    assert "/invitations/[redacted]" in written.getvalue()
    assert token not in written.getvalue()
