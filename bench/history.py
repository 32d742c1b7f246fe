"""The team's job history at scale: `make bench` (issue 12, "Performance").

Builds, in a throwaway database (SQLite by default; `DATABASE_URL=postgres://…/pd_bench` for
PostgreSQL), two organizations over the last 12 months: "big" with 100,000 jobs and "small" with
1,000 (8 projects, 30 workflows of very unequal use, 10 members, every status, costs, durations,
failure reasons) and 200 failed submissions each. Then, through Django's test client (in process:
server time, no network), logged in as a member of each:

  - every view of `/o/<org>/jobs/` (filters, search, sorts, page 500 reached by following
    rel=next, the last page by rel=last, the failed submissions): server time for both
    organizations side by side (median, interleaved run by run), the big/small ratio, the big
    organization's SQL query count, response size and the rows it lists;
  - the baseline: Django admin's changelist of the same jobs at 50 a page, and history/admin;
  - the CSV export of every job: rows per second and the memory it takes (tracemalloc's peak, and
    the process's peak RSS), big against small: a streamed export takes the same for both;
  - the EXPLAIN of each view's main query (the one on jobs_job with a LIMIT).

Prints each figure with its target and verdict (met / missed by how much); exits 0 (a report, not
a test: timings vary by machine). `--quick` uses 10,000 jobs against 1,000. Figures go into
docs/performance.md with the machine they were taken on.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import html
import math
import os
import random
import re
import resource
import sys
import time
import traceback
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pixxel_dashboard.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import ms, print_tally, throwaway_database, verdict  # noqa: E402
from timing import median_seconds  # noqa: E402

PAGE_SIZE = 50
BATCH = 5_000
N_PROJECTS = 8
N_WORKFLOWS = 30
N_MEMBERS = 10
N_FAILED_SUBMISSIONS = 200

RATIO_TARGET = 1.5  # big organization / small organization
QUERY_TARGET = 10  # SQL queries per request
ADMIN_TARGET = 0.5  # history / Django admin's changelist
CSV_MEMORY_SLACK_MB = 10.0  # the big export's peak may exceed the small one's by this much

WORDS = [
    "Coastline",
    "Crop",
    "Flood",
    "Forest",
    "Glacier",
    "Harbour",
    "Methane",
    "Mining",
    "Snow",
    "Urban",
    "Vineyard",
    "Wetland",
    "Wildfire",
    "Desert",
    "Delta",
]
KINDS = ["strips", "health", "extent", "mosaic", "change", "index", "mask", "tiles"]
FAILURE_REASONS = [
    "Task 'ortho' failed: input scene has no overlap with the area of interest",
    "Task 'cloud-mask' failed: cloud cover 93 % above the 60 % limit",
    "Validation: component 'ndvi' expects 4 bands, got 3",
    "Task 'tiler' failed: out of memory (exit 137)",
    "Task 'fetch' failed: archive returned HTTP 503 after 5 attempts",
    "Quota exceeded: monthly credits of the project are spent",
]


# --- the data ------------------------------------------------------------------------------


@dataclasses.dataclass
class OrgData:
    """One organization of the benchmark and what its query strings need."""

    key: str  # "big" or "small"
    org: object
    member: object  # the user who browses
    jobs: int
    by_username: str
    job_prefix: str  # the first 8 characters of one of its job ids
    month: tuple[str, str]  # from, to (YYYY-MM-DD)


def workflow_weights() -> list[float]:
    """Very unequal use: the first workflow runs ~45 % of the jobs, the last ~0.3 %."""
    return [1 / (i + 1) ** 1.5 for i in range(N_WORKFLOWS)]


def workflow_name(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]} {KINDS[i % len(KINDS)]} v{1 + i // len(WORDS)}"


def project_id(i: int) -> str:
    return f"prj-{i:02d}"


def workflow_id(i: int) -> str:
    return f"wf-{i:02d}"


@contextmanager
def explicit_timestamps() -> Iterator[None]:
    """Let bulk_create store the created_at we give (auto_now_add would stamp every row now)."""
    from pixxel_dashboard.jobs.models import Job, Submission

    fields = [
        Job._meta.get_field("created_at"),
        Job._meta.get_field("updated_at"),
        Submission._meta.get_field("created_at"),
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]  # type: ignore[union-attr]
    for f in fields:
        f.auto_now = f.auto_now_add = False  # type: ignore[union-attr]
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add  # type: ignore[union-attr]


def has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def duration_text(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60}m{s % 60}s"


def job_values(rng: random.Random, now: dt.datetime) -> dict:
    """Status, times, duration, progress and credits of one job."""
    status = rng.choices(
        ["succeeded", "failed", "running", "queued", "unknown"], [80, 15, 2.5, 1.5, 1]
    )[0]
    if status in ("running", "queued"):
        created = now - dt.timedelta(seconds=rng.uniform(60, 6 * 3600))
    else:
        created = now - dt.timedelta(seconds=rng.uniform(6 * 3600, 365 * 86400))
    values: dict = {
        "status": status,
        "status_raw": status.upper(),
        "created_at": created,
        "pixxel_created_at": created,
        "updated_at": created,
    }
    if status in ("succeeded", "failed"):
        seconds = rng.lognormvariate(7, 1.2)  # median ~18 min, some many hours
        finished = created + dt.timedelta(seconds=seconds)
        values.update(
            time_taken_seconds=round(seconds, 1),
            time_taken=duration_text(seconds),
            finished_at=finished,
            pixxel_updated_at=finished,
            updated_at=finished,
            progress=100.0 if status == "succeeded" else round(rng.uniform(5, 95), 1),
            cost=Decimal(f"{rng.uniform(0.5, 900) * (1 if status == 'succeeded' else 0.4):.2f}"),
        )
    elif status == "running":
        values["progress"] = round(rng.uniform(1, 99), 1)
    elif status == "queued":
        values["progress"] = 0.0
    return values


def make_jobs(od_org, count: int, projects, workflows, members, rng, now) -> Iterator[list]:
    """The organization's jobs in batches of BATCH (never all in memory at once)."""
    from pixxel_dashboard.jobs.models import Job

    with_reason = has_field(Job, "failure_reason")  # the field issue 12 adds
    weights = workflow_weights()
    member_weights = [N_MEMBERS - i for i in range(N_MEMBERS)]
    batch: list = []
    for _ in range(count):
        wf_index = rng.choices(range(N_WORKFLOWS), weights)[0]
        workflow = workflows[wf_index]
        values = job_values(rng, now)
        imported = rng.random() < 0.03
        job = Job(
            organization=od_org,
            pixxel_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            project=projects[wf_index % N_PROJECTS],
            workflow=workflow,
            workflow_pixxel_id=workflow.pixxel_id,
            submitted_by=None if imported else rng.choices(members, member_weights)[0],
            source="imported" if imported else "submitted",
            estimated_cost=Decimal(f"{rng.uniform(1, 600):.2f}"),
            estimated_duration=rng.uniform(300, 7200),
            created_by_pixxel="bench@example.com",
            last_synced_at=now,
            **values,
        )
        if with_reason and values["status"] == "failed":
            job.failure_reason = rng.choice(FAILURE_REASONS)  # type: ignore[attr-defined]
        batch.append(job)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def make_submissions(org, projects, workflows, members, rng, now) -> list:
    from pixxel_dashboard.jobs.models import FailureKind, Outcome, Submission

    kinds = [k for k in FailureKind.values if k != "no_key"]
    rows = []
    for _ in range(N_FAILED_SUBMISSIONS):
        i = rng.randrange(N_WORKFLOWS)
        kind = rng.choice(kinds)
        rows.append(
            Submission(
                organization=org,
                token=uuid.UUID(int=rng.getrandbits(128), version=4),
                user=rng.choice(members),
                project=projects[i % N_PROJECTS],
                project_pixxel_id=project_id(i % N_PROJECTS),
                workflow=workflows[i],
                workflow_pixxel_id=workflow_id(i),
                estimated_cost=Decimal(f"{rng.uniform(1, 600):.2f}"),
                created_at=now - dt.timedelta(seconds=rng.uniform(0, 365 * 86400)),
                outcome=Outcome.FAILED,
                http_status=rng.choice([400, 401, 403, 422, 429, 500, 502, None]),
                error_kind=kind,
                error_code=f"E{rng.randrange(100, 999)}",
                error_message="Pixxel refused the job: " + rng.choice(FAILURE_REASONS),
                user_message="Pixxel did not accept the job. " + rng.choice(FAILURE_REASONS),
                latency_ms=rng.randrange(40, 4000),
            )
        )
    return rows


