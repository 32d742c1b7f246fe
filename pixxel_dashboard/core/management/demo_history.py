"""The demo organization's past: a year of a small team's jobs and failed submissions (`seed_demo`).

Every job is one the sandbox knows: its line goes into the sandbox's state file (a line fully
determines a job, its run planned from its creation time), and what the dashboard stores is the
sandbox's own answer at "now" (`job_view`), parsed as a real answer is and kept with `save_job`.
So a seeded job's page, its downloads and *Run again* work as for a job submitted today.

Deterministic: a fixed random seed, ids derived from a namespace; only the times move with the day
it runs (the last twelve months). The sandbox module is imported inside the functions: the product
never imports the sandbox (tests/test_boundaries.py), and this module is part of the product.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Case, DateTimeField, Sum, Value, When
from django.utils import timezone

from pixxel_dashboard.accounts.models import Membership, Organization, Role
from pixxel_dashboard.costs import rollups
from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.models import Job, Outcome, Source, Submission
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.keys.models import ApiKey
from pixxel_dashboard.pixxel import ErrorKind, PixxelError, parsing

if TYPE_CHECKING:
    from pixxel_dashboard.sandbox import simulation

HISTORY_SEED = 2025  # the same past on every machine, and after `make clean`
HISTORY_DAYS = 365
# Seeded jobs' and submissions' ids come from here: the same ids every time, so a second run
# finds the past it made.
NAMESPACE = uuid.UUID("6f1c2a7e-3d4b-5e8f-9a0b-1c2d3e4f5a6b")


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str


# The team besides `demo` (the owner). They never log in: their passwords are unusable.
PEOPLE = (
    Person("priya", "Priya", "Raman", Role.ADMIN),
    Person("marco", "Marco", "Bellini", Role.MEMBER),
    Person("lena", "Lena", "Fischer", Role.MEMBER),
    Person("tomas", "Tomás", "Ortega", Role.MEMBER),
    Person("sam", "Sam", "Okafor", Role.VIEWER),  # reads the costs, submits nothing
)


@dataclass(frozen=True)
class Usage:
    """How often the team ran one workflow (or one of several), between two ages in days."""

    workflows: tuple[str, ...]
    jobs: int
    since_days: int = HISTORY_DAYS
    until_days: int = 1  # whole days ago: every job has ended by now (the slowest takes an hour)
    imported: float = 0.0  # the share brought in from Pixxel rather than submitted here


def _usages() -> tuple[Usage, ...]:
    from pixxel_dashboard.sandbox import ids, seed

    archive = tuple(
        wf.id for wf in seed.workflows().values() if wf.project_id == ids.PROJECT_ARCHIVE
    )[:12]
    # Every workflow whose jobs end, the 2,000-task one excepted (its answers are megabytes).
    return (
        Usage((ids.WF_LINEAR,), 78),  # weekly crop vigour
        Usage((ids.WF_WATER,), 61),
        Usage((ids.WF_DIAMOND,), 35, since_days=240),
        Usage((ids.WF_SLOW,), 30),
        Usage((ids.WF_FAILING,), 30, since_days=120),  # crashes on the current scene
        Usage((ids.WF_FANOUT,), 6, since_days=300),  # 56 tasks each: kept few, for speed
        Usage((ids.WF_EXPENSIVE,), 12),  # 5,000 credits a run
        Usage((ids.WF_VALIDATION,), 8, since_days=60),  # a draft, submitted despite its errors
        Usage(archive, 40, until_days=180, imported=0.5),  # last year's field surveys
    )


# Who runs what: each project's regulars, as weights.
SUBMITTERS = {
    "agri": {"priya": 5, "lena": 3, "demo": 1},
    "coastal": {"marco": 5, "tomas": 3, "demo": 1},
    "urban": {"lena": 4, "priya": 2, "marco": 1, "demo": 1},
    "archive": {"tomas": 3, "priya": 1},
}

# Busy hours of a working day (local time), as weights: a dip at lunch.
WORKING_HOURS = {8: 1, 9: 3, 10: 4, 11: 4, 12: 2, 13: 3, 14: 4, 15: 4, 16: 3, 17: 2, 18: 1}


def _failures() -> tuple[tuple[PixxelError, int], ...]:
    """Ways a create call failed, as the client reports them (weights beside)."""
    return (
        (
            PixxelError(
                ErrorKind.RATE_LIMITED,
                "too many requests, retry later",
                status=429,
                code="rate_limited",
                retry_after=30,
            ),
            4,
        ),
        (
            PixxelError(
                ErrorKind.SERVER_ERROR,
                "internal server error",
                status=500,
                code="internal_error",
            ),
            4,
        ),
        (PixxelError(ErrorKind.SERVER_ERROR, "Bad Gateway", status=502), 3),
        (
            PixxelError(
                ErrorKind.INVALID_RESPONSE, "the response body could not be decoded", status=200
            ),
            2,
        ),
        # Filled in per attempt: a workflow sent with a project it is not in.
        (PixxelError(ErrorKind.FORBIDDEN, "", status=403, code="forbidden"), 3),
    )


FAILED_SUBMISSIONS = 18


@dataclass
class PastJob:
    job: simulation.Job
    submitter: str | None  # username; None: imported
    number: int


@dataclass
class PastFailure:
    workflow_id: str
    project_id: str
    submitter: str
    at: datetime
    error: PixxelError
    number: int


@dataclass
class Seeded:
    jobs: int = 0  # created now (0: the past was there already)
    lines: int = 0  # appended to the sandbox's state file


def seed_history(
    organization: Organization, owner, api_key: ApiKey, sandbox_key: str, state_path: Path
) -> Seeded:
    """Give the organization its past once (its jobs made with `sandbox_key`, kept as made with
    `api_key`), and make sure the sandbox's state file holds them."""
    from pixxel_dashboard.sandbox import simulation

    people = ensure_team(organization, owner)
    world = simulation.world_of(sandbox_key)
    seeded = Seeded()
    past = seeded_jobs(organization, world)
    if not past:
        now = timezone.now()
        rng = random.Random(HISTORY_SEED)
        planned = plan_jobs(rng, world, now)
        failures = plan_failures(rng, now)
        store_jobs(organization, planned, failures, people, api_key, now)
        seed_budgets(organization, owner)
        past = [p.job for p in planned]
        seeded.jobs = len(past)
    seeded.lines = simulation.append_to_state(state_path, past)
    return seeded


