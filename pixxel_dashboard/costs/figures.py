"""The figures of the cost pages, read from `CostRollup` (never by aggregating jobs), each with the
job history link that selects exactly the jobs behind it.

A figure of days D1..D2 sums the rollup rows of those local days; its history link filters
`from=D1&to=D2` on the same column in the same zone (`Job.created_at` in the organization's time
zone), so the count a link shows is the count the figure was made of.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import DateTimeField, F, Func, Q, Sum
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.urls import reverse
from django.utils import timezone

from pixxel_dashboard.core.durations import format_duration
from pixxel_dashboard.jobs import history
from pixxel_dashboard.jobs.models import Job, Project, Status, Workflow

from .models import CostRollup, Grain
from .month import (
    ZERO,
    MonthPosition,
    budget_state,
    from_hundredths,
    month_positions,
    month_start,
    next_month,
    previous_month,
)
from .rollups import OVER_ESTIMATE, zone_of

# The URL's value for "jobs without a project" (/costs/~none/): history's NONE, which no Pixxel id
# can be (an id starts with a letter or digit).
NO_PROJECT = history.NONE
NO_PROJECT_LABEL = "No project"
EXPENSIVE_JOBS = 10
MONTHS_CHARTED = 12


# --- the range -------------------------------------------------------------------------------

RANGES = (
    ("month", "This month"),
    ("last-month", "Last month"),
    ("90-days", "Last 90 days"),
    ("year", "This year"),
    ("custom", "Custom"),
)
DEFAULT_RANGE = "month"


@dataclass(frozen=True)
class CostRange:
    """Local days `since`..`until` (both included) the query string asks for."""

    key: str
    since: date
    until: date
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.key == "custom":
            return f"{self.since:%-d %b %Y} – {self.until:%-d %b %Y}"
        return dict(RANGES)[self.key]

    def params(self) -> dict[str, str]:
        """The query string naming this range (empty for the default)."""
        if self.key == "custom":
            return {"range": "custom", "from": self.since.isoformat(), "to": self.until.isoformat()}
        return {} if self.key == DEFAULT_RANGE else {"range": self.key}

    def query_string(self) -> str:
        """ "?range=…" for a link, "" for the default range."""
        params = self.params()
        return "?" + urlencode(params) if params else ""


def local_bounds(cost_range: CostRange, zone) -> tuple[datetime, datetime]:
    """The range's first and after-last moments: local midnights, as history's from/to filter."""
    return (
        datetime.combine(cost_range.since, time.min, tzinfo=zone),
        datetime.combine(cost_range.until + timedelta(days=1), time.min, tzinfo=zone),
    )


def today_of(organization, now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), zone_of(organization)).date()


def parse_range(params: Mapping[str, Any], today: date) -> CostRange:
    """The range `params` asks for; a value not understood is dropped with a note."""
    notes: list[str] = []
    key = params.get("range") or DEFAULT_RANGE
    if key not in dict(RANGES):
        notes.append("Ignored an unknown range: showing this month.")
        key = DEFAULT_RANGE
    if key == "custom":
        since = history.parse_day(params.get("from") or "", "start", notes)
        until = history.parse_day(params.get("to") or "", "end", notes)
        if since is None or until is None:
            notes.append("A custom range needs a start and an end date: showing this month.")
            key = DEFAULT_RANGE
        else:
            if since > until:
                since, until = until, since
                notes.append("The start date was after the end date: swapped them.")
            return CostRange(key, since, until, tuple(notes))
    first = month_start(today)
    if key == "last-month":
        since, until = previous_month(first), first - timedelta(days=1)
    elif key == "90-days":
        since, until = today - timedelta(days=89), today
    elif key == "year":
        since, until = today.replace(month=1, day=1), today.replace(month=12, day=31)
    else:
        since, until = first, next_month(first) - timedelta(days=1)
    return CostRange(key, since, until, tuple(notes))


# --- numbers and links -------------------------------------------------------------------------


def credits_text(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount:,.2f}"


def duration_text(total_ms: int, count: int) -> str:
    if not count:
        return "—"
    return format_duration(total_ms / count / 1000) or "—"


def percent_of(part: int, whole: int) -> int | None:
    return None if not whole else round(part * 100 / whole)


class Links:
    """Job history URLs, each a `HistoryQuery`'s own query string (so history parses them back)."""

    def __init__(self, organization):
        self.base = reverse("job_list", args=[organization.slug])

    def jobs(self, **filters: Any) -> str:
        params = history.HistoryQuery(**filters).params().urlencode()
        return f"{self.base}?{params}" if params else self.base