def insert_jobs(org, jobs: int, projects, workflows, members, seed: int, now) -> None:
    """bulk_create the jobs from one process per CPU (at most 4): Django's preparation of each
    value, not the database, is most of the time; the database serialises the inserts."""
    from pixxel_dashboard.jobs.models import Job

    workers = max(1, min(4, os.cpu_count() or 1, jobs // BATCH))
    connection.close()  # each process opens its own
    children = []
    for worker in range(workers):
        share = jobs // workers + (1 if worker < jobs % workers else 0)
        pid = os.fork()
        if pid:
            children.append(pid)
            continue
        status = 0
        try:
            # SQLite: take the write lock at the INSERT, not at BEGIN (bulk_create prepares the
            # values inside its transaction, and that part can run in parallel).
            connection.settings_dict["OPTIONS"].pop("transaction_mode", None)
            rng = random.Random(seed + worker)
            for batch in make_jobs(org, share, projects, workflows, members, rng, now):
                Job.objects.bulk_create(batch, batch_size=BATCH)
            connection.close()
        except BaseException:
            traceback.print_exc()
            status = 1
        finally:
            os._exit(status)  # never the parent's cleanup (it drops the database)
    failed = [pid for pid in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])]
    if failed:
        raise RuntimeError(f"{len(failed)} of {workers} processes creating jobs failed")


