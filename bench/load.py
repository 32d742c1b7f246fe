"""The scale-out load test: `make bench` (issue 15, "A load test"); tests/test_load.py runs it small.

The supported production shape, for real, on one machine: PostgreSQL (a throwaway database),
gunicorn with deploy/gunicorn.conf.py and WEB_CONCURRENCY=2 (one master, two web processes),
two `manage.py db_worker` processes, and the Pixxel sandbox (in this process, a real HTTP
server) answering job reads with a fault rate (500, HTML 502, 429, malformed JSON, and answers
slower than the processes' read timeout: timeouts).

  1. Members sign in through the login form and submit `--jobs` jobs through the submit form
     (a real POST with the CSRF token and the form's one-time token), spread over three
     members (the per-member submission limit). The fault rate is off while they submit: it is
     about job reads, and a refused pre-flight would only mean fewer jobs.
  2. The fault rate goes on; `--pollers` threads (each a requests.Session of a signed-in member)
     poll the jobs' pages as the page's poller does (`…/live/?v=<token>`, following the token),
     with a job page, the history and the cost overview now and then, for `--seconds`, in a
     closed loop (no think time: a stress, not a browser's pace); each poller is a tab (`Tab`)
     that polls its job until it ends, then opens the next job's page. The sandbox runs its
     clock fast enough that every job finishes within about 80 % of that time.
  3. Faults off; the workers are given time to store every job's final answer.

Checked (a failed check makes `problems()` non-empty; the test asserts it is empty):
  - no dashboard answer outside 200/204/286 (HTMX's "stop polling"), no failed request, no
    traceback in the web or worker processes' output;
  - upstream job reads counted on the sandbox's side, per job: at most one per sync interval
    (5 s for jobs this young; longer after a failure) with two workers racing and every web
    process able to refresh a stale job inline. The processes run with PIXXEL_MAX_RETRIES=0, so
    one read is one sync; with retries on, a 429/502 answer is retried inside the same sync;
  - every job's stored status, progress and cost are the sandbox's final ones;
  - no duplicate: one job per pixxel id, one Submission per form token, one upstream create
    per job;
  - the project rollups equal an SQL aggregate of the jobs.

`python bench/load.py [--jobs 20 --pollers 50 --seconds 60]` needs PostgreSQL
(DATABASE_URL=postgres://…; default postgres://postgres@127.0.0.1:5432/pd_load, in which it
creates and drops test_pd_load); without it, it says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pd_load"
JOB_READ = "GET /v0/workflows/{workflow_id}/jobs/{job_id}"
JOB_CREATE = "POST /v0/workflows/{workflow_id}/jobs"
# The shortest interval between two syncs of a job (a job under 3 minutes old, no failure:
# jobs/sync.py INTERVALS); the calls are timed on arrival at the sandbox, so two claims exactly
# one interval apart may arrive a little closer: this much is transport jitter, not a race.
MIN_INTERVAL_SECONDS = 5.0
JITTER_SECONDS = 0.2
# What the dashboard may answer a poller: a page, "nothing changed", HTMX's "stop polling".
GOOD_STATUSES = {"poll": {200, 204, 286}, "job": {200}, "history": {200}, "costs": {200}}
ORG = "load"
MEMBERS = (("lena", "owner"), ("liam", "admin"), ("lola", "member"))
PASSWORD = "load-test-password-7c1e"  # a throwaway database's users


@dataclass
class Result:
    jobs: int
    pollers: int
    seconds: float
    fault_rate: float
    speed: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    log_problems: list[str] = field(default_factory=list)
    reads_per_job: dict[str, int] = field(default_factory=dict)
    min_gap: float | None = None
    max_reads_per_interval: int = 0
    faults: Counter = field(default_factory=Counter)  # drawn by the sandbox, by kind
    server_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    state_problems: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rollups_equal: bool = False
    settle_seconds: float = 0.0
    running_at_end: int = 0  # jobs Pixxel was still running when the polling stopped
    load_average: tuple[float, float] = (0.0, 0.0)  # the machine's, before and after

    def problems(self) -> list[str]:
        found = list(self.errors[:20]) + self.log_problems + self.state_problems + self.duplicates
        if self.max_reads_per_interval > 1:
            found.append(f"{self.max_reads_per_interval} upstream reads of one job in an interval")
        if not self.rollups_equal:
            found.append("the project rollups differ from the SQL aggregate of the jobs")
        if len(self.reads_per_job) != self.jobs:
            found.append(f"only {len(self.reads_per_job)} of {self.jobs} jobs were read upstream")
        return found


# Processes --------------------------------------------------------------------------------------


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_environment(sandbox_url: str) -> dict[str, str]:
    """The product's settings (not the test run's), on this database and the sandbox."""
    from django.conf import settings

    ours = ("DJANGO_", "DEBUG", "PIXXEL", "DATABASE_", "GUNICORN_", "WEB_CONCURRENCY", "SQLITE_")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "pixxel_dashboard.settings",
        # As the other benchmarks: development settings (production's would need HTTPS).
        "DEBUG": "true",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS": ",".join(settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS),
        "PIXXEL_DASHBOARD_DERIVED_KEY_WARNED": "1",
        "PIXXEL_API_BASE_URL": sandbox_url,
        "PIXXEL_MAX_RETRIES": "0",
        "PIXXEL_CONNECT_TIMEOUT": "2",
        "PIXXEL_READ_TIMEOUT": "2",
    }


class Processes:
    """gunicorn (2 web processes) and 2 db_workers, their output in files of `logs`."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.logs = logs
        self.children: list[subprocess.Popen] = []
        web_env = {**env, "GUNICORN_BIND": "127.0.0.1:0", "WEB_CONCURRENCY": "2"}
        self.web_err = logs / "gunicorn.err"
        config = str(ROOT / "deploy" / "gunicorn.conf.py")
        self._start([sys.executable, "-m", "gunicorn", "--config", config], web_env, "gunicorn")
        for number in (1, 2):
            command = [sys.executable, "manage.py", "db_worker", "--no-startup-delay"]
            self._start([*command, "--no-reload", "--interval", "0.1"], env, f"worker{number}")
        self.url = f"http://127.0.0.1:{self._port()}"
        self._wait(lambda: self._answers(), "gunicorn answers")

    def _start(self, command: list[str], env: dict[str, str], name: str) -> None:
        # Fixed programs of this checkout (S603: no untrusted input).
        self.children.append(
            subprocess.Popen(  # noqa: S603
                command,
                cwd=ROOT,
                env=env,
                stdout=(self.logs / f"{name}.out").open("w"),
                stderr=(self.logs / f"{name}.err").open("w"),
            )
        )

    def _port(self) -> int:
        found = None

        def listening() -> bool:
            nonlocal found
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.web_err.read_text())
            return found is not None

        self._wait(listening, "gunicorn listens")
        assert found is not None
        return int(found.group(1))

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _wait(self, condition, what: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            for child in self.children:
                if child.poll() is not None:
                    raise RuntimeError(
                        f"a process ended while waiting until {what}: {child.args!r}"
                    )
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting until {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def request_times(self) -> dict[str, list[float]]:
        """gunicorn's own time per request (its access log's %(M)s, in ms), by kind of page:
        the time in Django, without the wait for a free web process the pollers also see."""
        times: dict[str, list[float]] = defaultdict(list)
        access = re.compile(r'"GET (\S+) HTTP/[\d.]+" (\d+) \S+ (\d+)ms')
        for line in (self.logs / "gunicorn.out").read_text(errors="replace").splitlines():
            found = access.search(line)
            if found:
                times[page_kind(found.group(1))].append(float(found.group(3)))
        return times

    def tracebacks(self) -> list[str]:
        """Exceptions in any process's output (a failed sync is a warning line, not this)."""
        found = []
        for path in sorted(self.logs.glob("*.err")) + sorted(self.logs.glob("*.out")):
            text = path.read_text(errors="replace")
            for match in re.finditer(r"Traceback \(most recent call last\):", text):
                found.append(f"{path.name}: {text[match.start() : match.start() + 1500]}")
        return found


class Tab:
    """A member's browser tab: a job's page, polled as its poller does (following the token)
    until the job ends and the answer says "stop polling"; then on to the next job's page. Now
    and then (10 % of its requests) the history or the cost overview in between."""

    POLL_URL = re.compile(r'hx-get="(/o/[^"]+/live/\?[^"]+)"')

    def __init__(self, job_ids: list[str], first: int, pick: random.Random):
        self.job_ids, self.index, self.pick = job_ids, first % len(job_ids), pick
        self.poll_url: str | None = None
        self.opened = False  # the current job's page has been loaded

    def next_request(self) -> tuple[str, str]:
        roll = self.pick.random()
        if roll < 0.05:
            return "history", f"/o/{ORG}/jobs/"
        if roll < 0.10:
            return "costs", f"/o/{ORG}/costs/"
        if self.poll_url is not None:
            return "poll", self.poll_url
        if self.opened:  # the job ended: its page polls no more
            self.index, self.opened = (self.index + 1) % len(self.job_ids), False
        return "job", f"/o/{ORG}/jobs/{self.job_ids[self.index]}/"

    def answered(self, kind: str, answer: requests.Response) -> None:
        if kind not in ("job", "poll"):
            return
        self.opened = True
        # A page, and a changed poll's answer, carry the next poll's address; "stop polling"
        # (and an ended job's page) none; "unchanged" (204) keeps the one it had.
        found = self.POLL_URL.search(answer.text)
        if found:
            self.poll_url = found.group(1).replace("&amp;", "&")
        elif kind == "job" or answer.status_code == 286:
            self.poll_url = None


def page_kind(path: str) -> str:
    if path.endswith("/live/"):
        return "poll"
    if path == f"/o/{ORG}/jobs/":
        return "history"
    if path == f"/o/{ORG}/costs/":
        return "costs"
    if path.startswith(f"/o/{ORG}/jobs/"):
        return "job"
    return "other"


# The run ----------------------------------------------------------------------------------------


class LoadTest:
    def __init__(self, jobs: int, pollers: int, seconds: float, fault_rate: float, logs: Path):
        self.n_jobs, self.n_pollers, self.seconds = jobs, pollers, seconds
        self.fault_rate = fault_rate
        self.logs = logs
        self.calls: list[tuple[float, str, str]] = []  # (monotonic, route, path) at the sandbox
        self.calls_lock = threading.Lock()
        self.faults: Counter = Counter()

    def run(self, settle_timeout: float = 120) -> Result:
        from django.test.utils import override_settings

        from pixxel_dashboard.sandbox import ids, seed
        from pixxel_dashboard.sandbox.server import SandboxServer

        workflow = seed.workflows()[ids.WF_LINEAR]
        # Every job done within about 80 % of the polling time (the steps run one after another;
        # 1.3: a margin for the time queued and the sandbox's spread of durations).
        speed = max(1.0, 1.3 * sum(t.duration for t in workflow.tasks) / (0.8 * self.seconds))
        result = Result(self.n_jobs, self.n_pollers, self.seconds, self.fault_rate, speed)
        before = os.getloadavg()[0]
        # Answers slower than the processes' read timeout (2 s): the "slow" fault is a timeout.
        server = SandboxServer(port=0, speed=speed, stall_seconds=5, slow_seconds=3).start()
        self._count_calls(server)
        processes = None
        try:
            with override_settings(PIXXEL_API_BASE_URL=server.base_url):
                secret = self.seed()
            processes = Processes(process_environment(server.base_url), self.logs)
            sessions = [self.sign_in(processes.url, name) for name, _role in MEMBERS]
            job_ids = self.submit(processes.url, sessions)
            server.configure(fault_rate=self.fault_rate)
            self.poll(processes.url, sessions, job_ids, result)
            server.configure(fault_rate=0.0)
            self.settle(server, secret, job_ids, result, settle_timeout)
        finally:
            server.stop()
            if processes is not None:
                processes.stop()
        result.log_problems = processes.tracebacks() if processes else []
        self.count_upstream(job_ids, result)
        result.load_average = (before, os.getloadavg()[0])
        result.faults = self.faults
        result.server_ms = processes.request_times() if processes else {}
        self.check_duplicates(job_ids, result)
        result.rollups_equal = project_rollups(self.org) == project_aggregate(self.org)
        return result

    def seed(self) -> str:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import PBKDF2PasswordHasher

        from pixxel_dashboard.accounts.models import Membership, Organization
        from pixxel_dashboard.keys import services

        self.org = Organization.objects.create(name="Load", slug=ORG)
        users = {}
        # The product's own hasher, whatever this process's settings say (the test suite's
        # fast MD5 is unknown to the web processes, which check the password at sign-in).
        hasher = PBKDF2PasswordHasher()
        for name, role in MEMBERS:
            password = hasher.encode(PASSWORD, hasher.salt())
            users[name] = get_user_model().objects.create(username=name, password=password)
            Membership.objects.create(user=users[name], organization=self.org, role=role)
        secret = f"sbx_load_{uuid.uuid4().hex}"
        services.add_key(self.org, users["lena"], "Sandbox", secret)
        return secret

    def _count_calls(self, server) -> None:
        """Every API call the sandbox records, timed (its own log keeps the last 1,000 only)."""
        app = server.app
        record = app._record

        def counted(request, template):
            with self.calls_lock:
                route = f"{request.method} {template or request.path}"
                self.calls.append((time.monotonic(), route, request.path))
            record(request, template)

        app._record = counted
        pick_fault = app._pick_fault

        def counted_fault(request):
            fault = pick_fault(request)
            if fault is not None:
                with self.calls_lock:
                    self.faults[fault] += 1
            return fault

        app._pick_fault = counted_fault

    def sign_in(self, url: str, username: str) -> requests.Session:
        session = requests.Session()
        page = session.get(f"{url}/accounts/login/", timeout=30)
        page.raise_for_status()
        form = {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        }
        signed_in = session.post(
            f"{url}/accounts/login/", data=form, allow_redirects=False, timeout=30
        )
        if signed_in.status_code != 302:
            raise RuntimeError(f"{username} could not sign in: {signed_in.status_code}")
        return session

    def submit(self, url: str, sessions: list[requests.Session]) -> list[str]:
        from pixxel_dashboard.sandbox import ids

        new_job = f"{url}/o/{ORG}/jobs/new/"
        job_ids = []
        for number in range(self.n_jobs):
            session = sessions[number % len(sessions)]
            page = session.get(new_job, timeout=30)
            token = re.search(r'name="token" value="([^"]+)"', page.text)
            if page.status_code != 200 or token is None:
                raise RuntimeError(f"the submit form did not come: {page.status_code}")
            form = {
                "project": ids.PROJECT_AGRI,
                "workflow": ids.WF_LINEAR,
                "token": token.group(1),
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            }
            sent = session.post(new_job, data=form, allow_redirects=False, timeout=60)
            where = re.fullmatch(rf"/o/{ORG}/jobs/([^/]+)/", sent.headers.get("Location", ""))
            if sent.status_code != 302 or where is None:
                raise RuntimeError(f"a submission failed: {sent.status_code} {sent.text[:500]}")
            job_ids.append(where.group(1))
        return job_ids

    def poll(self, url: str, sessions, job_ids: list[str], result: Result) -> None:
        stop = threading.Event()
        lock = threading.Lock()

        def poller(number: int) -> None:
            session = requests.Session()
            session.cookies.update(sessions[number % len(sessions)].cookies)
            tab = Tab(job_ids, number, random.Random(number))  # which page next: no secret
            while not stop.is_set():
                kind, target = tab.next_request()
                start = time.perf_counter()
                try:
                    answer = session.get(url + target, timeout=60)
                except requests.RequestException as exc:
                    with lock:
                        result.errors.append(f"{kind} {target}: {exc!r}")
                    continue
                elapsed = time.perf_counter() - start
                tab.answered(kind, answer)
                with lock:
                    result.latencies[kind].append(elapsed)
                    result.statuses[(kind, answer.status_code)] += 1
                    if answer.status_code not in GOOD_STATUSES[kind]:
                        result.errors.append(f"{kind} {target}: {answer.status_code}")

        threads = [
            threading.Thread(target=poller, args=(number,), daemon=True)
            for number in range(self.n_pollers)
        ]
        for thread in threads:
            thread.start()
        time.sleep(self.seconds)
        stop.set()
        for thread in threads:
            thread.join(90)

    def settle(self, server, secret: str, job_ids, result: Result, timeout: float) -> None:
        """Wait until every job stored is the sandbox's final answer; list what is not."""
        from pixxel_dashboard.jobs.models import Job
        from pixxel_dashboard.pixxel.parsing import parse_job
        from pixxel_dashboard.sandbox import ids
        from pixxel_dashboard.sandbox.simulation import world_of

        world = world_of(secret)
        started, first = time.monotonic(), True
        while True:
            problems = []
            stored = {job.pixxel_id: job for job in Job.objects.filter(organization=self.org)}
            for job_id in job_ids:
                view = server.simulation.get_job(world, ids.WF_LINEAR, job_id)
                final = parse_job(view)
                job = stored.get(job_id)
                if final.status not in {"succeeded", "failed"}:
                    problems.append(f"{job_id}: still {final.status} at the sandbox")
                elif job is None:
                    problems.append(f"{job_id}: not stored")
                elif (job.status, job.progress, job.cost) != (
                    final.status,
                    final.progress,
                    final.cost,
                ):
                    stored_state = (job.status, job.progress, job.cost)
                    final_state = (final.status, final.progress, final.cost)
                    problems.append(f"{job_id}: stored {stored_state}, Pixxel {final_state}")
            if first:
                result.running_at_end = sum("at the sandbox" in p for p in problems)
                first = False
            if not problems or time.monotonic() - started > timeout:
                result.state_problems = problems
                result.settle_seconds = time.monotonic() - started
                return
            time.sleep(0.5)

    def count_upstream(self, job_ids: list[str], result: Result) -> None:
        reads: dict[str, list[float]] = defaultdict(list)
        for moment, route, path in self.calls:
            if route == JOB_READ:
                reads[path.rsplit("/", 1)[1]].append(moment)
        result.reads_per_job = {job: len(reads[job]) for job in job_ids if reads[job]}
        gaps = [b - a for times in reads.values() for a, b in zip(times, times[1:], strict=False)]
        result.min_gap = min(gaps) if gaps else None
        window = MIN_INTERVAL_SECONDS - JITTER_SECONDS
        result.max_reads_per_interval = max(
            (
                sum(1 for other in times if start <= other < start + window)
                for times in reads.values()
                for start in times
            ),
            default=0,
        )

    def check_duplicates(self, job_ids: list[str], result: Result) -> None:
        from django.db.models import Count

        from pixxel_dashboard.jobs.models import Job, Submission

        found = []
        if len(set(job_ids)) != len(job_ids):
            found.append("a submission led to a job another one already had")
        pixxel_ids = Job.objects.filter(organization=self.org).values("pixxel_id")
        repeated = pixxel_ids.annotate(n=Count("pk")).filter(n__gt=1)
        if repeated.exists() or pixxel_ids.count() != self.n_jobs:
            found.append(f"{pixxel_ids.count()} jobs stored for {self.n_jobs} submitted")
        submissions = Submission.objects.filter(organization=self.org)
        if submissions.values("token").annotate(n=Count("pk")).filter(n__gt=1).exists():
            found.append("a form token has two submissions")
        if submissions.count() != self.n_jobs:
            found.append(f"{submissions.count()} submissions for {self.n_jobs} forms sent")
        creates = sum(1 for _moment, route, _path in self.calls if route == JOB_CREATE)
        if creates != self.n_jobs:
            found.append(f"Pixxel was asked {creates} times to create {self.n_jobs} jobs")
        result.duplicates = found


# Rollups against the jobs (project rows: credits, estimates, counts by status, durations) ------


def project_aggregate(org) -> dict[tuple, tuple]:
    """The project rows' measures, straight from the jobs (as tests/test_cost_rollups.py)."""
    from django.db.models import Count, F, IntegerField, Q, Sum, Value
    from django.db.models.functions import Cast, Coalesce, Round, TruncDate

    from pixxel_dashboard.costs.rollups import zone_of
    from pixxel_dashboard.jobs.models import Job

    def hundredths(name: str):
        return Coalesce(Sum(Cast(Round(F(name) * 100), IntegerField())), Value(0))

    rows = (
        Job.objects.filter(organization=org)
        .annotate(day=TruncDate("created_at", tzinfo=zone_of(org)))
        .annotate(project_ref=Coalesce("project_id", Value(0)))
        .values("project_ref", "day")
        .annotate(
            jobs=Count("pk"),
            credits=hundredths("cost"),
            estimate=hundredths("estimated_cost"),
            running=Count("pk", filter=Q(status="running")),
            succeeded=Count("pk", filter=Q(status="succeeded")),
            failed=Count("pk", filter=Q(status="failed")),
            timed_jobs=Count("pk", filter=Q(time_taken_seconds__isnull=False)),
        )
        .order_by()
    )
    found: dict[tuple, tuple] = {}
    for row in rows:
        values = dict(row)
        found[values["project_ref"], values["day"]] = tuple(values[m] for m in PROJECT_MEASURES)
    return found


PROJECT_MEASURES = ("jobs", "credits", "estimate", "running", "succeeded", "failed", "timed_jobs")


def project_rollups(org) -> dict[tuple, tuple]:
    from pixxel_dashboard.costs.models import CostRollup, Grain

    rows = CostRollup.objects.filter(organization=org, grain=Grain.PROJECT).values(
        "project_ref", "day", *PROJECT_MEASURES
    )
    return {
        (row["project_ref"], row["day"]): tuple(row[m] for m in PROJECT_MEASURES)
        for row in rows
        if any(row[m] for m in PROJECT_MEASURES)
    }


# The report -------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def inside(times_ms: list[float]) -> str:
    if not times_ms:
        return "-"
    return f"{statistics.median(times_ms):.0f} / {percentile(times_ms, 0.95):.0f}"


def report(result: Result) -> str:
    lines = [
        f"Load test: {result.jobs} jobs, {result.pollers} pollers for {result.seconds:.0f} s, "
        f"fault rate {result.fault_rate:.0%} on reads, sandbox speed {result.speed:.1f}x, "
        f"PostgreSQL, gunicorn 2 web processes, 2 db_workers",
        f"{'page':10}{'requests':>10}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'in Django p50/p95 ms':>23}",
    ]
    for kind in ("poll", "job", "history", "costs"):
        times = result.latencies.get(kind) or []
        if times:
            lines.append(
                f"{kind:10}{len(times):>10}{len(times) / result.seconds:>8.1f}"
                f"{statistics.median(times) * 1000:>9.0f}{percentile(times, 0.95) * 1000:>9.0f}"
                f"{max(times) * 1000:>9.0f}{inside(result.server_ms.get(kind, [])):>23}"
            )
    faults = ", ".join(f"{kind} {n}" for kind, n in result.faults.most_common())
    lines.append(f"faults the sandbox served: {sum(result.faults.values())} ({faults})")
    statuses = ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(result.statuses.items()))
    lines.append(f"answers: {statuses}")
    reads = sorted(result.reads_per_job.values())
    gap = f"{result.min_gap:.2f} s" if result.min_gap is not None else "-"
    lines.append(
        f"upstream job reads per job: min {reads[0] if reads else 0}, max {reads[-1] if reads else 0}; "
        f"shortest gap between two reads of a job {gap}; most reads of a job within "
        f"{MIN_INTERVAL_SECONDS - JITTER_SECONDS:.1f} s: {result.max_reads_per_interval}"
    )
    lines.append(
        f"final states stored {result.settle_seconds:.1f} s after the polling ended "
        f"({result.running_at_end} jobs were still running at the sandbox then)"
    )
    before, after = result.load_average
    lines.append(f"machine load average (1 min) before / after: {before:.1f} / {after:.1f}")
    checks = {
        "0 errors (answers, requests, tracebacks)": not (result.errors or result.log_problems),
        "<= 1 upstream read per job per interval": result.max_reads_per_interval <= 1,
        "every job in the sandbox's final state": not result.state_problems,
        "no job, submission or create duplicated": not result.duplicates,
        "project rollups = SQL aggregate of the jobs": result.rollups_equal,
    }
    for check, met in checks.items():
        lines.append(f"  {check}: {'met' if met else 'MISSED'}")
    for problem in result.problems():
        lines.append(f"  problem: {problem[:300]}")
    return "\n".join(lines)


# `make bench` -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = DEFAULT_DATABASE_URL
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "pixxel_dashboard.settings"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("PIXXEL_DASHBOARD_DERIVED_KEY_WARNED", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.db.utils import OperationalError

    real_name = connection.settings_dict["NAME"]
    try:
        # test_<name>, made (and dropped) through the server's maintenance database.
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    except OperationalError as exc:
        print(f"Load test skipped: it needs PostgreSQL ({url}): {exc}")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="pixxel-load-") as logs:
            test = LoadTest(args.jobs, args.pollers, args.seconds, args.fault_rate, Path(logs))
            result = test.run()
            print(report(result))
    finally:
        connection.close()
        connection.creation.destroy_test_db(real_name, verbosity=0)
    return 1 if result.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
