"""The live job page at scale: `make bench` (issue 9, "Jobs with 2,000 tasks").

Builds, in a throwaway in-memory database, a job of 10 chained tasks and one of 2,000 (the
sandbox's "Coastline strips" workflow), each half-way through its run, then measures through
Django's test client (in process: server time, no network), on the configured database
engine (SQLite by default; `DATABASE_URL=postgres://…/pd_bench make bench` for PostgreSQL):

  - the page: HTML size, server time;
  - a poll that sees one task change: bytes sent, raw and gzip-compressed (GZipMiddleware);
  - a poll that sees nothing change: server time, and whether it touched the task rows or the
    job's raw Pixxel document.

Prints each figure with its target and verdict (met / missed by how much). Figures go into
docs/performance.md with the machine they were taken on. Not a test: timings vary by machine.
"""

from __future__ import annotations

import dataclasses
import gzip
import html
import os
import re
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pixxel_dashboard.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import throwaway_database  # noqa: E402
from timing import median_seconds  # noqa: E402

RUNS = 25


def main() -> int:
    with throwaway_database():
        return run()


def build_job(org, workflow, now: float):
    """A job of `workflow` half-way through its run; returns (job, sim job) for later steps."""
    from pixxel_dashboard.jobs.models import Job
    from pixxel_dashboard.jobs.persist import save_job
    from pixxel_dashboard.pixxel.parsing import parse_job
    from pixxel_dashboard.sandbox import simulation

    total = sum(t.duration for t in workflow.tasks) + workflow.queue_seconds
    created = now - total / 2
    plan, end = simulation.plan_job(workflow, created)
    job_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{len(workflow.tasks)}"))
    sim_job = simulation.Job(job_id, "bench", workflow, "p", "u", created, plan, end)
    job, _ = save_job(org, parse_job(simulation.job_view(sim_job, now)))
    mark_synced(job)
    return Job.objects.get(pk=job.pk), sim_job


def mark_synced(job) -> None:
    from pixxel_dashboard.jobs.models import Job

    moment = timezone.now()
    Job.objects.filter(pk=job.pk).update(last_synced_at=moment, sync_claimed_at=moment)


def next_poll(page) -> str:
    """The poll URL a job page carries (version, status, which rows it shows)."""
    return html.unescape(re.search(r'data-job-poll hx-get="([^"]+)"', page.content.decode())[1])


def token(job) -> str:
    from pixxel_dashboard.jobs.views_detail import live_token

    job.refresh_from_db()
    return live_token(job)