def build_org(key: str, jobs: int, rng: random.Random, now: dt.datetime) -> OrgData:
    from django.contrib.auth import get_user_model

    from pixxel_dashboard.accounts.models import Membership, Organization, Role
    from pixxel_dashboard.jobs.models import Job, Project, Submission, Workflow

    org = Organization.objects.create(name=key.title(), slug=key)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{key}-member-{i}", password="!") for i in range(N_MEMBERS)
    )
    Membership.objects.bulk_create(
        Membership(user=u, organization=org, role=Role.OWNER if i == 0 else Role.MEMBER)
        for i, u in enumerate(users)
    )
    projects = Project.objects.bulk_create(
        Project(organization=org, pixxel_id=project_id(i), name=f"{WORDS[-1 - i]} programme")
        for i in range(N_PROJECTS)
    )
    workflows = Workflow.objects.bulk_create(
        Workflow(
            organization=org,
            project=projects[i % N_PROJECTS],
            pixxel_id=workflow_id(i),
            name=workflow_name(i),
            estimated_cost=Decimal(10 + i),
        )
        for i in range(N_WORKFLOWS)
    )
    insert_jobs(org, jobs, projects, workflows, users, rng.getrandbits(32), now)
    Submission.objects.bulk_create(make_submissions(org, projects, workflows, users, rng, now))
    one = Job.objects.filter(organization=org).order_by("pk").values_list("pixxel_id", flat=True)
    month_start = (now - dt.timedelta(days=180)).date().replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return OrgData(
        key=key,
        org=org,
        member=users[1],
        jobs=jobs,
        by_username=users[3].username,
        job_prefix=one[jobs // 2][:8],
        month=(month_start.isoformat(), month_end.isoformat()),
    )


def build(big_jobs: int, small_jobs: int) -> tuple[OrgData, OrgData, float]:
    rng = random.Random(12)  # the same data every run
    now = timezone.now()
    start = time.perf_counter()
    # No query log while building (DEBUG would format every INSERT's 175,000 parameters).
    with override_settings(DEBUG=False), explicit_timestamps():
        big = build_org("big", big_jobs, rng, now)
        small = build_org("small", small_jobs, rng, now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # VACUUM as well: autovacuum would otherwise visit the fresh tables mid-measurement.
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return big, small, time.perf_counter() - start


# --- the views -----------------------------------------------------------------------------

# (label, query string parts); a callable part is given the organization's data.
VIEWS: list[tuple[str, Callable[[OrgData], list[tuple[str, str]]]]] = [
    ("first page", lambda o: []),
    ("status=failed", lambda o: [("status", "failed")]),
    ("status=running+failed", lambda o: [("status", "running"), ("status", "failed")]),
    # The busiest project (~half the jobs): both organizations fill a page.
    ("status=failed + project", lambda o: [("status", "failed"), ("project", project_id(0))]),
    ("workflow (common, ~45 %)", lambda o: [("workflow", workflow_id(0))]),
    ("workflow (rare, ~0.3 %)", lambda o: [("workflow", workflow_id(N_WORKFLOWS - 1))]),
    ("by=<member>", lambda o: [("by", o.by_username)]),
    ("from/to (one month)", lambda o: [("from", o.month[0]), ("to", o.month[1])]),
    ("q=<workflow word>", lambda o: [("q", WORDS[4])]),
    ("q=<job id prefix>", lambda o: [("q", o.job_prefix)]),
    ("sort=-credits", lambda o: [("sort", "-credits")]),
    ("sort=duration", lambda o: [("sort", "duration")]),
    ("show=failed", lambda o: [("show", "failed")]),
]
PAGE_500 = "page 500 (rel=next ×499)"
LAST_PAGE = "last page (rel=last)"
EXPLAINED = [
    "first page",
    "status=failed + project",
    "workflow (rare, ~0.3 %)",
    "by=<member>",
    "from/to (one month)",
    "q=<workflow word>",
    "q=<job id prefix>",
    "sort=-credits",
    "sort=duration",
    PAGE_500,
    LAST_PAGE,
    "show=failed",
]

_A_TAG = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b(rel|href)\s*=\s*"([^"]*)"', re.IGNORECASE)