# Each demo project's monthly budget, as a share of its average month: one tight, one roomy.
BUDGET_SHARES = {"agri": Decimal("1.1"), "coastal": Decimal("2")}


def seed_budgets(organization: Organization, owner) -> None:
    """Budgets for two demo projects, sized from their past so the overview shows both states."""
    from pixxel_dashboard.costs.budgets import set_budget
    from pixxel_dashboard.costs.models import CostRollup, Grain
    from pixxel_dashboard.sandbox import ids

    for project_id, key in ((ids.PROJECT_AGRI, "agri"), (ids.PROJECT_COASTAL, "coastal")):
        project = catalog.ensure_project(organization, project_id)
        total = CostRollup.objects.filter(
            organization=organization, grain=Grain.PROJECT, project_ref=project.pk
        ).aggregate(total=Sum("credits"))["total"]
        if total:
            monthly = Decimal(total) / 100 / 12 * BUDGET_SHARES[key]
            set_budget(organization, project, monthly.quantize(Decimal("1")), owner)


def ensure_team(organization: Organization, owner) -> dict[str, Any]:
    """The demo's colleagues, by username (`demo` too). A person of the same name who signed up
    for real (a usable password) is left alone and not made a member."""
    users = get_user_model().objects
    people: dict[str, Any] = {owner.username: owner}
    for person in PEOPLE:
        user, created = users.get_or_create(
            username=person.username,
            defaults={
                "email": f"{person.username}@demo.example.com",
                "first_name": person.first_name,
                "last_name": person.last_name,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        elif user.has_usable_password():
            continue
        Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": person.role}
        )
        people[person.username] = user
    return people


def job_id(number: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"job:{number}"))


def seeded_jobs(organization: Organization, world: str) -> list[simulation.Job]:
    """The past already stored, as the sandbox's jobs (to write their lines again if need be)."""
    from pixxel_dashboard.sandbox import simulation

    total = sum(usage.jobs for usage in _usages())
    rows = Job.objects.filter(
        organization=organization, pixxel_id__in=[job_id(n) for n in range(total)]
    ).values_list("pixxel_id", "workflow_pixxel_id", "project__pixxel_id", "pixxel_created_at")
    jobs = []
    for pixxel_id, workflow_id, project_id, created_at in rows:
        workflow = simulation.Simulation.workflow(workflow_id)
        if workflow is not None and created_at is not None:
            jobs.append(
                simulation.planned_job(
                    pixxel_id, world, workflow, project_id or "", int(created_at.timestamp())
                )
            )
    return jobs


# Planning ----------------------------------------------------------------------------------------