def _sums(names: tuple[str, ...], when: Q | None = None, prefix: str = "") -> dict[str, Sum]:
    return {f"{prefix}{name}": Sum(name, filter=when) for name in names}


RANGE_MEASURES = (
    "jobs",
    "credits",
    "queued",
    "running",
    "succeeded",
    "failed",
    "unknown",
    "timed_jobs",
    "duration_ms",
)
COMPARISON = ("estimated_jobs", "compared_jobs", "compared_estimate", "compared_credits")


@dataclass
class Figures:
    """Sums of rollup measures (hundredths turned into credits on the way out)."""

    values: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.values.get(name) or 0

    def add(self, other: Figures) -> None:
        for name, value in other.values.items():
            self.values[name] = (self.values.get(name) or 0) + (value or 0)

    @property
    def credits_amount(self) -> Decimal:
        return from_hundredths(self.credits)

    @property
    def failure_rate(self) -> int | None:
        return percent_of(self.failed, self.failed + self.succeeded)

    @property
    def open_jobs(self) -> int:
        return self.queued + self.running

    @property
    def average_duration(self) -> str:
        return duration_text(self.duration_ms, self.timed_jobs)

    @property
    def average_overrun(self) -> int | None:
        """How far actual credits were above (+) or below (−) the estimates, in percent."""
        if not self.compared_estimate:
            return None
        return round(
            (self.compared_credits - self.compared_estimate) * 100 / self.compared_estimate
        )


def _figures(row: Mapping[str, Any], prefix: str = "") -> Figures:
    return Figures(
        {key[len(prefix) :]: value or 0 for key, value in row.items() if key.startswith(prefix)}
    )


# --- the overview ------------------------------------------------------------------------------


@dataclass
class ProjectRow:
    ref: int  # Project pk; 0: jobs without a project
    name: str
    slug: str  # the URL's project: Project.pixxel_id, or NO_PROJECT
    this_month: Decimal
    last_month: Decimal
    in_range: Figures
    position: MonthPosition
    links: dict[str, str] = field(default_factory=dict)
    url: str = ""

    @property
    def forecast_state(self) -> str:
        return budget_state(self.position.forecast_percent)


OVERVIEW_SORTS = {
    "project": ("Project", lambda r: r.name.casefold()),
    "month": ("This month", lambda r: r.this_month),
    "last-month": ("Last month", lambda r: r.last_month),
    "range": ("In range", lambda r: r.in_range.credits),
    "forecast": ("Forecast", lambda r: r.position.forecast),
    "budget": ("Budget used", lambda r: r.position.used_percent or -1),
}
DEFAULT_SORT = "-month"


@dataclass
class Overview:
    rows: list[ProjectRow]
    totals: ProjectRow
    sort: str
    notes: tuple[str, ...]


def parse_sort(value: str | None, notes: list[str]) -> str:
    value = value or DEFAULT_SORT
    if value.lstrip("-") not in OVERVIEW_SORTS:
        notes.append("Ignored an unknown sort order.")
        return DEFAULT_SORT
    return value