def run() -> int:
    from pixxel_dashboard.accounts.models import Membership, Organization, Role
    from pixxel_dashboard.jobs.models import Job, Task
    from pixxel_dashboard.jobs.persist import save_job
    from pixxel_dashboard.pixxel.parsing import parse_job
    from pixxel_dashboard.sandbox import seed, simulation

    org = Organization.objects.create(name="Bench", slug="bench")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench", password="x")
    Membership.objects.create(user=user, organization=org, role=Role.OWNER)
    client = Client()
    client.force_login(user)

    long = seed.workflows()[seed.WF_CHAIN_2000]
    short = dataclasses.replace(long, id="bench-10", tasks=long.tasks[:10])
    now = time.time()
    results = {}
    for workflow in (short, long):
        n = len(workflow.tasks)
        job, sim_job = build_job(org, workflow, now)
        url = job.get_absolute_url()
        page = client.get(url)
        assert page.status_code == 200, page.status_code

        # A poll that sees a change: Pixxel a second later (the running task moved on).
        poll_url = next_poll(page)  # what the browser asks next
        token(job)
        save_job(org, parse_job(simulation.job_view(sim_job, now + 1)))
        mark_synced(job)
        changed_rows = Task.objects.filter(job=job, changed_in__gt=job.version).count()
        raw = client.get(poll_url).content
        zipped = client.get(poll_url, headers={"Accept-Encoding": "gzip"})
        assert zipped.get("Content-Encoding") == "gzip"
        # The same answer, compressed (up to a clock reading: the two may straddle a second).
        assert abs(len(gzip.decompress(zipped.content)) - len(raw)) < 100
        # A poll that sees nothing new (the page now shows the latest version).
        idle_url = next_poll(client.get(url))
        assert client.get(idle_url).status_code == 204
        with CaptureQueriesContext(connection) as queries:
            client.get(idle_url)
        sql = " ".join(q["sql"] for q in queries.captured_queries)
        idle_touches = [
            what
            for what, needle in (
                ("task rows", '"jobs_task"'),
                ("raw document", '"jobs_jobdocument"'),
            )
            if needle in sql
        ]

        results[n] = {
            "url": url,
            "idle_url": idle_url,
            "page_bytes": len(page.content),
            "page_gzip": len(gzip.compress(page.content)),
            "idle_queries": len(queries.captured_queries),
            "idle_touches": idle_touches,
            "poll_bytes": len(raw),
            "poll_gzip": len(zipped.content),
            "changed_rows": changed_rows,
        }

    small, big = results[10], results[2000]
    # Neither job is due for a sync while timing (a small, fresh job is synced every 5 s): a sync
    # attempt would change what an unchanged poll answers.
    for job in Job.objects.all():
        mark_synced(job)

    def first_view(url: str):
        # The sync that stores a version analyses its dependencies for the page (cached per
        # version); a view that finds it gone from the cache (expired, or the cache restarted)
        # computes it: the cache emptied, then the page.
        cache.clear()
        return client.get(url)

    calls = {
        (n, what): (lambda u=r[key]: client.get(u))
        for n, r in results.items()
        for what, key in (("page_time", "url"), ("idle_time", "idle_url"))
    }
    calls.update(
        {(n, "first_time"): (lambda u=r["url"]: first_view(u)) for n, r in results.items()}
    )
    timed = median_seconds(calls, RUNS)
    for (n, what), seconds in timed.items():
        results[n][what] = seconds
    for r in results.values():
        assert client.get(r["idle_url"]).status_code == 204, "a poll saw a change while timing"
    print(f"{'':44}{'10 tasks':>14}{'2,000 tasks':>14}")
    rows = [
        ("page HTML (bytes)", "page_bytes", "{:,}"),
        ("page HTML gzip (bytes)", "page_gzip", "{:,}"),
        ("page server time (ms, median)", "page_time", "ms"),
        ("  with the analysis not cached (ms, median)", "first_time", "ms"),
        ("changed poll, rows changed", "changed_rows", "{}"),
        ("changed poll (bytes)", "poll_bytes", "{:,}"),
        ("changed poll gzip (bytes)", "poll_gzip", "{:,}"),
        ("unchanged poll server time (ms, median)", "idle_time", "ms"),
        ("unchanged poll queries", "idle_queries", "{}"),
    ]
    for label, key, fmt in rows:
        cells = [
            f"{r[key] * 1000:.1f}" if fmt == "ms" else fmt.format(r[key]) for r in (small, big)
        ]
        print(f"{label:44}{cells[0]:>14}{cells[1]:>14}")

    def verdict(value: float, limit: float, unit: str) -> str:
        if value <= limit:
            return f"met ({value:,.2f}{unit} ≤ {limit:,.2f}{unit})"
        return f"MISSED by {value - limit:,.2f}{unit} ({value:,.2f}{unit} > {limit:,.2f}{unit})"

    print()
    print(
        "The page when the dependency analysis is not cached (the view computes it): "
        f"{big['first_time'] / small['first_time']:.2f}× the 10-task job's (reported, not a target)"
    )
    print()
    print("Targets (2,000 tasks):")
    checks = [
        ("page HTML ≤ 1 MB", verdict(big["page_bytes"] / 1e6, 1.0, " MB")),
        (
            "page server time ≤ 3× the 10-task job's",
            verdict(big["page_time"] / small["page_time"], 3.0, "×"),
        ),
        ("changed poll (one changed task) ≤ 50 KB", verdict(big["poll_bytes"] / 1e3, 50, " KB")),
        (
            "unchanged poll time ≤ 1.5× the 10-task job's",
            verdict(big["idle_time"] / small["idle_time"], 1.5, "×"),
        ),
        (
            "unchanged poll loads no task rows, no raw document",
            "met" if not big["idle_touches"] else "MISSED: loads " + ", ".join(big["idle_touches"]),
        ),
    ]
    for label, text in checks:
        print(f"  {label:52} {text}")
    return 0 if all(not text.startswith("MISSED") for _, text in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
