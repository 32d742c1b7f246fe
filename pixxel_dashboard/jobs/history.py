"""The team's job history: what a query string asks for, the page of rows it shows, and the CSV.

Flat at any size. A page is an index range, never an OFFSET: each filter has an index that ends in
the page order (see `Job.Meta.indexes`), and pages are *keyset* pages — "older than this job" —
named by a public id in the URL (`?after=<job id>`), so page 500 costs what page 1 costs. Nothing
counts a whole table: the total is counted up to `COUNT_CAP` and shown as "1,000+" beyond.
The filter lists (projects, workflows, members) are read once per page and also serve to resolve
names and ids in Python, so a search by workflow name is an index lookup on the ids it matches.

Every value in the query string is checked: one that is not understood is dropped and said so
(`HistoryQuery.notes`), never a 500 and never a silent empty page.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import DecimalField, ExpressionWrapper, F, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.lookups import GreaterThan
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from pixxel_dashboard.core.credits import credits_text, over_estimate
from pixxel_dashboard.core.durations import format_duration
from pixxel_dashboard.core.moments import iso_utc

from .forms import validate_pixxel_id
from .models import Job, Outcome, Project, Status, Submission, Workflow

PAGE_SIZE = 50
COUNT_CAP = 1000
MAX_SEARCH_LENGTH = 100
# A search for a job id needs this many characters: shorter, it would match a sixteenth of them.
MIN_ID_PREFIX = 4
_ID_PREFIX = re.compile(r"[0-9a-f-]+")

JOBS, FAILED_SUBMISSIONS = "jobs", "failed"

# sort name → (column, nullable). Jobs whose value is unknown come last in either direction.
SORTS: dict[str, tuple[str, bool]] = {
    "created": ("created_at", False),
    "credits": ("cost", True),
    "duration": ("time_taken_seconds", True),
}
SORT_CHOICES = (
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-credits", "Most credits"),
    ("credits", "Fewest credits"),
    ("-duration", "Longest"),
    ("duration", "Shortest"),
)
DEFAULT_SORT = "-created"

# The `project` and `by` value of "none": jobs without a project, jobs nobody here submitted
# (imported). No Pixxel id starts with "~" (validate_pixxel_id) and no username contains one
# (Django's username validator), so it can never name a real project or member.
NONE = "~none"


@dataclass(frozen=True)
class HistoryQuery:
    """The view a query string asks for, every value checked (what was dropped is in `notes`)."""

    show: str = JOBS
    statuses: tuple[str, ...] = ()
    project: str = ""  # a Project.pixxel_id, or NONE: jobs without a project
    workflow: str = ""  # a workflow's Pixxel id
    by: str = ""  # a member's username, or NONE: jobs nobody here submitted
    since: date | None = None
    until: date | None = None
    text: str = ""
    over_estimate: bool = False  # finished jobs that cost more than 120 % of their estimate
    followed_by: str = ""  # a username: the jobs they follow (asked to hear about)
    sort: str = DEFAULT_SORT
    # Paging: rows after / before the row with this public id, or the last page.
    after: str = ""
    before: str = ""
    last: bool = False
    notes: tuple[str, ...] = ()

    @property
    def filtered(self) -> bool:
        return bool(
            self.statuses
            or self.project
            or self.workflow
            or self.by
            or self.since
            or self.until
            or self.text
            or self.over_estimate
            or self.followed_by
        )

    def params(self, **changes: Any) -> QueryDict:
        """The query string of this view (paging left out unless given): links and the CSV."""
        query = replace(self, after="", before="", last=False, notes=())
        query = replace(query, **changes)
        params = QueryDict(mutable=True)
        if query.show != JOBS:
            params["show"] = query.show
        params.setlist("status", list(query.statuses))
        for name, value in (
            ("project", query.project),
            ("workflow", query.workflow),
            ("by", query.by),
            ("from", query.since.isoformat() if query.since else ""),
            ("to", query.until.isoformat() if query.until else ""),
            ("q", query.text),
            ("over", "1" if query.over_estimate else ""),
            ("followed_by", query.followed_by),
            ("sort", "" if query.sort == DEFAULT_SORT else query.sort),
            ("after", query.after),
            ("before", query.before),
            ("last", "1" if query.last else ""),
        ):
            if value:
                params[name] = value
        return params


def _pixxel_id(value: str, what: str, notes: list[str]) -> str:
    value = value.strip()
    try:
        validate_pixxel_id(value)
    except ValidationError:
        notes.append(f"Ignored the {what} filter: that is not a Pixxel id.")
        return ""
    return value


# Dates outside these years are typos; the day after 9999-12-31 would not even exist.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def parse_day(value: str, what: str, notes: list[str]) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        notes.append(f"Ignored the {what} date: give it as YYYY-MM-DD.")
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        notes.append(f"Ignored the {what} date: give a year from {FIRST_YEAR} to {LAST_YEAR}.")
        return None
    return day


# A page link names a row by its public id: a Pixxel job id or a submission's token.
_CURSOR = re.compile(r"[A-Za-z0-9._:~-]{1,100}")


def _cursor(value: str | None, notes: list[str]) -> str:
    value = (value or "").strip()
    if value and not _CURSOR.fullmatch(value):
        notes.append("That page link is not one this page made: showing the first page.")
        return ""
    return value


def _project(value: str, notes: list[str]) -> str:
    value = value.strip()
    if value == NONE or not value:
        return value
    return _pixxel_id(value, "project", notes)


def parse_query(params: Mapping[str, Any]) -> HistoryQuery:
    """What `params` (request.GET) asks for; anything not understood is dropped with a note."""
    notes: list[str] = []
    get = params.get
    getlist = getattr(params, "getlist", lambda name: [get(name)] if get(name) else [])
    statuses = []
    for value in getlist("status"):
        if value in Status.values:
            if value not in statuses:
                statuses.append(value)
        elif value:
            notes.append("Ignored an unknown status.")
    if len(statuses) == len(Status.values):
        statuses = []  # every status is no filter
    since = parse_day(get("from") or "", "start", notes)
    until = parse_day(get("to") or "", "end", notes)
    if since and until and since > until:
        since, until = until, since
        notes.append("The start date was after the end date: swapped them.")
    # Control characters (a NUL included, which PostgreSQL refuses) can be in no name or id.
    text = " ".join("".join(ch for ch in get("q") or "" if ch.isprintable()).split())
    if len(text) > MAX_SEARCH_LENGTH:
        text = text[:MAX_SEARCH_LENGTH]
        notes.append(f"Searched for the first {MAX_SEARCH_LENGTH} characters only.")
    sort = get("sort") or DEFAULT_SORT
    if sort not in dict(SORT_CHOICES):
        notes.append("Ignored an unknown sort order.")
        sort = DEFAULT_SORT
    show = FAILED_SUBMISSIONS if get("show") == FAILED_SUBMISSIONS else JOBS
    by = (get("by") or "").strip()[:150]
    after, before = _cursor(get("after"), notes), _cursor(get("before"), notes)
    return HistoryQuery(
        show=show,
        statuses=tuple(statuses),
        project=_project(get("project") or "", notes),
        workflow=_pixxel_id(get("workflow") or "", "workflow", notes) if get("workflow") else "",
        by=by,
        since=since,
        until=until,
        text=text,
        over_estimate=get("over") == "1",
        followed_by=(get("followed_by") or "").strip()[:150],
        sort=sort,
        after=after,
        before="" if after else before,
        last=not (after or before) and get("last") == "1",
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Choices:
    """What the filter lists offer, read once per page; also how names and ids are resolved."""

    projects: list[Project]
    workflows: list[Workflow]
    members: list[Any]  # users: pk, username

    @classmethod
    def of(cls, organization) -> Choices:
        projects = list(Project.objects.filter(organization=organization).only("pixxel_id", "name"))
        workflows = list(
            Workflow.objects.filter(organization=organization)
            .only("pixxel_id", "name")
            .order_by("name", "pixxel_id")
        )
        members = list(
            get_user_model()
            .objects.filter(memberships__organization=organization)
            .only("username")
            .order_by("username")
        )
        return cls(projects, workflows, members)

    def project(self, pixxel_id: str) -> Project | None:
        return next((p for p in self.projects if p.pixxel_id == pixxel_id), None)

    def member(self, username: str):
        return next((m for m in self.members if m.username == username), None)

    def person(self, username: str):
        """The user a filter names (`by`, `followed_by`): a member, or someone who no longer is
        (the cost pages link to a former member's jobs, which stay in the history); None if no
        user has that name."""
        return self.member(username) or (
            get_user_model().objects.filter(username=username).only("username").first()
        )

    @property
    def workflow_options(self) -> list[tuple[str, str]]:
        """(id, label) by name; a name two workflows share gets the id beside it."""
        names = [w.name or w.pixxel_id for w in self.workflows]
        uses = Counter(names)
        return [
            (w.pixxel_id, name if uses[name] == 1 else f"{name} ({w.pixxel_id})")
            for w, name in zip(self.workflows, names, strict=True)
        ]

    def matching(self, text: str) -> tuple[list[str], list[int]]:
        """Workflow ids and project pks whose name contains `text` (case-insensitive)."""
        needle = text.casefold()
        workflows = [w.pixxel_id for w in self.workflows if needle in (w.name or "").casefold()]
        projects = [p.pk for p in self.projects if needle in (p.name or "").casefold()]
        return workflows, projects


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the current (the organization's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _common_filter(query: HistoryQuery, choices: Choices, submitter: str) -> Q | None:
    """The filters jobs and failed submissions share (`submitter`: the row's column naming who).
    None when a filter names a user that does not exist: certainly no row."""
    conditions = Q()
    if query.since:
        conditions &= Q(created_at__gte=_day_start(query.since))
    if query.until:
        conditions &= Q(created_at__lt=_day_start(query.until + timedelta(days=1)))
    if query.by == NONE:
        conditions &= Q(**{f"{submitter}__isnull": True})
    elif query.by:
        person = choices.person(query.by)
        if person is None:
            return None
        conditions &= Q(**{submitter: person})
    return conditions


@dataclass(frozen=True)
class Selection:
    """The rows a view selects: `common` and any one of `alternatives`.

    Each alternative is an equality an index serves in page order (one status of several, one
    workflow or project a search matched): a page reads each alternative's first rows through its
    index and merges them, instead of sorting every matching row.
    """

    common: Q
    alternatives: tuple[Q, ...] = (Q(),)

    @property
    def condition(self) -> Q:
        either = Q()
        for alternative in self.alternatives:
            either |= alternative
        return self.common & either


# More alternatives than this are left to the database as one condition.
MAX_ALTERNATIVES = 12


def _combine(*choices: list[Q]) -> tuple[Q, ...]:
    """Every combination of one condition from each list (an empty list: no restriction)."""
    combined = [Q()]
    for options in choices:
        if options:
            combined = [done & option for done in combined for option in options]
    if len(combined) > MAX_ALTERNATIVES:
        either = Q()
        for option in combined:
            either |= option
        return (either,)
    return tuple(combined)


def job_filter(query: HistoryQuery, choices: Choices) -> Selection | None:
    """The rows `query` selects (None: certainly no row)."""
    conditions = _common_filter(query, choices, "submitted_by")
    if conditions is None:
        return None
    if len(query.statuses) == 1:
        conditions &= Q(status=query.statuses[0])
    statuses = [Q(status=s) for s in query.statuses] if len(query.statuses) > 1 else []
    if query.project == NONE:
        conditions &= Q(project__isnull=True)
    elif query.project:
        project = choices.project(query.project)
        if project is None:
            return None
        conditions &= Q(project=project)
    if query.workflow:
        conditions &= Q(workflow_pixxel_id=query.workflow)
    if query.over_estimate:
        conditions &= OVER_ESTIMATE
    if query.followed_by:
        follower = choices.person(query.followed_by)
        if follower is None:
            return None
        conditions &= Q(follows__user=follower)
    found = _search(query.text, choices) if query.text else []
    return Selection(conditions, _combine(statuses, found))


# The cost rollups' rule (costs/rollups.py): a finished job with an estimate whose cost is over it
# by more than 20 %, i.e. cost × 5 > estimate × 6. Both have two decimals, so the exact difference
# is a multiple of 0.01 when positive: comparing with 0.005 gives the same answer on PostgreSQL's
# exact decimals and on SQLite's floats. No index serves it: it narrows what the others select.
OVER_ESTIMATE = Q(
    status__in=(Status.SUCCEEDED, Status.FAILED),
    estimated_cost__isnull=False,
    cost__isnull=False,
) & Q(
    GreaterThan(
        ExpressionWrapper(F("cost") * 5 - F("estimated_cost") * 6, output_field=DecimalField()),
        Decimal("0.005"),
    )
)


def _search(text: str, choices: Choices) -> list[Q]:
    """A condition per thing `text` names: a workflow, a project, a job id or the start of one."""
    workflows, projects = choices.matching(text)
    found = [Q(workflow_pixxel_id=w) for w in workflows] + [Q(project=p) for p in projects]
    lowered = text.lower().rstrip("-")
    if len(lowered) >= MIN_ID_PREFIX and _ID_PREFIX.fullmatch(lowered):
        # A range the (organization, pixxel_id) index serves; `startswith` keeps it exact.
        found.append(
            Q(pixxel_id__gte=lowered, pixxel_id__lt=_next_prefix(lowered))
            & Q(pixxel_id__startswith=text.lower())
        )
    else:
        found.append(Q(pixxel_id=text))
    return found


def _next_prefix(prefix: str) -> str:
    """The smallest hex string after every string starting with `prefix` ("9" → "a": every
    collation orders digits before letters)."""
    last = prefix[-1]
    following = "a" if last == "9" else chr(ord(last) + 1)
    return prefix[:-1] + following


# Only what a row shows (and the live poll compares): never Pixxel's documents.
ROW_FIELDS = (
    "pixxel_id",
    "status",
    "status_raw",
    "progress",
    "cost",
    "estimated_cost",
    "time_taken_seconds",
    "failure_reason",
    "created_at",
    "version",
    "sync_stopped",
    "workflow_pixxel_id",
    "workflow__name",
    "project__pixxel_id",
    "project__name",
    "submitted_by__username",
    "source",
)


def _jobs(organization) -> QuerySet[Job]:
    return (
        Job.objects.filter(organization=organization)
        .select_related("workflow", "project", "submitted_by")
        .only(*ROW_FIELDS)
    )


@dataclass
class Page:
    """One page of rows and where the pager may go (None: nowhere that way)."""

    rows: list
    total: int  # up to COUNT_CAP + 1
    next_after: str | None = None
    prev_before: str | None = None
    at_start: bool = True
    at_end: bool = True
    anchor_lost: bool = False

    @property
    def total_shown(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"


@dataclass(frozen=True)
class _Order:
    """A keyset order: a column (maybe nullable, unknowns last), then the primary key."""

    column: str
    descending: bool
    nullable: bool

    @classmethod
    def of(cls, sort: str) -> _Order:
        column, nullable = SORTS[sort.lstrip("-")]
        return cls(column, sort.startswith("-"), nullable)

    def segments(self, backwards: bool) -> list[tuple[str, Q, list[str]]]:
        """(name, condition, ordering) of each stretch of the order, in walking direction."""
        down = self.descending != backwards
        sign = "-" if down else ""
        stretches = [("values", Q(**{f"{self.column}__isnull": False}) if self.nullable else Q())]
        if self.nullable:
            stretches.append(("unknown", Q(**{f"{self.column}__isnull": True})))
        if backwards:
            stretches.reverse()
        return [
            (
                name,
                condition,
                [f"{sign}{self.column}", f"{sign}pk"] if name == "values" else [f"{sign}pk"],
            )
            for name, condition in stretches
        ]

    def ordering(self, backwards: bool) -> list:
        """The whole order as one ORDER BY: unknown values last (first, walking backwards)."""
        down = self.descending != backwards
        key = F(self.column).desc if down else F(self.column).asc
        return [
            key(nulls_first=True) if backwards else key(nulls_last=True),
            "-pk" if down else "pk",
        ]

    def beyond(self, anchor: Model, backwards: bool) -> tuple[str, Q]:
        """The stretch `anchor` is in, and the rows of it strictly past `anchor` walking that way."""
        down = self.descending != backwards
        value = getattr(anchor, self.column)
        past = "lt" if down else "gt"
        if value is None:
            return "unknown", Q(**{f"pk__{past}": anchor.pk})
        return "values", Q(**{f"{self.column}__{past}e": value}) & (
            Q(**{f"{self.column}__{past}": value}) | Q(**{f"pk__{past}": anchor.pk})
        )


def _walk(
    rows: QuerySet,
    selection: Selection,
    order: _Order,
    anchor: Model | None,
    backwards: bool,
    limit: int,
) -> list:
    """Up to `limit` rows in order (reversed if `backwards`), strictly past `anchor` if given.

    One query. Each alternative × stretch of the order reads at most `limit` rows through its
    index; the rows are those among them that come first.
    """
    stretches = order.segments(backwards)
    if anchor is not None:
        # The anchor's stretch from the anchor on, and the stretches after it.
        start_stretch, past_anchor = order.beyond(anchor, backwards)
        at = next(i for i, (name, _, _) in enumerate(stretches) if name == start_stretch)
        stretches = stretches[at:]
        name, condition, ordering = stretches[0]
        stretches[0] = (name, condition & past_anchor, ordering)
    heads = [
        rows.filter(selection.common & alternative & condition).order_by(*ordering)
        for alternative in selection.alternatives
        for _, condition, ordering in stretches
    ]
    if len(heads) == 1:
        return list(heads[0][:limit])
    # The rows of every head, found by primary key: SELECT … WHERE id IN (head 1 UNION ALL …).
    # (The ORM cannot put LIMITs inside a UNION on SQLite; each head's SQL is the ORM's own, its
    # values stay parameters.)
    parts: list[str] = []
    params: list[Any] = []
    for i, head in enumerate(heads):
        sql, head_params = head.values("pk")[:limit].query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) head_{i}")  # noqa: S608
        params.extend(head_params)
    first = rows.filter(pk__in=RawSQL(" UNION ALL ".join(parts), params))  # noqa: S611
    return list(first.order_by(*order.ordering(backwards))[:limit])


def _page(
    rows: QuerySet, selection: Selection, query: HistoryQuery, order: _Order, anchor_rows
) -> Page:
    """The page `query` names of `rows`, in `order`. `anchor_rows` finds a cursor's row."""
    size = PAGE_SIZE
    total = rows.filter(selection.condition).order_by()[: COUNT_CAP + 1].count()
    cursor = query.after or query.before
    anchor = _anchor(anchor_rows, cursor) if cursor else None

    def walk(anchor, backwards):
        return _walk(rows, selection, order, anchor, backwards, size + 1)

    if cursor and anchor is None:
        # A link to a row that has gone (or never was): start over rather than fail.
        return _paged(walk(None, False), total, size, at_start=True, anchor_lost=True)
    if query.before and anchor is not None:
        found = walk(anchor, True)
        more = len(found) > size
        return _paged(found[:size][::-1], total, size, at_start=not more, at_end=False)
    if query.last:
        found = walk(None, True)
        more = len(found) > size
        return _paged(found[:size][::-1], total, size, at_start=not more, at_end=True)
    return _paged(walk(anchor, False), total, size, at_start=anchor is None)


_PUBLIC_ID = {Job: "pixxel_id", Submission: "token"}


def _anchor(rows: QuerySet, cursor: str) -> Model | None:
    """The row a page link names by its public id (None if there is none such)."""
    if rows.model is Submission:
        try:
            cursor = str(uuid.UUID(cursor))
        except ValueError:
            return None
    return rows.filter(**{_PUBLIC_ID[rows.model]: cursor}).first()


def _public_id(row: Model) -> str:
    return str(getattr(row, _PUBLIC_ID[type(row)]))


def _paged(
    found: list,
    total: int,
    size: int,
    *,
    at_start: bool,
    at_end: bool | None = None,
    anchor_lost: bool = False,
) -> Page:
    rows = found[:size]
    if at_end is None:
        at_end = len(found) <= size
    return Page(
        rows=rows,
        total=total,
        next_after=_public_id(rows[-1]) if rows and not at_end else None,
        prev_before=_public_id(rows[0]) if rows and not at_start else None,
        at_start=at_start,
        at_end=at_end,
        anchor_lost=anchor_lost,
    )


def job_page(organization, query: HistoryQuery, choices: Choices) -> Page:
    selection = job_filter(query, choices)
    if selection is None:
        return Page(rows=[], total=0)
    anchor_rows = Job.objects.filter(organization=organization).only(
        "pk", *(column for column, _ in SORTS.values())
    )
    page = _page(_jobs(organization), selection, query, _Order.of(query.sort), anchor_rows)
    page.rows = history_rows(organization, page.rows)
    return page


def _failed_submissions(organization) -> QuerySet[Submission]:
    return (
        Submission.objects.filter(organization=organization, outcome=Outcome.FAILED)
        .select_related("user", "project", "workflow")
        .only(
            "token",
            "created_at",
            "project_pixxel_id",
            "workflow_pixxel_id",
            "error_kind",
            "error_code",
            "http_status",
            "user_message",
            "user__username",
            "project__name",
            "workflow__name",
        )
    )


def submission_filter(query: HistoryQuery, choices: Choices) -> Selection | None:
    """The failed submissions `query` selects (None: certainly none). Few rows: one condition."""
    conditions = _common_filter(query, choices, "user")
    if conditions is None or query.over_estimate or query.followed_by:
        return None  # a failed submission made no job: none is over its estimate or followed
    if query.project == NONE:
        conditions &= Q(project_pixxel_id="")
    elif query.project:
        conditions &= Q(project_pixxel_id=query.project)
    if query.workflow:
        conditions &= Q(workflow_pixxel_id=query.workflow)
    if query.text:
        workflows, projects = choices.matching(query.text)
        conditions &= (
            Q(workflow_pixxel_id__in=workflows)
            | Q(project__in=projects)
            | Q(workflow_pixxel_id=query.text)
            | Q(project_pixxel_id=query.text)
        )
    return Selection(conditions)


def failed_submission_page(organization, query: HistoryQuery, choices: Choices) -> Page:
    selection = submission_filter(query, choices)
    if selection is None:
        return Page(rows=[], total=0)
    anchor_rows = Submission.objects.filter(organization=organization).only("pk", "created_at")
    order = _Order.of(DEFAULT_SORT)
    return _page(_failed_submissions(organization), selection, query, order, anchor_rows)


@dataclass
class HistoryRow:
    """A job as its history row shows it, its numbers written out once here (a page has 50 rows:
    template filters per cell were most of the page's time)."""

    job: Job
    url: str
    duration: str = field(init=False)
    overrun: bool = field(init=False)
    progress: str = field(init=False)  # "40" (percent) or ""
    credits: str = field(init=False)
    estimate: str = field(init=False)
    status: str = field(init=False)
    workflow: str = field(init=False)
    project: str = field(init=False)
    submitter: str = field(init=False)

    def __post_init__(self) -> None:
        job = self.job
        self.duration = format_duration(job.time_taken_seconds)
        self.overrun = over_estimate(job.cost, job.estimated_cost)
        self.progress = "" if job.progress is None else f"{job.progress:.0f}"
        self.credits = credits_text(job.cost)
        self.estimate = credits_text(job.estimated_cost)
        unknown_word = job.status == Status.UNKNOWN and job.status_raw
        self.status = (
            f"unknown — Pixxel says '{job.status_raw}'"
            if unknown_word
            else job.get_status_display()
        )
        workflow = job.workflow.name if job.workflow else ""
        self.workflow = workflow or f"Workflow {Truncator(job.workflow_pixxel_id).chars(20)}"
        self.project = (job.project.name or job.project.pixxel_id) if job.project else "—"
        self.submitter = job.submitted_by.username if job.submitted_by else ""

    @property
    def live(self) -> bool:
        """Will this row still change? (The list polls while any visible row will.)"""
        return not (self.job.is_terminal or self.job.sync_stopped)

    @property
    def short_id(self) -> str:
        return self.job.pixxel_id[:8]


def history_rows(organization, jobs: Iterable[Job]) -> list[HistoryRow]:
    """Rows for `jobs`; their links are built from one reversed prefix, not reversed per row."""
    prefix = reverse("job_detail", args=[organization.slug, "-"])[: -len("-/")]
    return [HistoryRow(job, f"{prefix}{quote(job.pixxel_id)}/") for job in jobs]


# --- the live rows ----------------------------------------------------------------------------

MAX_LIVE_ROWS = PAGE_SIZE


def parse_seen(values: Iterable[str]) -> dict[str, int]:
    """`<job id>.<version>` pairs the page shows (at most a page of them; others ignored)."""
    seen: dict[str, int] = {}
    for value in list(values)[:MAX_LIVE_ROWS]:
        job_id, _, version = value.rpartition(".")
        if job_id and version.isdigit() and len(job_id) <= 100:
            seen[job_id] = int(version)
    return seen


def live_rows(organization, seen: Mapping[str, int]) -> tuple[list[HistoryRow], list[HistoryRow]]:
    """(rows changed since the versions seen, rows still live) among the organization's jobs."""
    if not seen:
        return [], []
    jobs = list(_jobs(organization).filter(pixxel_id__in=list(seen)))
    rows = history_rows(organization, jobs)
    changed = [row for row in rows if row.job.version != seen[row.job.pixxel_id]]
    return changed, [row for row in rows if row.live]


# --- CSV --------------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts like a formula; a leading apostrophe keeps it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


JOB_CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("job_id", "pixxel_id"),
    ("status", "status"),
    ("workflow_id", "workflow_pixxel_id"),
    ("workflow", "workflow__name"),
    ("project_id", "project__pixxel_id"),
    ("project", "project__name"),
    ("submitted_by", "submitted_by__username"),
    ("created_at", "created_at"),
    ("finished_at", "finished_at"),
    ("duration_seconds", "time_taken_seconds"),
    ("progress_percent", "progress"),
    ("credits", "cost"),
    ("estimated_credits", "estimated_cost"),
    ("failure_reason", "failure_reason"),
)
SUBMISSION_CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("submitted_at", "created_at"),
    ("submitted_by", "user__username"),
    ("workflow_id", "workflow_pixxel_id"),
    ("workflow", "workflow__name"),
    ("project_id", "project_pixxel_id"),
    ("project", "project__name"),
    ("failure", "error_kind"),
    ("http_status", "http_status"),
    ("error_code", "error_code"),
    ("message", "user_message"),
)
CSV_CHUNK = 2000


class _Echo:
    """A file whose write returns what it was given: csv.writer's output, one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(organization, query: HistoryQuery, choices: Choices) -> Iterator[str]:
    """Every row the view selects (not one page), oldest last, as CSV lines: one query, streamed."""
    if query.show == FAILED_SUBMISSIONS:
        columns, selection = SUBMISSION_CSV_COLUMNS, submission_filter(query, choices)
        base: QuerySet = Submission.objects.filter(
            organization=organization, outcome=Outcome.FAILED
        )
    else:
        columns, selection = JOB_CSV_COLUMNS, job_filter(query, choices)
        base = Job.objects.filter(organization=organization)
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in columns])
    if selection is None:
        return
    order = _Order.of(query.sort if query.show == JOBS else DEFAULT_SORT)
    ordered = base.filter(selection.condition).order_by(*order.ordering(backwards=False))
    values = ordered.values_list(*(column for _, column in columns))
    for row in values.iterator(chunk_size=CSV_CHUNK):
        yield writer.writerow([csv_cell(value) for value in row])