def overview(
    organization, cost_range: CostRange, sort: str, now: datetime | None = None
) -> Overview:
    """One row per project with jobs this month, last month or in the range, or open jobs, or a
    budget. Four queries however many jobs: the rollup sums, month_positions' three, the names."""
    today = today_of(organization, now)
    first = month_start(today)
    last_first = previous_month(first)
    window = Q(day__gte=last_first) | Q(day__gte=cost_range.since, day__lte=cost_range.until)
    in_range = Q(day__gte=cost_range.since, day__lte=cost_range.until)
    sums = (
        CostRollup.objects.filter(organization=organization, grain=Grain.PROJECT)
        .filter(window)
        .values("project_ref")
        .annotate(
            this_month=Sum("credits", filter=Q(day__gte=first)),
            last_month=Sum("credits", filter=Q(day__gte=last_first, day__lt=first)),
            **_sums(RANGE_MEASURES, in_range, prefix="r_"),
        )
        .order_by()
    )
    by_ref: dict[int, Mapping[str, Any]] = {row["project_ref"]: row for row in sums}
    positions = month_positions(organization, now=now)
    refs = set(by_ref) | set(positions)
    projects = {
        p.pk: p
        for p in Project.objects.filter(organization=organization, pk__in=[r for r in refs if r])
        .only("pixxel_id", "name")
        .order_by()
    }
    links = Links(organization)
    month_end = next_month(first) - timedelta(days=1)
    range_query = cost_range.query_string()  # a project's page opens on the same range
    rows = []
    for ref in refs:
        project = projects.get(ref)
        if ref and project is None:
            continue  # a project removed since: its jobs now have none (rebuild moves them)
        row: Mapping[str, Any] = by_ref.get(ref) or {}
        slug = project.pixxel_id if project else NO_PROJECT
        rows.append(
            ProjectRow(
                ref=ref,
                name=(project.name or project.pixxel_id) if project else NO_PROJECT_LABEL,
                slug=slug,
                this_month=from_hundredths(row.get("this_month")),
                last_month=from_hundredths(row.get("last_month")),
                in_range=_figures(row, "r_"),
                position=positions.get(ref, MonthPosition()),
                links=_row_links(links, slug, cost_range, first, month_end, last_first),
                url=reverse("project_costs", args=[organization.slug, slug]) + range_query,
            )
        )
    field_name = sort.lstrip("-")
    rows.sort(key=lambda r: r.name.casefold())
    rows.sort(key=OVERVIEW_SORTS[field_name][1], reverse=sort.startswith("-"))
    return Overview(rows, _totals(rows, links, cost_range, first, month_end, last_first), sort, ())


def _row_links(
    links: Links,
    project: str,
    cost_range: CostRange,
    first: date,
    month_end: date,
    last_first: date,
) -> dict[str, str]:
    """The history of each figure of a row ('' project: every project)."""
    days = {"since": cost_range.since, "until": cost_range.until}
    return {
        "this_month": links.jobs(project=project, since=first, until=month_end),
        "last_month": links.jobs(
            project=project, since=last_first, until=first - timedelta(days=1)
        ),
        "range": links.jobs(project=project, **days),
        "open": links.jobs(project=project, statuses=(Status.QUEUED, Status.RUNNING)),
        **{
            status: links.jobs(project=project, statuses=(status,), **days)
            for status in (Status.QUEUED, Status.RUNNING, Status.SUCCEEDED, Status.FAILED)
        },
        "unknown": links.jobs(project=project, statuses=(Status.UNKNOWN,), **days),
    }


def _totals(rows, links, cost_range, first, month_end, last_first) -> ProjectRow:
    in_range = Figures()
    for row in rows:
        in_range.add(row.in_range)
    positions = [row.position for row in rows]
    position = MonthPosition(
        spent=sum((p.spent for p in positions), ZERO),
        running_spent=sum((p.running_spent for p in positions), ZERO),
        still_to_come=sum((p.still_to_come for p in positions), ZERO),
        run_rate_rest=sum((p.run_rate_rest for p in positions), ZERO),
    )
    return ProjectRow(
        ref=-1,
        name="All projects",
        slug="",
        this_month=sum((row.this_month for row in rows), ZERO),
        last_month=sum((row.last_month for row in rows), ZERO),
        in_range=in_range,
        position=position,
        links=_row_links(links, "", cost_range, first, month_end, last_first),
    )


# --- one project ------------------------------------------------------------------------------


@dataclass
class Bar:
    label: str  # "Mar 2026"
    month: date
    credits: Decimal
    jobs: int
    url: str


@dataclass
class WorkflowRow:
    pixxel_id: str
    name: str
    figures: Figures
    url: str
    over_url: str  # its jobs over their estimate by more than 20 %

    @property
    def over_state(self) -> str:
        overrun = self.figures.average_overrun
        return "over" if overrun is not None and overrun > 20 else ""


@dataclass
class MemberRow:
    name: str
    figures: Figures
    url: str


@dataclass
class JobRow:
    job: Job
    workflow: str
    member: str
    url: str

    @property
    def difference(self) -> Decimal | None:
        cost, estimate = self.job.cost, self.job.estimated_cost
        if cost is None or estimate is None or not (cost.is_finite() and estimate.is_finite()):
            return None
        return cost - estimate

    @property
    def over(self) -> bool:
        """Over its estimate by more than 20 % (the rollups' rule, rollups.OVER_ESTIMATE)."""
        cost, estimate = self.job.cost, self.job.estimated_cost
        return self.difference is not None and cost > estimate * OVER_ESTIMATE  # type: ignore[operator]