def rel_links(page: str) -> dict[str, str]:
    """The page's <a rel="next|prev|first|last" href="?…"> links, rel → href (unescaped)."""
    links = {}
    for tag in _A_TAG.findall(page):
        attrs = {k.lower(): v for k, v in _ATTR.findall(tag)}
        for rel in attrs.get("rel", "").split():
            if rel in ("next", "prev", "first", "last") and "href" in attrs:
                links.setdefault(rel, html.unescape(attrs["href"]))
    return links


def resolve(base_path: str, href: str) -> str:
    """A pager href ("?…", or a path) as a URL the client can get."""
    return base_path + href if href.startswith("?") else href


def list_path(o: OrgData) -> str:
    return f"/o/{o.org.slug}/jobs/"  # type: ignore[attr-defined]


def rows_listed(o: OrgData, page: str) -> int:
    """Distinct job pages the page links to: the job rows it lists."""
    return len(set(re.findall(rf"/o/{o.org.slug}/jobs/([0-9a-f-]{{36}})/", page)))  # type: ignore[attr-defined]


def deep_urls(client: Client, o: OrgData) -> dict[str, tuple[str | None, str]]:
    """Page 500 (rel=next followed 499 times from the first page) and the last page (rel=last);
    (None, why) when the page has no such link. A small organization stops at its last page."""
    base = list_path(o)
    first = client.get(base).content.decode()
    links = rel_links(first)
    result: dict[str, tuple[str | None, str]] = {}
    if "last" in links:
        result[LAST_PAGE] = (resolve(base, links["last"]), "")
    else:
        result[LAST_PAGE] = (None, "no rel=last")
    if "next" not in links:
        result[PAGE_500] = (None, "no rel=next")
        return result
    url, page_no = resolve(base, links["next"]), 2
    while page_no < 500:
        follow = rel_links(client.get(url).content.decode()).get("next")
        if not follow:
            break
        url, page_no = resolve(base, follow), page_no + 1
    result[PAGE_500] = (url, f"page {page_no}")
    return result