@lru_cache(maxsize=32)  # per usage, within one run
def _days(now: datetime, usage: Usage) -> tuple[datetime, list[int], list[float]]:
    """The usage's days (whole days ago) and their weights: recent months busier (up to 3×),
    weekends quiet."""
    local_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    days = list(range(usage.until_days, usage.since_days + 1))
    weights = [
        (1 + 2 * (1 - ago / HISTORY_DAYS))
        * (0.08 if (local_today - timedelta(days=ago)).weekday() >= 5 else 1)
        for ago in days
    ]
    return local_today, days, weights


def _moment(rng: random.Random, now: datetime, usage: Usage) -> datetime:
    """A moment of a working day in the usage's window, in whole seconds: the state file and
    Pixxel's times (RFC 3339) then agree exactly."""
    local_today, days, weights = _days(now, usage)
    ago = rng.choices(days, weights)[0]
    hour = rng.choices(list(WORKING_HOURS), list(WORKING_HOURS.values()))[0]
    # Wall-clock arithmetic in the local zone (a time a DST change skipped is an hour off).
    day = local_today - timedelta(days=ago)
    return day.replace(hour=hour) + timedelta(seconds=rng.randrange(3600))


def _project_key(project_id: str) -> str:
    from pixxel_dashboard.sandbox import ids

    return {
        ids.PROJECT_AGRI: "agri",
        ids.PROJECT_COASTAL: "coastal",
        ids.PROJECT_URBAN: "urban",
        ids.PROJECT_ARCHIVE: "archive",
    }[project_id]


def _submitter(rng: random.Random, project_id: str) -> str:
    regulars = SUBMITTERS[_project_key(project_id)]
    return rng.choices(list(regulars), list(regulars.values()))[0]


def plan_jobs(rng: random.Random, world: str, now: datetime) -> list[PastJob]:
    from pixxel_dashboard.sandbox import seed, simulation

    planned: list[PastJob] = []
    for usage in _usages():
        for _ in range(usage.jobs):
            workflow = seed.workflows()[rng.choice(usage.workflows)]
            at = _moment(rng, now, usage)
            imported = rng.random() < usage.imported
            submitter = None if imported else _submitter(rng, workflow.project_id)
            number = len(planned)
            job = simulation.planned_job(
                job_id(number), world, workflow, workflow.project_id, int(at.timestamp())
            )
            planned.append(PastJob(job, submitter, number))
    return planned


def plan_failures(rng: random.Random, now: datetime) -> list[PastFailure]:
    from pixxel_dashboard.sandbox import seed

    usages = [u for u in _usages() if not u.imported]
    errors = _failures()
    failures = []
    for number in range(FAILED_SUBMISSIONS):
        usage = rng.choices(usages, [u.jobs for u in usages])[0]
        workflow = seed.workflows()[rng.choice(usage.workflows)]
        error = rng.choices([e for e, _ in errors], [w for _, w in errors])[0]
        project_id = workflow.project_id
        if error.kind == ErrorKind.FORBIDDEN:
            # The project picked was not the workflow's: what the sandbox answers to that.
            project_id = rng.choice([p for p in seed.projects() if p != workflow.project_id])
            error = PixxelError(
                ErrorKind.FORBIDDEN,
                "no access to this workflow in that project",
                status=403,
                code="forbidden",
                details={"project_id": project_id, "workflow_id": workflow.id},
            )
        at = _moment(rng, now, usage)
        submitter = _submitter(rng, workflow.project_id)
        failures.append(PastFailure(workflow.id, project_id, submitter, at, error, number))
    return failures


# Storing -----------------------------------------------------------------------------------------


def store_jobs(
    organization: Organization,
    planned: Sequence[PastJob],
    failures: Sequence[PastFailure],
    people: dict[str, Any],
    api_key: ApiKey,
    now: datetime,
) -> None:
    from pixxel_dashboard.sandbox import simulation

    projects, workflows = _catalog(organization, {p.job.workflow.id for p in planned})
    stamps: dict[int, tuple[datetime, datetime]] = {}
    submissions = []
    for past in planned:
        job, workflow = past.job, past.job.workflow
        # The sandbox's answer at "now" (every seeded job has ended), over the wire's JSON.
        answer = json.loads(json.dumps(simulation.job_view(job, now.timestamp())))
        submitted = past.submitter is not None
        estimate = Decimal(workflow.estimated_cost) if submitted else None
        row, _ = save_job(
            organization,
            parsing.parse_job(answer),
            workflow_pixxel_id=workflow.id,
            project=projects[job.project_id],
            workflow=workflows[workflow.id],
            submitted_by=people.get(past.submitter or ""),
            api_key=api_key,
            source=Source.SUBMITTED if submitted else Source.IMPORTED,
            estimated_cost=estimate,
        )
        created = _aware(job.created_at)
        # Synced once, soon after it ended: terminal and synced, the worker leaves it alone.
        stamps[row.pk] = (created, _aware(job.end) + timedelta(seconds=20))
        if submitted:
            submissions.append(_submission(organization, past, row, people, estimate, created))
    _backdate_jobs(stamps)
    rollups.rebuild(organization)  # the jobs' days changed around save_job
    for failure in failures:
        submissions.append(_failed_submission(organization, failure, people, projects, workflows))
    _store_submissions(organization, submissions)