@dataclass
class ProjectCosts:
    ref: int
    name: str
    slug: str
    months: list[Bar]
    in_range: Figures
    range_link: str
    workflows: list[WorkflowRow]
    members: list[MemberRow]
    expensive: list[JobRow]
    position: MonthPosition


def project_ref_of(organization, slug: str) -> tuple[int, Project | None]:
    """(ref, project) the URL names; Project.DoesNotExist for an unknown one."""
    if slug == NO_PROJECT:
        return 0, None
    project = Project.objects.only("pixxel_id", "name").get(
        organization=organization, pixxel_id=slug
    )
    return project.pk, project


def project_costs(
    organization, slug: str, cost_range: CostRange, now: datetime | None = None
) -> ProjectCosts:
    """Everything one project's page shows: a constant number of queries (the project, the twelve
    months, the range, workflows + their names, members + their names, the most expensive jobs,
    month_positions' three)."""
    ref, project = project_ref_of(organization, slug)
    today = today_of(organization, now)
    first = month_start(today)
    links = Links(organization)
    rows = CostRollup.objects.filter(
        organization=organization, grain=Grain.PROJECT, project_ref=ref
    )
    oldest = first
    for _ in range(MONTHS_CHARTED - 1):
        oldest = previous_month(oldest)
    per_month: dict[date, list[int]] = {}
    for day, credits, jobs in rows.filter(day__gte=oldest).values_list("day", "credits", "jobs"):
        totals = per_month.setdefault(month_start(day), [0, 0])
        totals[0] += credits
        totals[1] += jobs
    months = []
    month = oldest
    while month <= first:
        credits, jobs = per_month.get(month, [0, 0])
        months.append(
            Bar(
                label=f"{month:%b %Y}",
                month=month,
                credits=from_hundredths(credits),
                jobs=jobs,
                url=links.jobs(
                    project=slug, since=month, until=next_month(month) - timedelta(days=1)
                ),
            )
        )
        month = next_month(month)
    in_range = Q(day__gte=cost_range.since, day__lte=cost_range.until)
    days = {"since": cost_range.since, "until": cost_range.until}
    range_sums = rows.filter(in_range).aggregate(**_sums(RANGE_MEASURES + COMPARISON))
    workflows = _workflows(organization, ref, slug, in_range, days, links)
    members = _members(organization, ref, slug, in_range, days, links)
    return ProjectCosts(
        ref=ref,
        name=(project.name or project.pixxel_id) if project else NO_PROJECT_LABEL,
        slug=slug,
        months=months,
        in_range=_figures(range_sums),
        range_link=links.jobs(project=slug, **days),
        workflows=workflows,
        members=members,
        expensive=_expensive_jobs(organization, project, cost_range, range_sums["jobs"] or 0),
        position=month_positions(organization, [ref], now).get(ref, MonthPosition()),
    )


def _grain_sums(organization, grain: str, ref: int, in_range: Q, by: str):
    return (
        CostRollup.objects.filter(organization=organization, grain=grain, project_ref=ref)
        .filter(in_range)
        .values(by)
        .annotate(**_sums(RANGE_MEASURES + COMPARISON + ("over_estimate_jobs",)))
        .order_by()
    )


def _workflows(organization, ref, slug, in_range, days, links) -> list[WorkflowRow]:
    sums = list(_grain_sums(organization, Grain.WORKFLOW, ref, in_range, "workflow"))
    names = dict(
        Workflow.objects.filter(
            organization=organization, pixxel_id__in=[row["workflow"] for row in sums]
        ).values_list("pixxel_id", "name")
    )
    rows = [
        WorkflowRow(
            pixxel_id=row["workflow"],
            name=names.get(row["workflow"]) or row["workflow"],
            figures=_figures(row),
            url=links.jobs(project=slug, workflow=row["workflow"], **days),
            over_url=links.jobs(project=slug, workflow=row["workflow"], over_estimate=True, **days),
        )
        for row in sums
    ]
    rows.sort(key=lambda r: (-r.figures.credits, r.name.casefold()))
    return rows