@dataclasses.dataclass
class Probe:
    """One GET, looked at once before the timing."""

    url: str | None
    note: str = ""
    status: int | None = None
    queries: int | None = None
    bytes: int | None = None
    rows: int | None = None
    sql: list = dataclasses.field(default_factory=list)
    seconds: float | None = None


def probe(client: Client, o: OrgData | None, url: str) -> Probe:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    content = response.content.decode(errors="replace")
    return Probe(
        url=url,
        status=response.status_code,
        queries=len(queries.captured_queries),
        bytes=len(response.content),
        rows=rows_listed(o, content) if o else None,
        sql=[q["sql"] for q in queries.captured_queries],
    )


def history_probes(clients: dict, orgs: dict[str, OrgData]) -> dict[tuple[str, str], Probe]:
    probes: dict[tuple[str, str], Probe] = {}
    for key, o in orgs.items():
        client = clients[key]
        client.get(list_path(o))  # the session's first request writes to it: not a view's cost
        for label, params in VIEWS:
            query = urlencode(params(o))
            probes[(label, key)] = probe(client, o, list_path(o) + (f"?{query}" if query else ""))
        for label, (url, note) in deep_urls(client, o).items():
            probes[(label, key)] = probe(client, o, url) if url else Probe(None, note)
            probes[(label, key)].note = note
    return probes


def admin_probes(client: Client, big: OrgData) -> dict[str, Probe]:
    """Django admin's changelist of the big organization's jobs, 50 a page (the baseline)."""
    base = f"/admin/jobs/job/?organization__id__exact={big.org.pk}"  # type: ignore[attr-defined]
    last = math.ceil(big.jobs / PAGE_SIZE)
    urls = {
        "first page": base,
        "status=failed": base + "&status__exact=failed",
        PAGE_500: base + f"&p={min(500, last)}",  # Django 6's admin counts pages from 1
        LAST_PAGE: base + f"&p={last}",
    }
    return {label: probe(client, None, url) for label, url in urls.items()}


# --- the CSV export ------------------------------------------------------------------------


@dataclasses.dataclass
class Export:
    status: int | None = None
    streamed: bool = False
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    queries: int = 0
    peak_mb: float = 0.0  # tracemalloc's peak while streaming
    rss_growth_mb: float = 0.0  # peak RSS after minus before


def consume(response) -> tuple[int, int]:
    """Bytes and lines of the answer, read the way a server sends it (chunk by chunk)."""
    size = lines = 0
    chunks = response.streaming_content if response.streaming else [response.content]
    for chunk in chunks:
        size += len(chunk)
        lines += chunk.count(b"\n")
    return size, lines


def measure_export(client: Client, o: OrgData) -> Export:
    url = list_path(o) + "export.csv"
    result = Export()
    # Timed, with no tracing (tracemalloc slows Python down several times).
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(url)
        result.status, result.streamed = response.status_code, response.streaming
        if response.status_code != 200:
            return result
        result.bytes, lines = consume(response)
        result.seconds = time.perf_counter() - start
    result.rows, result.queries = max(lines - 1, 0), len(queries.captured_queries)
    # Memory: the same export again, traced.
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    tracemalloc.reset_peak()
    response = client.get(url)
    consume(response)  # the test client closes a streamed answer once it is read
    result.peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    result.rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1e3
    return result


# --- EXPLAIN -------------------------------------------------------------------------------


