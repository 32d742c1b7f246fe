"""Targets against baselines, three sizes, in process and over HTTP: `make bench` (issue 15).

Builds, in a throwaway database (SQLite by default; `DATABASE_URL=postgres://…/pd_bench` for
PostgreSQL, `test_pd_bench` created and dropped), three organizations of 1,000, 10,000 and 100,000
jobs (`bench/history.py`'s seeding: 8 projects, 30 workflows, 10 members, every status, 12
months), 10 tasks each (one INSERT … SELECT per organization), their cost rollups
(`rollups.rebuild`), and in the biggest one a 2,000-task job and a 55-task fan-out half-way
through their runs (through `save_job`, as a sync stores them). `--quick`: 1,000 and 10,000 only.

Then measures, in the same run so the ratios survive a noisy machine:

  - the baselines: a bare Django view returning a constant (bench_urls.py, the benchmark's own
    URLconf: the product's never has it), Django admin's changelist of the same jobs (50 a page),
    the raw aggregate SQL the cost rollups replace (bench/costs.py's), and a direct
    `requests.post` to the sandbox's create endpoint;
  - the product: the history (plain, status=failed, the last page by rel=last), the cost overview
    and the busiest project's costs at every size; the 2,000-task job's page and its poll (one
    task changed since the page's version, and nothing changed); a submission against the sandbox.

Each GET is measured through Django's test client (server time, SQL queries, bytes) and end to end
over HTTP against gunicorn (deploy/gunicorn.conf.py with worker recycling off, DEBUG off, this database, a free port):
p50/p95 latency of sequential requests, and for the bare view and the polls the throughput of
CONCURRENT_CLIENTS clients for THROUGHPUT_SECONDS. Prints every figure and each target's verdict
(met / MISSED by how much). Exits 0: a report, not a test (timings vary by machine).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import logging
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pixxel_dashboard.settings")
# gunicorn runs with DEBUG off, which wants real secrets; both processes must share them (the
# session's hash, the API key's encryption), so they are chosen here, before Django reads them.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault(
    "PIXXEL_DASHBOARD_ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode()
)
os.environ.setdefault("PIXXEL_DASHBOARD_DERIVED_KEY_WARNED", "1")

import costs  # noqa: E402  (imports history, which sets Django up)
import history  # noqa: E402
import job_page  # noqa: E402
import requests  # noqa: E402
from bench_urls import BARE_PATH  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import ms, throwaway_database, verdict  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
TASKS_PER_JOB = 10
HOST = "dashboard.example.com"
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https", "Accept-Encoding": "identity"}
CONCURRENT_CLIENTS = 4
THROUGHPUT_SECONDS = 5.0

POLL_THROUGHPUT_TARGET = 0.7  # job poll requests/s over the bare view's (at least)
UNCHANGED_POLL_BYTES = 200  # body of an unchanged poll (at most)
POLL_PASS = "poll_pass"  # jobs/poll_pass.py's cookie
FLAT_TARGET = 1.5  # biggest organization over the smallest (at most)
ADMIN_TARGET = 0.5  # a page over the admin changelist (at most)
SUBMIT_OVERHEAD_MS = 25.0  # a submission through the app minus the direct call (at most)
# Dozens of submissions a minute from one member: the product's rate limit (10 a minute) would
# answer most of them 429 at once, timing the refusal instead of the submission.
NO_SUBMISSION_LIMITS = {
    "SUBMISSION_RATE_PER_MEMBER": 1_000_000,
    "SUBMISSION_RATE_PER_ORGANIZATION": 1_000_000,
}


# --- the data ------------------------------------------------------------------------------


def insert_tasks(org) -> int:
    """TASKS_PER_JOB tasks for every job of `org`, in one INSERT … SELECT: a million rows in
    seconds, where building a million model instances takes minutes. Every column not set here
    gets the model field's own default, so the statement follows the model."""
    from pixxel_dashboard.jobs.models import Job, Task

    qn = connection.ops.quote_name
    numbers = " UNION ALL ".join(f"SELECT {i} AS i" for i in range(TASKS_PER_JOB))
    set_here = {
        "job": "j.id",
        "pixxel_id": "j.pixxel_id || '-task-' || n.i",
        "name": "'Step ' || n.i",
        "position": "n.i",
        "status": "j.status",
        "status_raw": "j.status_raw",
        "progress": "j.progress",
        "pixxel_created_at": "j.created_at",
        "finished_at": "j.finished_at",
    }
    columns, values, params = [], [], []
    for field in Task._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(qn(field.column))
        if field.name in set_here:
            values.append(set_here[field.name])
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    sql = (
        f"INSERT INTO {qn(Task._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM {qn(Job._meta.db_table)} j CROSS JOIN ({numbers}) n "
        "WHERE j.organization_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, org.pk])
        return cursor.rowcount


@dataclasses.dataclass
class Size:
    jobs: int
    data: history.OrgData
    tasks: int = 0


def build(sizes: tuple[int, ...]) -> tuple[list[Size], dict, float]:
    """The organizations, their tasks and rollups; the two long jobs in the biggest one."""
    import random

    from django.contrib.auth import get_user_model

    from pixxel_dashboard.costs import rollups
    from pixxel_dashboard.sandbox import ids, seed

    rng = random.Random(15)
    now = timezone.now()
    start = time.perf_counter()
    built = []
    with override_settings(DEBUG=False), history.explicit_timestamps():
        for jobs in sizes:
            data = history.build_org(f"jobs-{jobs // 1000}k", jobs, rng, now)
            built.append(Size(jobs, data, insert_tasks(data.org)))
    biggest = built[-1].data
    workflows = seed.workflows()
    long_jobs = {
        # Half-way through its chain of 2,000 tasks (bench/job_page.py's job).
        "2,000 tasks": job_page.build_job(biggest.org, workflows[seed.WF_CHAIN_2000], time.time()),
        # 20 s after leaving the queue: the scene fetched, the tiling under way, 52 tiles waiting.
        "55-task fan-out": build_running(biggest.org, workflows[ids.WF_FANOUT], 20.0),
    }
    with override_settings(DEBUG=False):
        for size in built:
            rollups.rebuild(size.data.org)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    get_user_model().objects.create_superuser("bench-admin", password="!")
    return built, long_jobs, time.perf_counter() - start


def build_running(org, workflow, seconds_running: float):
    """A job of `workflow` `seconds_running` after it left the queue, stored as a sync stores it
    (job_page.build_job starts a job half its tasks' summed durations ago: a fan-out's parallel
    tasks would be long finished)."""
    from pixxel_dashboard.jobs.models import Job
    from pixxel_dashboard.jobs.persist import save_job
    from pixxel_dashboard.pixxel.parsing import parse_job
    from pixxel_dashboard.sandbox import simulation

    now = time.time()
    created = now - workflow.queue_seconds - seconds_running
    plan, end = simulation.plan_job(workflow, created)
    job_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-running-{workflow.id}"))
    sim_job = simulation.Job(job_id, "bench", workflow, "p", "u", created, plan, end)
    job, _ = save_job(org, parse_job(simulation.job_view(sim_job, now)))
    job_page.mark_synced(job)
    return Job.objects.get(pk=job.pk), sim_job


def keep_jobs_fresh() -> None:
    """No job falls due for a sync while measuring: a sync would change what a poll answers."""
    from pixxel_dashboard.jobs.models import Job

    later = timezone.now() + datetime.timedelta(days=1)
    Job.objects.update(last_synced_at=later, sync_claimed_at=later)


# --- what is measured ----------------------------------------------------------------------


@dataclasses.dataclass
class Measured:
    label: str
    url: str
    user: object | None  # who is logged in (None: nobody)
    status: int | None = None
    queries: int | None = None
    bytes: int | None = None
    times: list[float] = dataclasses.field(default_factory=list)  # in process, seconds
    http_status: int | None = None
    http_bytes: int | None = None
    http_times: list[float] = dataclasses.field(default_factory=list)
    rate: float | None = None  # requests/s over HTTP, concurrent clients
    rate_alone: float | None = None  # requests/s over HTTP, one client
    # A poll keeps the poll pass its answers hand out, as a browser does; False: it never has one
    # (the first poll after the pass's 30 s, or a browser that drops cookies).
    keeps_pass: bool = True

    @property
    def is_poll(self) -> bool:
        return self.label.startswith("poll,")


def pages(sizes: list[Size], long_jobs: dict, admin_user) -> list[Measured]:
    """Every GET measured, labelled "<what> @<size>" where the size matters."""
    measured = [Measured("bare view (baseline)", "/" + BARE_PATH, None)]
    for size in sizes:
        o = size.data
        slug = o.org.slug  # type: ignore[attr-defined]
        base = history.list_path(o)
        client = Client()
        client.force_login(o.member)
        client.get(base)  # the session's first request writes to it: not a view's cost
        links = history.rel_links(client.get(base).content.decode())
        last = history.resolve(base, links["last"]) if "last" in links else base
        admin = f"/admin/jobs/job/?organization__id__exact={o.org.pk}"  # type: ignore[attr-defined]
        last_admin_page = max(1, -(-size.jobs // 50))
        tag = f"@{size.jobs // 1000}k"
        measured += [
            Measured(f"history plain {tag}", base, o.member),
            Measured(f"history status=failed {tag}", base + "?status=failed", o.member),
            Measured(f"history last page {tag}", last, o.member),
            Measured(f"admin changelist {tag}", admin, admin_user),
            Measured(f"admin status=failed {tag}", admin + "&status__exact=failed", admin_user),
            Measured(f"admin last page {tag}", admin + f"&p={last_admin_page}", admin_user),
            Measured(f"cost overview {tag}", reverse("cost_overview", args=[slug]), o.member),
            Measured(
                f"project costs {tag}",
                reverse("project_costs", args=[slug, history.project_id(0)]),
                o.member,
            ),
        ]
    owner = sizes[-1].data.member
    client = Client()
    client.force_login(owner)
    for label, (job, sim_job) in long_jobs.items():
        url = job.get_absolute_url()
        page = client.get(url)
        changed_poll = job_page.next_poll(page)
        # Pixxel a second after the build: the running task moved on; the old poll URL now sees
        # it. (Not a second after now: on a busy machine the fan-out would have finished since.)
        from pixxel_dashboard.jobs.persist import save_job
        from pixxel_dashboard.pixxel.parsing import parse_job
        from pixxel_dashboard.sandbox import simulation

        moment = job.last_synced_at.timestamp() + 1
        save_job(job.organization, parse_job(simulation.job_view(sim_job, moment)))
        unchanged_poll = job_page.next_poll(client.get(url))
        measured += [
            Measured(f"job page ({label})", url, owner),
            Measured(f"poll, changed ({label})", changed_poll, owner),
            Measured(f"poll, unchanged ({label})", unchanged_poll, owner),
            Measured(
                f"poll, unchanged, no pass ({label})", unchanged_poll, owner, keeps_pass=False
            ),
        ]
    return measured


def selected(measured: list[Measured], only: list[str]) -> list[Measured]:
    """The baseline and what `--only` names (every GET without it)."""
    if not only:
        return measured
    return [m for m in measured if m.label.startswith("bare") or any(o in m.label for o in only)]


def client_key(m: Measured):
    # Each poll its own client, as each job's poll pass has its own cookie path in a browser (the
    # test client sends every cookie it holds, whatever its path).
    return (m.user, m.label) if m.is_poll else m.user


def logged_in_clients(measured: list[Measured]) -> dict:
    clients: dict = {}
    for m in measured:
        key = client_key(m)
        if key not in clients:
            clients[key] = Client()
            if m.user is not None:
                clients[key].force_login(m.user)
    return clients


def get_in_process(clients: dict, m: Measured):
    client = clients[client_key(m)]
    if not m.keeps_pass:
        client.cookies.pop(POLL_PASS, None)
    return client.get(m.url)


def measure_in_process(measured: list[Measured], clients: dict, runs: int) -> None:
    for m in measured:
        if m.is_poll:
            get_in_process(clients, m)  # the poll before it handed out its pass
        with CaptureQueriesContext(connection) as queries:
            response = get_in_process(clients, m)
        m.status, m.queries, m.bytes = (
            response.status_code,
            len(queries.captured_queries),
            len(response.content),
        )
    timed = [m for m in measured if m.status in (200, 204)]
    for _ in range(runs):  # interleaved: a busy spell slows them all alike
        for m in timed:
            start = time.perf_counter()
            get_in_process(clients, m)
            m.times.append(time.perf_counter() - start)


# --- gunicorn ------------------------------------------------------------------------------


class Gunicorn:
    """gunicorn with deploy/gunicorn.conf.py, DEBUG off, on this benchmark's database and a port
    of its own choosing (the production shape; the bench's URLconf adds the bare view)."""

    def __init__(self, sandbox_url: str, folder: Path, redis_url: str = ""):
        from django.conf import settings

        ours = ("DJANGO_", "DEBUG", "PIXXEL", "DATABASE_", "REDIS_", "SECRET_KEY", "GUNICORN_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        db = connection.settings_dict
        env.update(
            DEBUG="false",
            DJANGO_SETTINGS_MODULE="bench_settings",
            PYTHONPATH=str(BENCH),
            SECRET_KEY=settings.SECRET_KEY,
            PIXXEL_DASHBOARD_ENCRYPTION_KEYS=",".join(settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS),
            PIXXEL_DASHBOARD_DERIVED_KEY_WARNED="1",
            PIXXEL_API_BASE_URL=sandbox_url,
            ALLOWED_HOSTS=HOST,
            CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
            EMAIL_HOST="smtp.example.com",
            # The pages' static links without `collectstatic` (whitenoise's manifest needs it).
            STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
            GUNICORN_BIND="127.0.0.1:0",
            LOG_LEVEL="WARNING",
            **{name: str(value) for name, value in NO_SUBMISSION_LIMITS.items()},
        )
        # The production option, only when asked for (--redis): the cache and the sessions in Redis.
        self.cache = "Redis (cache and cached_db sessions)" if redis_url else "the database"
        if redis_url:
            env["REDIS_URL"] = redis_url
        if connection.vendor == "sqlite":
            env["SQLITE_PATH"] = db["NAME"]
        else:
            auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
            env["DATABASE_URL"] = (
                f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            )
        self.err = folder / "gunicorn.err"
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and config)
            [
                *(
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    str(ROOT / "deploy/gunicorn.conf.py"),
                ),
                # The config's worker recycling (every ~1,000 requests, a leak guard) would land
                # a worker's restart inside whichever throughput figure reached the count.
                *("--max-requests", "0"),
            ],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,  # the access log: a line a request, not needed here
            stderr=self.err.open("w"),
        )
        self.workers = env.get("WEB_CONCURRENCY", "the config's default")
        deadline = time.monotonic() + 90
        while True:
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.err.read_text())
            if found:
                self.url = f"http://127.0.0.1:{found[1]}"
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("gunicorn did not start:\n" + self.err.read_text())
            time.sleep(0.1)
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", headers=PROXIED, timeout=5).ok:
                    return
            except requests.RequestException:
                pass  # the workers are still importing the application
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn never answered /healthz:\n" + self.err.read_text())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_gunicorn(sandbox_url: str, folder: Path, redis_url: str = "") -> Gunicorn | None:
    """gunicorn, or None (the HTTP figures n/a) with the reason printed: a report goes on."""
    try:
        return Gunicorn(sandbox_url, folder, redis_url)
    except RuntimeError as exc:
        print(f"Not measured over HTTP: {exc}")
        return None


def cookie_headers(measured: list[Measured], clients: dict) -> dict:
    """Each measured GET's session as a Cookie header (the session lives in the shared
    database), by label: a poll's header also carries its poll pass once an answer hands one out."""
    headers = {}
    for m in measured:
        cookie = clients[client_key(m)].cookies.get("sessionid")
        headers[m.label] = {
            **PROXIED,
            **({"Cookie": f"sessionid={cookie.value}"} if cookie else {}),
        }
    return headers


def http_get(session, url: str, header: dict, m: Measured):
    """GET as a browser would: a poll pass handed out replaces the one `header` carried."""
    response = session.get(url, headers=header, allow_redirects=False)
    handed = re.search(rf"{POLL_PASS}=([^;]+)", response.headers.get("Set-Cookie", ""))
    if handed and m.keeps_pass:
        kept = re.sub(rf"; {POLL_PASS}=[^;]+", "", header["Cookie"])
        header["Cookie"] = f"{kept}; {POLL_PASS}={handed[1]}"
    return response


def measure_over_http(measured: list[Measured], server: Gunicorn, headers: dict, runs: int) -> None:
    session = requests.Session()
    timed = [m for m in measured if m.status in (200, 204)]
    for m in timed:
        if m.is_poll:
            http_get(session, server.url + m.url, headers[m.label], m)  # hands out the pass
        response = http_get(session, server.url + m.url, headers[m.label], m)
        m.http_status, m.http_bytes = response.status_code, len(response.content)
    timed = [m for m in timed if m.http_status == m.status]
    for _ in range(runs):
        for m in timed:
            start = time.perf_counter()
            http_get(session, server.url + m.url, headers[m.label], m)
            m.http_times.append(time.perf_counter() - start)


def throughput(
    url: str,
    header: dict,
    m: Measured,
    clients: int = CONCURRENT_CLIENTS,
    seconds: float = THROUGHPUT_SECONDS,
) -> float:
    """Requests a second `clients` concurrent clients get answered in `seconds`."""
    counts = [0] * clients
    failures = [0] * clients
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        session = requests.Session()
        own = dict(header)  # each client keeps the passes it is handed, as each browser does
        while time.monotonic() < stop:
            response = http_get(session, url, own, m)
            if response.status_code in (200, 204):
                counts[i] += 1
            else:
                failures[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if any(failures):
        print(f"  ({sum(failures)} failed answers from {url})")
    return sum(counts) / (time.monotonic() - start)


# --- submissions ---------------------------------------------------------------------------


@dataclasses.dataclass
class Submissions:
    direct: list[float] = dataclasses.field(default_factory=list)
    in_process: list[float] = dataclasses.field(default_factory=list)
    over_http: list[float] = dataclasses.field(default_factory=list)
    statuses: set = dataclasses.field(default_factory=set)
    queries: int = 0  # SQL statements of one submission in process
    upstream: dict = dataclasses.field(default_factory=dict)  # sandbox calls of one, by route
    upstream_http: dict = dataclasses.field(default_factory=dict)  # the same through gunicorn


def submission_setup(sandbox_url: str):
    """An organization of its own with a sandbox key (its jobs stay out of the measured ones)."""
    from django.contrib.auth import get_user_model

    from pixxel_dashboard.accounts.models import Membership, Organization, Role
    from pixxel_dashboard.keys import services

    org = Organization.objects.create(name="Submit", slug="submit")
    user = get_user_model().objects.create_user("submit-owner", password="!")
    Membership.objects.create(user=user, organization=org, role=Role.OWNER)
    key = f"sbx_bench_{uuid.uuid4().hex}"
    services.add_key(org, user, "Sandbox", key)
    client = Client()
    client.force_login(user)
    return org, key, client


def upstream_calls(sandbox, submit) -> dict:
    """The sandbox's requests during `submit()`, by route."""
    before = sandbox.stats()["by_route"]
    submit()
    after = sandbox.stats()["by_route"]
    return {
        route: n - before.get(route, 0) for route, n in after.items() if n != before.get(route, 0)
    }


def measure_submissions(sandbox, server: Gunicorn | None, runs: int) -> Submissions:
    from pixxel_dashboard.sandbox import ids

    sandbox_url = sandbox.base_url
    org, key, client = submission_setup(sandbox_url)
    new = reverse("submit_job", args=[org.slug])
    create = f"{sandbox_url}/v0/workflows/{ids.WF_LINEAR}/jobs"

    def form(extra: dict | None = None) -> dict:
        return {
            "project": ids.PROJECT_AGRI,
            "workflow": ids.WF_LINEAR,
            "token": str(uuid.uuid4()),
            **(extra or {}),
        }

    result = Submissions()
    http = requests.Session()
    header = {**PROXIED, "Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    csrf: dict = {}
    if server:
        page = http.get(server.url + new, headers=header)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        cookie = page.cookies.get("csrftoken") or re.search(
            r"csrftoken=([^;]+)", page.headers.get("Set-Cookie", "")
        )
        if token and cookie:
            cookie_value = cookie if isinstance(cookie, str) else cookie[1]
            csrf = {"csrfmiddlewaretoken": token[1]}
            header = {
                **header,
                "Cookie": header["Cookie"] + f"; csrftoken={cookie_value}",
                "Origin": f"https://{HOST}",
                "Referer": f"https://{HOST}{new}",
            }
    client.get(new)  # the catalog fetched and cached once, as a user's form page does
    with CaptureQueriesContext(connection) as queries:
        result.upstream = upstream_calls(sandbox, lambda: client.post(new, form()))
    result.queries = len(queries.captured_queries)
    if server and csrf:
        result.upstream_http = upstream_calls(
            sandbox,
            lambda: http.post(
                server.url + new, data=form(csrf), headers=header, allow_redirects=False
            ),
        )
    direct = requests.Session()
    for _ in range(runs):
        start = time.perf_counter()
        direct.post(
            create, params={"project_id": ids.PROJECT_AGRI}, json={}, headers={"Authorization": key}
        ).raise_for_status()
        result.direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        response = client.post(new, form())
        result.in_process.append(time.perf_counter() - start)
        result.statuses.add(("in process", response.status_code))
        if server and csrf:
            start = time.perf_counter()
            response = http.post(
                server.url + new, data=form(csrf), headers=header, allow_redirects=False
            )
            result.over_http.append(time.perf_counter() - start)
            result.statuses.add(("HTTP", response.status_code))
    return result


# --- the report ----------------------------------------------------------------------------


def quantile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def print_table(measured: list[Measured]) -> None:
    print(
        f"{'GET':44}{'status':>7}{'queries':>8}{'bytes':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'HTTP p50':>10}{'HTTP p95':>10}{'HTTP bytes':>11}"
    )
    for m in measured:
        print(
            f"{m.label:44}{m.status or '-':>7}{m.queries if m.queries is not None else '-':>8}"
            f"{m.bytes if m.bytes is not None else '-':>9}{ms(quantile(m.times, 50)):>9}"
            f"{ms(quantile(m.times, 95)):>9}{ms(quantile(m.http_times, 50)):>10}"
            f"{ms(quantile(m.http_times, 95)):>10}"
            f"{m.http_bytes if m.http_bytes is not None else '-':>11}"
        )


def targets(measured: list[Measured], sizes: list[Size], subs: Submissions) -> list[tuple]:
    by = {m.label: m for m in measured}
    small, big = f"@{sizes[0].jobs // 1000}k", f"@{sizes[-1].jobs // 1000}k"
    rows: list[tuple] = []

    def ratio(a: list[float], b: list[float]) -> float | None:
        pa, pb = quantile(a, 50), quantile(b, 50)
        return pa / pb if pa and pb else None

    bare = by["bare view (baseline)"]
    polls = (
        "poll, changed (2,000 tasks)",
        "poll, unchanged (2,000 tasks)",
        "poll, unchanged, no pass (2,000 tasks)",
    )
    for label in (p for p in polls if p in by):  # --only may have left some out
        m = by[label]
        value = m.rate / bare.rate if m.rate and bare.rate else None
        rows.append(
            (
                f"{label}: req/s over HTTP ≥ {POLL_THROUGHPUT_TARGET}× bare's",
                verdict(value, POLL_THROUGHPUT_TARGET, "×", True),
            )
        )
    unchanged = ("poll, unchanged (2,000 tasks)", "poll, unchanged (55-task fan-out)")
    for label in (u for u in unchanged if u in by):
        m = by[label]
        rows.append(
            (
                f"{label}: body ≤ {UNCHANGED_POLL_BYTES} B",
                verdict(m.bytes, UNCHANGED_POLL_BYTES, " B"),
            )
        )
    admin_of = {
        "history plain": "admin changelist",
        "history status=failed": "admin status=failed",
        "history last page": "admin last page",
        "cost overview": "admin changelist",
        "project costs": "admin changelist",
    }
    for page, admin in admin_of.items():
        if f"{page} {big}" not in by or f"{admin} {big}" not in by:
            continue
        a, b = by[f"{page} {small}"], by[f"{page} {big}"]
        rows.append(
            (
                f"{page}: {big}/{small} in process ≤ {FLAT_TARGET}×",
                verdict(ratio(b.times, a.times), FLAT_TARGET),
            )
        )
        rows.append(
            (
                f"{page}: {big}/{small} over HTTP ≤ {FLAT_TARGET}×",
                verdict(ratio(b.http_times, a.http_times), FLAT_TARGET),
            )
        )
        base = by[f"{admin} {big}"]
        rows.append(
            (
                f"{page} {big} / {admin} ≤ {ADMIN_TARGET}× (in process)",
                verdict(ratio(b.times, base.times), ADMIN_TARGET),
            )
        )
        rows.append(
            (
                f"{page} {big} / {admin} ≤ {ADMIN_TARGET}× (HTTP)",
                verdict(ratio(b.http_times, base.http_times), ADMIN_TARGET),
            )
        )
    return rows + submission_targets(subs)


def submission_targets(subs: Submissions) -> list[tuple]:
    rows: list[tuple] = []
    direct = quantile(subs.direct, 50)
    for name, values in (("in process", subs.in_process), ("over HTTP", subs.over_http)):
        app = quantile(values, 50)
        overhead = (app - direct) * 1000 if app is not None and direct is not None else None
        rows.append(
            (
                f"submission overhead over the direct call ({name}) ≤ {SUBMIT_OVERHEAD_MS:.0f} ms",
                verdict(overhead, SUBMIT_OVERHEAD_MS, " ms"),
            )
        )
    return rows


def run(args, folder: Path) -> int:
    from django.contrib.auth import get_user_model

    if args.only == ["submission"]:  # the submission rows alone: no seeding, no pages
        return run_submissions_only(args, folder)

    sizes_wanted = QUICK_SIZES if args.quick else SIZES
    sizes, long_jobs, built = build(sizes_wanted)
    print(
        f"Built {', '.join(f'{s.jobs:,} jobs + {s.tasks:,} tasks' for s in sizes)}, a 2,000-task "
        f"job, a 55-task fan-out and the rollups in {built:.1f} s "
        f"({connection.vendor}, {connection.settings_dict['NAME']}; {os.cpu_count()} CPUs)"
    )
    admin_user = get_user_model().objects.get(username="bench-admin")
    measured = selected(pages(sizes, long_jobs, admin_user), args.only)
    keep_jobs_fresh()
    clients = logged_in_clients(measured)
    with sandbox_and_bench_settings() as server_sandbox:
        measure_in_process(measured, clients, args.runs)
        raw = {
            s.jobs: statistics.median(timed(lambda o=s.data.org: costs.raw_aggregate(o), args.runs))
            for s in sizes
        }
        gunicorn = (
            None if args.no_http else start_gunicorn(server_sandbox.base_url, folder, args.redis)
        )
        try:
            if gunicorn:
                headers = cookie_headers(measured, clients)
                measure_over_http(measured, gunicorn, headers, args.runs)
                for m in measured:
                    concurrent = m.label == "bare view (baseline)" or m.is_poll
                    if concurrent and m.http_status in (200, 204):
                        url, header = gunicorn.url + m.url, headers[m.label]
                        # Every worker warmed up on this URL first (templates, connections).
                        throughput(url, header, m, seconds=1.0)
                        m.rate = throughput(url, header, m)
                        m.rate_alone = throughput(url, header, m, 1)
            subs = (
                measure_submissions(server_sandbox, gunicorn, args.runs)
                if not args.only or "submission" in args.only
                else Submissions()
            )
        finally:
            if gunicorn:
                gunicorn.stop()

    print()
    print(
        f"p50/p95 of {args.runs} runs, interleaved. In process: Django's test client (server time, "
        f"no network). HTTP: gunicorn (deploy/gunicorn.conf.py, DEBUG off, workers: "
        f"{gunicorn.workers if gunicorn else '-'}, cache: {gunicorn.cache if gunicorn else '-'}), "
        "one client, sequential; bytes = body. Polls keep the poll pass their answers hand out."
    )
    print_table(measured)
    print()
    print(
        f"Throughput over HTTP, {THROUGHPUT_SECONDS:.0f} s each, req/s with "
        f"{CONCURRENT_CLIENTS} concurrent clients (and with one):"
    )
    for m in measured:
        if m.rate:
            print(f"  {m.label:44}{m.rate:8.1f}  ({m.rate_alone or 0:.1f})")
    if gunicorn:
        boots = gunicorn.err.read_text().count("Booting worker")
        print(f"  gunicorn workers booted in the run (none recycled: --max-requests 0): {boots}")
    print()
    print("Raw aggregate SQL the rollups replace (credits by project × month), p50 in process:")
    for jobs, seconds in raw.items():
        print(f"  {jobs:>7,} jobs  {ms(seconds):>8} ms")
    print()
    print_submissions(subs)
    print()
    print_verdicts(targets(measured, sizes, subs))
    return 0


@contextmanager
def sandbox_and_bench_settings():
    """A sandbox server with its clock stopped, and the settings every measurement runs under (the
    bench's URLconf with the bare view, that sandbox, no retries, no submission rate limit)."""
    from pixxel_dashboard.sandbox.server import SandboxServer

    sandbox = SandboxServer(port=0, speed=0.0).start()
    try:
        with override_settings(
            ROOT_URLCONF="bench_urls",
            PIXXEL_API_BASE_URL=sandbox.base_url,
            PIXXEL_MAX_RETRIES=0,
            **NO_SUBMISSION_LIMITS,
        ):
            yield sandbox
    finally:
        sandbox.stop()


def run_submissions_only(args, folder: Path) -> int:
    """`--only submission`: the submission rows alone, against their baseline (the direct call),
    on an empty database (a submission's cost does not depend on the history's size)."""
    with sandbox_and_bench_settings() as sandbox:
        gunicorn = None if args.no_http else start_gunicorn(sandbox.base_url, folder, args.redis)
        try:
            subs = measure_submissions(sandbox, gunicorn, args.runs)
        finally:
            if gunicorn:
                gunicorn.stop()
    print(f"{connection.vendor}, {args.runs} runs of each, interleaved")
    print_submissions(subs)
    print()
    print_verdicts(submission_targets(subs))
    return 0


def print_submissions(subs: Submissions) -> None:
    print(
        f"Submissions (p50 ms): direct requests.post to the sandbox {ms(quantile(subs.direct, 50))}, "
        f"through the app in process {ms(quantile(subs.in_process, 50))}, over HTTP "
        f"{ms(quantile(subs.over_http, 50))}; answers {sorted(subs.statuses)}"
    )
    print(
        f"  one submission in process: {subs.queries} SQL statements; sandbox calls {subs.upstream}"
    )
    print(f"  one submission through gunicorn: sandbox calls {subs.upstream_http}")


def print_verdicts(rows: list[tuple]) -> None:
    print("Targets:")
    for label, text in rows:
        print(f"  {label:70} {text}")
    met = sum(t.startswith("met") for _, t in rows)
    missed = sum(t.startswith("MISSED") for _, t in rows)
    print(f"Verdicts: {met} met, {missed} missed, {len(rows) - met - missed} n/a")


def timed(call, runs: int) -> list[float]:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 jobs only")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per figure")
    parser.add_argument("--no-http", action="store_true", help="in process only (no gunicorn)")
    parser.add_argument("--no-explain", action="store_true", help="accepted, as history.py does")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="only the GETs whose label contains TEXT (repeatable; e.g. 'poll', 'history plain', "
        "'admin changelist'; 'submission' for the submissions; 'submission' alone: those rows and "
        "their baseline only, without seeding or pages), beside the bare view",
    )
    parser.add_argument(
        "--redis",
        default="",
        metavar="URL",
        help="gunicorn's REDIS_URL (e.g. redis://127.0.0.1:6379/7): the production option, cache "
        "and sessions in Redis; without it, the database cache and sessions (the default install)",
    )
    args = parser.parse_args()

    # One INFO line per Pixxel call would drown the report.
    logging.getLogger("pixxel_dashboard").setLevel(logging.WARNING)
    with (
        throwaway_database(HOST),
        tempfile.TemporaryDirectory(prefix="bench-baselines-") as folder,
    ):
        return run(args, Path(folder))


if __name__ == "__main__":
    sys.exit(main())