def _aware(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.get_current_timezone())


def _catalog(organization: Organization, workflow_ids: set[str]):
    """The projects and workflows the past names, kept as a submission keeps them (never as a
    listing: the submit form still lists the catalog from Pixxel)."""
    from pixxel_dashboard.sandbox import seed

    projects = {
        p.id: catalog.ensure_project(organization, p.id, p.title) for p in seed.projects().values()
    }
    workflows = {}
    for workflow_id in sorted(workflow_ids):
        wf = seed.workflows()[workflow_id]
        workflows[wf.id] = catalog.ensure_workflow(
            organization,
            wf.id,
            projects[wf.project_id],
            name=wf.name,
            description=wf.description,
            estimated_cost=Decimal(wf.estimated_cost),
        )
    return projects, workflows


def _backdate_jobs(stamps: dict[int, tuple[datetime, datetime]]) -> None:
    """`created_at` is auto_now_add: the past times are set afterwards."""
    created = {pk: at for pk, (at, _) in stamps.items()}
    synced = {pk: at for pk, (_, at) in stamps.items()}
    for chunk in _chunks(list(stamps)):
        Job.objects.filter(pk__in=chunk).update(
            created_at=_times("pk", chunk, created),
            last_synced_at=_times("pk", chunk, synced),
            updated_at=_times("pk", chunk, synced),
        )


def _chunks[T](items: list[T], size: int = 200) -> list[list[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _times(field: str, keys: list, times: dict) -> Case:
    """One UPDATE sets a time per row: CASE field WHEN key THEN time …"""
    return Case(
        *(When(**{field: key}, then=Value(times[key])) for key in keys),
        output_field=DateTimeField(),
    )


def _submission(organization, past: PastJob, row: Job, people, estimate, created) -> Submission:
    job = past.job
    rng = random.Random(past.number)
    return Submission(
        organization=organization,
        token=uuid.uuid5(NAMESPACE, f"submission:{past.number}"),
        user=people.get(past.submitter or ""),
        project=row.project,
        project_pixxel_id=job.project_id,
        workflow=row.workflow,
        workflow_pixxel_id=job.workflow.id,
        estimated_cost=estimate,
        confirmed_validation_errors=job.rejected,
        created_at=created - timedelta(seconds=1),
        outcome=Outcome.SUCCEEDED,
        http_status=200,
        latency_ms=rng.randrange(180, 900),
        job=row,
    )


def _failed_submission(
    organization, failure: PastFailure, people, projects, workflows
) -> Submission:
    from pixxel_dashboard.sandbox import seed

    error = failure.error
    workflow = seed.workflows()[failure.workflow_id]
    slow = error.kind in (ErrorKind.SERVER_ERROR, ErrorKind.INVALID_RESPONSE)
    return Submission(
        organization=organization,
        token=uuid.uuid5(NAMESPACE, f"failed-submission:{failure.number}"),
        user=people.get(failure.submitter),
        project=projects.get(failure.project_id),
        project_pixxel_id=failure.project_id,
        workflow=workflows.get(failure.workflow_id),
        workflow_pixxel_id=failure.workflow_id,
        estimated_cost=Decimal(workflow.estimated_cost),
        created_at=failure.at,
        outcome=Outcome.FAILED,
        http_status=error.status,
        error_kind=error.kind,
        error_code=error.code or "",
        error_message=error.message,
        error_details=error.details,
        user_message=error.user_message,
        latency_ms=random.Random(failure.number).randrange(2500, 9000) if slow else 240,
    )


def _store_submissions(organization: Organization, submissions: list[Submission]) -> None:
    """Kept in bulk; their times set afterwards (`created_at` is auto_now_add)."""
    times = {s.token: s.created_at for s in submissions}
    Submission.objects.bulk_create(submissions)
    for chunk in _chunks(list(times)):
        Submission.objects.filter(organization=organization, token__in=chunk).update(
            created_at=_times("token", chunk, times)
        )