def main_queries(label: str, sql: list[str]) -> list[str]:
    """The view's queries on jobs_job (jobs_submission for the failed tab): the capped count, a
    page link's anchor row, the page's rows (one query per stretch of a nullable sort)."""
    table = '"jobs_submission"' if label == "show=failed" else '"jobs_job"'
    return [q for q in sql if f"FROM {table}" in q and q.lstrip().upper().startswith("SELECT")]


def short_columns(sql: str) -> str:
    """The query with its outermost column list replaced by its length (the plan is the point)."""
    match = re.match(r"\s*SELECT (.*?) FROM ", sql, re.DOTALL)
    if not match or "(" in match[1]:
        return sql
    return f"SELECT <{match[1].count(', ') + 1} columns> FROM " + sql[match.end() :]  # noqa: S608


def explain(sql: str) -> str:
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":  # (id, parent, notused, detail): indent by depth
        depth: dict = {0: -1}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return "\n".join(lines)
    return "\n".join(row[0] for row in rows)


# --- the report ----------------------------------------------------------------------------


def time_all(clients, admin_client, probes, admins, runs: int) -> None:
    calls = {}
    for (label, key), p in probes.items():
        if p.url and p.status == 200:
            calls[("history", label, key)] = lambda c=clients[key], u=p.url: c.get(u)
    for label, p in admins.items():
        if p.status == 200:
            calls[("admin", label, "big")] = lambda u=p.url: admin_client.get(u)
    for (kind, label, key), seconds in median_seconds(calls, runs).items():
        (probes[(label, key)] if kind == "history" else admins[label]).seconds = seconds


def print_history(probes, labels: list[str]) -> list[str]:
    print(
        f"{'view':28}{'big ms':>9}{'small ms':>10}{'rows b/s':>10}{'KB big':>8}"
        f"{'queries':>8}  big/small ≤ {RATIO_TARGET}×; queries ≤ {QUERY_TARGET}"
    )
    verdicts = []
    for label in labels:
        b, s = probes[(label, "big")], probes[(label, "small")]
        ratio = b.seconds / s.seconds if b.seconds and s.seconds else None
        time_text = verdict(ratio, RATIO_TARGET, "×")
        query_text = "n/a" if b.queries is None else verdict(b.queries, QUERY_TARGET, "")
        if b.status not in (None, 200) or s.status not in (None, 200):
            time_text = f"n/a (HTTP {b.status}/{s.status})"
        notes = " ".join(f"[{k}: {p.note}]" for k, p in (("big", b), ("small", s)) if p.note)
        rows = f"{b.rows if b.rows is not None else '-'}/{s.rows if s.rows is not None else '-'}"
        if b.rows != s.rows and ratio is not None:
            # The small organization has fewer matches than a page: the pages differ in work.
            notes = (notes + f" [pages of {b.rows} vs {s.rows} rows]").strip()
        kb = f"{b.bytes / 1e3:.0f}" if b.bytes else "n/a"
        print(
            f"{label:28}{ms(b.seconds):>9}{ms(s.seconds):>10}{rows:>10}{kb:>8}"
            f"{b.queries if b.queries is not None else 'n/a':>8}  time {time_text}; "
            f"queries {query_text} {notes}".rstrip()
        )
        verdicts += [time_text, query_text]
    return verdicts


def print_admin(probes, admins) -> list[str]:
    print()
    print(f"Baseline: Django admin's changelist of the big organization's jobs, {PAGE_SIZE} a page")
    print(
        f"{'view':28}{'history ms':>11}{'admin ms':>10}{'admin q':>8}  history/admin ≤ {ADMIN_TARGET}×"
    )
    verdicts = []
    for label, a in admins.items():
        h = probes[(label, "big")]
        ratio = h.seconds / a.seconds if h.seconds and a.seconds else None
        text = verdict(ratio, ADMIN_TARGET, "×")
        print(f"{label:28}{ms(h.seconds):>11}{ms(a.seconds):>10}{a.queries:>8}  {text}")
        verdicts.append(text)
    return verdicts


