"""Worker throughput and the cost of one sync: `make bench` (issue 15, "Worker throughput").

In a throwaway database (SQLite by default; `DATABASE_URL=postgres://…/pd_bench` for PostgreSQL),
against a real sandbox server (HTTP, in this process, its clock stopped so answers change only
when the benchmark moves it), with `--jobs` running jobs of 10 tasks (500) and one of 2,000 tasks:

  - statements and commits of one background sync (`sync_job_task.call`, in process) for an
    unchanged and a changed answer, in total and after Pixxel's answer arrived;
  - the 2,000-task job: a changed answer's time and how many task rows it wrote (vs changed);
  - syncs per second with 1 and 2 real `manage.py db_worker` processes draining one queued run
    per job, for unchanged and for changed answers. Real processes, not threads: a deployment
    runs processes, and two Python threads would share one GIL and measure the GIL. The workers
    run with development settings (DEBUG on, as the other benchmarks) and share the machine with
    the sandbox and the database server.

Commits are counted as the database sees them: a write statement in autocommit mode is its own
transaction; an outermost atomic block that wrote commits once (reads commit nothing to disk).

Baseline in the same run: the same measurements on the code before this work (`--baseline`, a
git ref, extracted with `git archive` into a temporary folder; `--baseline none` skips it and
the issue's figures stand in). Prints figures, targets and verdicts; exits 0 (figures, not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# main just before the lean sync (issue 15): the code the issue's figures describe.
BASELINE_REF = "c04c6af"
ISSUE_FIGURES = "issue 15: 1 worker 50 syncs/s on SQLite, 29/s on PostgreSQL (2 workers: 46/s); 19 statements, ~11 commits per sync"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--baseline", default=BASELINE_REF, help="a git ref, or 'none'")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args.jobs)

    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="pixxel-bench-baseline-") as folder:
        codes = []
        if args.baseline != "none":
            baseline = extract(args.baseline, Path(folder))
            if baseline is None:
                print(f"(baseline {args.baseline} could not be extracted; {ISSUE_FIGURES})")
            else:
                codes.append((f"baseline {args.baseline}", baseline))
        codes.append(("this code", ROOT))
        for label, code in codes:
            print(f"measuring {label} …", file=sys.stderr, flush=True)
            runs[label] = run_measurement(code, args.jobs)
    report(runs, args.jobs)
    return 0


def extract(ref: str, folder: Path) -> Path | None:
    # Fixed programs on our own checkout (S603/S607: no untrusted input here).
    archive = subprocess.run(  # noqa: S603
        ["git", "-C", str(ROOT), "archive", ref],  # noqa: S607
        capture_output=True,
    )
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)  # noqa: S603, S607
    return folder


def run_measurement(code: Path, jobs: int) -> dict:
    child = subprocess.run(  # noqa: S603
        [sys.executable, str(Path(__file__).resolve()), "--measure", "--jobs", str(jobs)],
        env={**os.environ, "BENCH_CODE": str(code), "DEBUG": os.environ.get("DEBUG", "true")},
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise SystemExit(f"the measurement failed:\n{child.stderr[-4000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


# The measurement (a child process, on the code in BENCH_CODE) -------------------------------------


def measure(jobs: int) -> int:
    code = Path(os.environ["BENCH_CODE"])
    sys.path.insert(0, str(code))
    os.chdir(code)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pixxel_dashboard.settings")
    os.environ.setdefault("PIXXEL_DASHBOARD_DERIVED_KEY_WARNED", "1")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    real_name = connection.settings_dict["NAME"]
    # A database of its own: a file for SQLite (TEST NAME in settings: the workers share it),
    # test_<name> for PostgreSQL.
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    from pixxel_dashboard.sandbox.server import SandboxServer

    server = SandboxServer(port=0, speed=0.0).start()
    try:
        with override_settings(PIXXEL_API_BASE_URL=server.base_url, PIXXEL_MAX_RETRIES=0):
            figures = Bench(server, jobs).run()
    finally:
        server.stop()
        connection.close()
        connection.creation.destroy_test_db(real_name, verbosity=0)
    print(json.dumps(figures))
    return 0


class Ledger:
    """Statements and commits (see the module's docstring), and where Pixxel's answer came."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

    def __init__(self, connection):
        self.connection = connection
        self.statements: list[str] = []
        self.commits = 0
        self.at_answer = (0, 0)
        self._block_wrote = False

    def __call__(self, execute, sql, params, many, context):
        if not sql.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            self.statements.append(sql)
        if sql.lstrip().upper().startswith(self.WRITES):
            if self.connection.in_atomic_block:
                self._block_wrote = True
            else:
                self.commits += 1
        return execute(sql, params, many, context)

    def record(self, call) -> dict:
        from pixxel_dashboard.pixxel import PixxelClient

        connection = self.connection
        real_commit, real_get_job = connection.commit, PixxelClient.get_job

        def commit():
            if self._block_wrote:
                self.commits += 1
            self._block_wrote = False
            real_commit()

        def get_job(client, *args, **kwargs):
            answer = real_get_job(client, *args, **kwargs)
            self.at_answer = (len(self.statements), self.commits)
            return answer

        connection.commit = commit
        PixxelClient.get_job = get_job
        try:
            with connection.execute_wrapper(self):
                call()
        finally:
            del connection.commit
            PixxelClient.get_job = real_get_job
        return {
            "statements": len(self.statements),
            "commits": self.commits,
            "statements_after_answer": len(self.statements) - self.at_answer[0],
            "commits_after_answer": self.commits - self.at_answer[1],
            "job_row_updates": sum(s.startswith('UPDATE "jobs_job" ') for s in self.statements),
        }


class Bench:
    def __init__(self, server, jobs: int):
        self.server = server
        self.sim = server.simulation
        self.n = jobs

    def run(self) -> dict:
        from django.db import connection

        self.seed()
        figures: dict = {"vendor": connection.vendor, "jobs": self.n}
        figures["direct_get_ms"] = self.direct_get_ms()
        figures["unchanged"], figures["changed"] = self.statements()
        figures["big"] = self.big_job()
        for answers in ("changed", "unchanged"):
            for workers in (1, 2):
                if answers == "changed":
                    self.sim.advance(60)  # every job's running task moves on
                figures[f"rate_{answers}_{workers}"] = self.throughput(workers)
        return figures

    def seed(self) -> None:
        import dataclasses
        import uuid

        from django.contrib.auth import get_user_model

        from pixxel_dashboard.accounts.models import Membership, Organization, Role
        from pixxel_dashboard.jobs.models import Job
        from pixxel_dashboard.jobs.persist import save_job
        from pixxel_dashboard.keys import services
        from pixxel_dashboard.pixxel.parsing import parse_job
        from pixxel_dashboard.sandbox import seed, simulation

        self.org = Organization.objects.create(name="Bench", slug="bench")
        user = get_user_model().objects.create_user("bench", password="x")
        Membership.objects.create(user=user, organization=self.org, role=Role.OWNER)
        secret = f"sbx_bench_{uuid.uuid4().hex}"
        services.add_key(self.org, user, "Bench", secret)
        world = simulation.world_of(secret)
        long = seed.workflows()[seed.WF_CHAIN_2000]
        # Ten slow steps (2,000 s each), started three hours ago: running, and old enough that
        # the chain's next run is minutes away (no run of the next round sneaks into a timing).
        slow = tuple(dataclasses.replace(t, duration=2000.0) for t in long.tasks[:10])
        short = dataclasses.replace(long, tasks=slow)
        now = self.sim.now()
        made = []
        for i in range(self.n + 1):
            workflow, started = (short, now - 3 * 3600) if i else (long, now - 1500)
            job_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-worker-{i}"))
            sim_job = simulation.planned_job(job_id, world, workflow, "bench-project", started)
            with self.sim.lock:
                self.sim._jobs.setdefault(world, {})[job_id] = sim_job
            made.append(sim_job)
        # Stored as Pixxel said it a minute ago: every job's first sync sees a change.
        for sim_job in made:
            parsed = parse_job(simulation.job_view(sim_job, now - 60))
            save_job(self.org, parsed, workflow_pixxel_id=long.id)
        jobs = Job.objects.filter(organization=self.org)
        self.big = jobs.get(pixxel_id=made[0].id)
        self.small = list(jobs.exclude(pk=self.big.pk).order_by("pk"))
        self.big_sim = made[0]

    def direct_get_ms(self) -> float:
        """Pixxel's (the sandbox's) own cost of one job answer: the floor under any sync."""
        import statistics

        from pixxel_dashboard.keys.services import client_for_organization

        client, _ = client_for_organization(self.org)
        job = self.small[0]
        times = []
        with client:
            for _ in range(50):
                start = time.perf_counter()
                client.get_job(job.workflow_pixxel_id, job.pixxel_id)
                times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    def _due(self, job) -> None:
        from pixxel_dashboard.jobs.models import Job

        Job.objects.filter(pk=job.pk).update(sync_claimed_at=None, sync_scheduled_for=None)

    def statements(self) -> tuple[dict, dict]:
        from django.db import connection

        from pixxel_dashboard.jobs.sync import sync_job_task

        job = self.small[0]
        self._due(job)
        sync_job_task.call(job.pk)  # stores the current answer (and warms every cache)
        self._due(job)
        unchanged = Ledger(connection).record(lambda: sync_job_task.call(job.pk))
        self.sim.advance(60)
        self._due(job)
        changed = Ledger(connection).record(lambda: sync_job_task.call(job.pk))
        return unchanged, changed

    def big_job(self) -> dict:
        """A changed answer of the 2,000-task job: time, task rows written vs tasks changed."""
        import statistics

        from pixxel_dashboard.jobs.models import Job, Task
        from pixxel_dashboard.jobs.sync import sync_job_task
        from pixxel_dashboard.sandbox import simulation

        big = self.big
        self._due(big)
        sync_job_task.call(big.pk)
        times, written, changed = [], [], []
        for _ in range(5):
            before = simulation.job_view(self.big_sim, self.sim.now())["tasks"]
            self.sim.advance(2)  # a step or two of the chain moves on
            after = simulation.job_view(self.big_sim, self.sim.now())["tasks"]
            changed.append(sum(a != b for a, b in zip(before, after, strict=True)))
            self._due(big)
            start = time.perf_counter()
            sync_job_task.call(big.pk)
            times.append(time.perf_counter() - start)
            version = Job.objects.get(pk=big.pk).version
            written.append(Task.objects.filter(job=big, changed_in=version).count())
        return {
            "changed_ms": statistics.median(times) * 1000,
            "rows_written": written,
            "tasks_changed": changed,
        }

    def throughput(self, workers: int) -> dict:
        """Syncs per second of `workers` db_worker processes draining one queued run per job."""
        from django.db import connection
        from django.db.models import Max, Min
        from django_tasks_db.models import DBTaskResult

        from pixxel_dashboard.jobs.models import Job
        from pixxel_dashboard.jobs.sync import schedule_sync

        DBTaskResult.objects.all().delete()
        Job.objects.filter(pk__in=[j.pk for j in self.small]).update(
            sync_claimed_at=None, sync_scheduled_for=None, last_synced_at=None
        )
        for job in self.small:
            job.sync_scheduled_for = None
            schedule_sync(job)
        first = set(DBTaskResult.objects.values_list("pk", flat=True))
        connection.close()  # SQLite: no reader holding the file while the workers write
        env = self.worker_environment()
        started = time.perf_counter()
        procs = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload"]
                + ["--interval", "0.05"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        try:
            while DBTaskResult.objects.filter(pk__in=first, status="READY").exists() or (
                DBTaskResult.objects.filter(pk__in=first, status="RUNNING").exists()
            ):
                assert time.perf_counter() - started < 600, "the workers did not finish"
                time.sleep(0.2)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        done = DBTaskResult.objects.filter(pk__in=first)
        window = done.aggregate(start=Min("started_at"), end=Max("finished_at"))
        seconds = (window["end"] - window["start"]).total_seconds()
        synced = Job.objects.filter(
            pk__in=[j.pk for j in self.small], last_synced_at__isnull=False
        ).count()
        return {
            "syncs_per_second": len(first) / seconds,
            "seconds": seconds,
            "runs": len(first),
            "failed_runs": done.exclude(status="SUCCESSFUL").count(),
            "jobs_synced": synced,
        }

    def worker_environment(self) -> dict[str, str]:
        from django.conf import settings
        from django.db import connection

        db = connection.settings_dict
        env = {
            **os.environ,
            "PIXXEL_API_BASE_URL": self.server.base_url,
            "PIXXEL_MAX_RETRIES": "0",
            "SECRET_KEY": settings.SECRET_KEY,
            "PIXXEL_DASHBOARD_ENCRYPTION_KEYS": ",".join(settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS),
        }
        if connection.vendor == "sqlite":
            env["SQLITE_PATH"] = db["NAME"]
            env.pop("DATABASE_URL", None)
        else:
            auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
            host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            env["DATABASE_URL"] = f"postgres://{auth}@{host}/{db['NAME']}"
        return env


# The report ---------------------------------------------------------------------------------------


def report(runs: dict[str, dict], jobs: int) -> None:
    labels = list(runs)
    vendor = next(iter(runs.values()))["vendor"]
    print(f"\nWorker: {jobs} running jobs of 10 tasks and one of 2,000, on {vendor}\n")
    print(f"{'':52}" + "".join(f"{label:>26}" for label in labels))

    def row(title: str, pick) -> None:
        print(f"{title:52}" + "".join(f"{pick(runs[label]):>26}" for label in labels))

    row("Pixxel's own answer (direct GET, ms, median)", lambda r: f"{r['direct_get_ms']:.1f}")
    for kind in ("unchanged", "changed"):
        row(
            f"{kind} answer: statements / commits, whole run",
            lambda r, k=kind: f"{r[k]['statements']} / {r[k]['commits']}",
        )
        row(
            f"{kind} answer: statements / commits after it",
            lambda r, k=kind: f"{r[k]['statements_after_answer']} / {r[k]['commits_after_answer']}",
        )
        row(f"{kind} answer: UPDATEs of the job row", lambda r, k=kind: r[k]["job_row_updates"])
    row("2,000 tasks, changed answer (ms, median of 5)", lambda r: f"{r['big']['changed_ms']:.0f}")
    row(
        "2,000 tasks: task rows written (tasks changed)",
        lambda r: " ".join(
            f"{w}({c})"
            for w, c in zip(r["big"]["rows_written"], r["big"]["tasks_changed"], strict=True)
        ),
    )
    for answers in ("unchanged", "changed"):
        for workers in (1, 2):
            row(
                f"syncs/s, {answers} answers, {workers} worker{'s' * (workers > 1)}",
                lambda r, a=answers, w=workers: (
                    f"{r[f'rate_{a}_{w}']['syncs_per_second']:.0f}"
                    + (" !" if r[f"rate_{a}_{w}"]["failed_runs"] else "")
                ),
            )
    now = runs["this code"]
    print("\nTargets (this code):")
    unchanged = now["unchanged"]
    checks = [
        (
            "unchanged answer ≤ 3 statements, 1 commit (after the answer)",
            unchanged["statements_after_answer"] <= 3 and unchanged["commits_after_answer"] <= 1,
            f"{unchanged['statements_after_answer']} statement(s), "
            f"{unchanged['commits_after_answer']} commit(s); whole run "
            f"{unchanged['statements']} / {unchanged['commits']} (load, claim + next run, answer)",
        ),
        (
            "only changed task rows written (2,000-task job)",
            now["big"]["rows_written"] == now["big"]["tasks_changed"],
            f"written {now['big']['rows_written']}, changed {now['big']['tasks_changed']}",
        ),
    ]
    best = max(now[f"rate_{a}_2"]["syncs_per_second"] for a in ("unchanged", "changed"))
    worst = min(now[f"rate_{a}_2"]["syncs_per_second"] for a in ("unchanged", "changed"))
    checks.append(
        (
            "≥ 100 syncs/s with 2 workers (PostgreSQL)",
            worst >= 100 if vendor == "postgresql" else None,
            f"{worst:.0f}–{best:.0f}/s (changed–unchanged)"
            + ("" if vendor == "postgresql" else ": the target is PostgreSQL's, reported here"),
        )
    )
    for title, ok, detail in checks:
        verdict = "reported" if ok is None else ("met" if ok else "MISSED")
        print(f"  {title:62} {verdict}: {detail}")


if __name__ == "__main__":
    sys.exit(main())