def _members(organization, ref, slug, in_range, days, links) -> list[MemberRow]:
    sums = list(_grain_sums(organization, Grain.MEMBER, ref, in_range, "member_ref"))
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[row["member_ref"] for row in sums if row["member_ref"]])
        .values_list("pk", "username")
    )
    rows = []
    for row in sums:
        username = names.get(row["member_ref"], "")
        by = username if row["member_ref"] else history.NONE
        rows.append(
            MemberRow(
                name=username or "Nobody here (imported)",
                figures=_figures(row),
                url=links.jobs(project=slug, by=by, **days),
            )
        )
    rows.sort(key=lambda r: (-r.figures.credits, r.name.casefold()))
    return rows


# Below this many jobs in the range, reading them all by date and sorting is the cheaper plan.
FEW_JOBS_IN_RANGE = 1000


class _NotIndexed(Func):
    """SQLite's documented way to keep a term from choosing the index: a unary plus (a no-op)."""

    template = "+%(expressions)s"
    output_field = DateTimeField()


def _expensive_jobs(
    organization, project: Project | None, cost_range: CostRange, jobs_in_range: int
) -> list[JobRow]:
    """The range's most expensive jobs: one query, bounded either way.

    Few jobs in the range (the rollups know how many): read them by date and sort them. Many:
    walk the (organization, project, -cost) index from the top and keep those in the range; with
    at least FEW_JOBS_IN_RANGE of them the first ten come soon. PostgreSQL's planner makes that
    choice from its statistics; SQLite's sorts a whole year rather than walk the index (measured:
    100 ms at 100k jobs), so there the date terms are kept off the index when the range is busy.
    """
    start, end = local_bounds(cost_range, zone_of(organization))
    created: Any = F("created_at")
    if connection.vendor == "sqlite" and jobs_in_range > FEW_JOBS_IN_RANGE:
        created = _NotIndexed("created_at")
    jobs = (
        Job.objects.filter(
            GreaterThanOrEqual(created, start),
            LessThan(created, end),
            organization=organization,
            project=project,
            cost__isnull=False,
        )
        .select_related("workflow", "submitted_by")
        .only(
            "pixxel_id",
            "status",
            "cost",
            "estimated_cost",
            "created_at",
            "workflow_pixxel_id",
            "workflow__name",
            "submitted_by__username",
            "organization_id",
        )
        .order_by("-cost", "-id")[:EXPENSIVE_JOBS]
    )
    # One reversed prefix, not a reverse (and an organization read) per row.
    prefix = reverse("job_detail", args=[organization.slug, "-"])[: -len("-/")]
    return [
        JobRow(
            job=job,
            workflow=(job.workflow.name if job.workflow else "") or job.workflow_pixxel_id,
            member=job.submitted_by.username if job.submitted_by else "",
            url=f"{prefix}{quote(job.pixxel_id)}/",
        )
        for job in jobs
    ]


# --- the ledger (CSV) ---------------------------------------------------------------------------

LEDGER_COLUMNS = (
    "job_id",
    "project_id",
    "project",
    "workflow_id",
    "workflow",
    "member",
    "submitted_on",
    "finished_at",
    "status",
    "estimated_credits",
    "credits",
)


def ledger_lines(organization, cost_range: CostRange) -> Iterator[str]:
    """One CSV line per job submitted in the range (oldest first), dates in the organization's
    time zone: one query, streamed in chunks (after the view has returned, so nothing here may
    depend on the time zone the request activated)."""
    zone = zone_of(organization)
    start, end = local_bounds(cost_range, zone)
    jobs = (
        Job.objects.filter(organization=organization, created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")
        .values_list(
            "pixxel_id",
            "project__pixxel_id",
            "project__name",
            "workflow_pixxel_id",
            "workflow__name",
            "submitted_by__username",
            "created_at",
            "finished_at",
            "status",
            "estimated_cost",
            "cost",
        )
    )
    return _ledger_rows(jobs, zone)


def _ledger_rows(jobs, zone) -> Iterator[str]:
    writer = csv.writer(history._Echo())
    yield writer.writerow(LEDGER_COLUMNS)
    for row in jobs.iterator(chunk_size=history.CSV_CHUNK):
        job_id, project_id, project, workflow_id, workflow, member, created, finished, *rest = row
        finished_text = (
            timezone.localtime(finished, zone).isoformat(timespec="seconds") if finished else ""
        )
        cells = (
            job_id,
            project_id,
            project,
            workflow_id,
            workflow,
            member,
            timezone.localtime(created, zone).date().isoformat(),
            finished_text,
            *rest,
        )
        yield writer.writerow([history.csv_cell(cell) for cell in cells])