def print_exports(exports: dict[str, Export], expected: int) -> list[str]:
    print()
    print("CSV export of every job (GET …/jobs/export.csv)")
    b, s = exports["big"], exports["small"]
    if b.status != 200 or s.status != 200:
        print(f"  n/a: HTTP {b.status} (big), {s.status} (small)")
        return ["n/a"]
    for key, e in exports.items():
        rate = e.rows / e.seconds if e.seconds else 0
        print(
            f"  {key:6} {e.rows:>8,} rows {e.bytes / 1e6:7.2f} MB {e.seconds:6.2f} s "
            f"{rate:>9,.0f} rows/s  queries {e.queries}  streamed {'yes' if e.streamed else 'NO'}  "
            f"tracemalloc peak {e.peak_mb:6.2f} MB  peak RSS growth {e.rss_growth_mb:6.1f} MB"
        )
    limit = s.peak_mb + CSV_MEMORY_SLACK_MB
    texts = [
        (
            f"streamed, constant memory (big peak ≤ small peak + {CSV_MEMORY_SLACK_MB:.0f} MB)",
            verdict(b.peak_mb, limit, " MB") if b.streamed else "MISSED: not streamed",
        ),
        (
            f"every row ({b.rows:,} of the big organization's jobs)",
            "met" if b.rows == expected else f"MISSED: {b.rows:,} rows",
        ),
        ("queries ≤ 10", verdict(b.queries, QUERY_TARGET, "")),
    ]
    for label, text in texts:
        print(f"  {label:60} {text}")
    return [t for _, t in texts]


def print_explains(probes) -> None:
    print()
    print(f"EXPLAIN of each view's main query, big organization ({connection.vendor})")
    for label in EXPLAINED:
        p = probes[(label, "big")]
        queries = main_queries(label, p.sql)
        print()
        print(f"## {label}")
        if not queries:
            print("   n/a (no query on the table captured)")
        for sql in queries:
            print("   " + short_columns(sql))
            try:
                plan = explain(sql)
            except Exception as exc:  # a report, not a test: say what failed and go on
                plan = f"(EXPLAIN failed: {exc})"
            for line in plan.splitlines():
                print("   | " + line)


def run(args) -> int:
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    from pixxel_dashboard.jobs.models import Job

    big, small, built = build(args.big, args.small)
    orgs = {"big": big, "small": small}
    print(
        f"Built {big.jobs:,} + {small.jobs:,} jobs and {2 * N_FAILED_SUBMISSIONS} failed "
        f"submissions in {built:.1f} s ({connection.vendor}, {connection.settings_dict['NAME']})"
    )
    clients = {}
    for key, o in orgs.items():
        clients[key] = Client()
        clients[key].force_login(o.member)
    superuser = get_user_model().objects.create_superuser("bench-admin", password="!")
    admin_client = Client()
    admin_client.force_login(superuser)
    admin.site._registry[Job].list_per_page = PAGE_SIZE  # the script's, not the app's

    probes = history_probes(clients, orgs)
    admins = admin_probes(admin_client, big)
    time_all(clients, admin_client, probes, admins, args.runs)
    exports = {key: measure_export(clients[key], o) for key, o in (("small", small), ("big", big))}
    exports = {"big": exports["big"], "small": exports["small"]}

    print()
    print(f"History, median of {args.runs} (server time in process; rows = job rows listed)")
    labels = [label for label, _ in VIEWS] + [PAGE_500, LAST_PAGE]
    verdicts = print_history(probes, labels)
    verdicts += print_admin(probes, admins)
    verdicts += print_exports(exports, big.jobs)
    if not args.no_explain:
        print_explains(probes)
    print_tally(verdicts)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 jobs against 1,000")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per view (median)")
    parser.add_argument("--no-explain", action="store_true", help="leave out the query plans")
    args = parser.parse_args()
    args.big, args.small = (10_000 if args.quick else 100_000), 1_000

    with throwaway_database():
        return run(args)


if __name__ == "__main__":
    sys.exit(main())
