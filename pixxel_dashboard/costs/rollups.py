"""Keeping `CostRollup` equal to the aggregate of the organization's jobs.

`save_job` (jobs/persist.py) takes a job's `contribution` before and after it changes and hands both
to `record_change` inside its transaction, with the Job row locked: the rollups move with the job or
not at all. One statement per change: an INSERT … ON CONFLICT DO UPDATE that adds the difference
(the same SQL on SQLite and PostgreSQL; Django's upsert can only overwrite, not add). Rows are
written in key order, so two transactions adding to the same rows lock them in the same order.

`rebuild` recomputes an organization's rows from its jobs: after a time zone change, after data
was written around `save_job` (the demo's history, the benchmark's bulk seeding), and by
`manage.py rebuild_cost_rollups`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from pixxel_dashboard.core.credits import as_credits, whole_cents
from pixxel_dashboard.jobs.models import Job, Status

from .models import MEASURES, OPEN_DAY, CostRollup, Grain

OVER_ESTIMATE = Decimal("1.2")  # a job over its estimate by more than 20 % is flagged

Key = tuple[str, int, str, int, date]  # grain, project_ref, workflow, member_ref, day
STATUS_MEASURE: dict[str, str] = {
    Status.QUEUED.value: "queued",
    Status.RUNNING.value: "running",
    Status.SUCCEEDED.value: "succeeded",
    Status.FAILED.value: "failed",
    Status.UNKNOWN.value: "unknown",
}
FINISHED = (Status.SUCCEEDED, Status.FAILED)
OPEN_STATUSES = (Status.QUEUED, Status.RUNNING)
# What `contribution` reads of a job (rebuild reads only these columns).
JOB_COLUMNS = (
    "created_at",
    "project_id",
    "workflow_pixxel_id",
    "submitted_by_id",
    "status",
    "cost",
    "estimated_cost",
    "time_taken_seconds",
)


def hundredths(amount: Decimal | None) -> int:
    """Credits as whole hundredths, rounded as the amount is stored (`CreditsField` writes two
    decimals); unknown counts 0."""
    return 0 if amount is None else int(whole_cents(amount) * 100)


def stored_credits(value) -> Decimal | None:
    """An amount as the database holds it: a value just assigned may still be an int, a float or
    have a third decimal (`CreditsField` writes two); a stored one out of bounds is unknown."""
    amount = as_credits(value)
    return None if amount is None else whole_cents(amount)


def zone_of(organization) -> tzinfo:
    return ZoneInfo(organization.time_zone or "UTC")


@dataclass(frozen=True)
class Contribution:
    """What one job adds to the rollups: the same measures on each of its three rows."""

    keys: tuple[Key, ...]
    measures: tuple[int, ...]  # in MEASURES order

    def rows(self, sign: int = 1) -> dict[Key, list[int]]:
        return {key: [sign * value for value in self.measures] for key in self.keys}


def contribution(job: Job, zone: tzinfo) -> Contribution:
    """The job's rows (its project's, its workflow's, its submitter's, on its local day; and its
    project's OPEN row while it is queued or running) and what it adds to each."""
    day = timezone.localtime(job.created_at, zone).date()
    project = job.project_id or 0
    keys: tuple[Key, ...] = (
        (Grain.PROJECT.value, project, "", 0, day),
        (Grain.WORKFLOW.value, project, job.workflow_pixxel_id[:100], 0, day),
        (Grain.MEMBER.value, project, "", job.submitted_by_id or 0, day),
    )
    is_open = job.status in OPEN_STATUSES
    if is_open:
        keys = (*keys, (Grain.OPEN.value, project, "", 0, OPEN_DAY))
    cost, estimate = stored_credits(job.cost), stored_credits(job.estimated_cost)
    has_estimate = estimate is not None
    compared = job.status in FINISHED and cost is not None and estimate is not None
    values = {
        "jobs": 1,
        "credits": hundredths(cost),
        "estimated_jobs": int(has_estimate),
        "estimate": hundredths(estimate),
        "timed_jobs": int(job.time_taken_seconds is not None),
        "duration_ms": round((job.time_taken_seconds or 0) * 1000),
        "compared_jobs": int(compared),
        "compared_estimate": hundredths(estimate) if compared else 0,
        "compared_credits": hundredths(cost) if compared else 0,
        "over_estimate_jobs": int(
            cost is not None
            and estimate is not None
            and compared
            and cost > estimate * OVER_ESTIMATE
        ),
        "to_come": max(0, hundredths(estimate) - hundredths(cost)) if is_open else 0,
    }
    values[STATUS_MEASURE.get(job.status, "unknown")] = 1
    return Contribution(keys, tuple(values.get(name, 0) for name in MEASURES))


def record_change(organization, before: Contribution | None, after: Contribution | None) -> None:
    """Move a job's contribution from `before` to `after` (None: the job did not / does not exist).
    Call inside the transaction that saves the job."""
    deltas: dict[Key, list[int]] = defaultdict(lambda: [0] * len(MEASURES))
    for change, sign in ((before, -1), (after, 1)):
        if change is None:
            continue
        for key, values in change.rows(sign).items():
            deltas[key] = [a + b for a, b in zip(deltas[key], values, strict=True)]
    changed = {key: values for key, values in deltas.items() if any(values)}
    if changed:
        _add(organization.pk, sorted(changed.items()))


_COLUMNS = ("organization_id", "grain", "project_ref", "workflow", "member_ref", "day", *MEASURES)
_CONFLICT = ", ".join(_COLUMNS[:6])


def _add(organization_id: int, rows: list[tuple[Key, list[int]]]) -> None:
    table = connection.ops.quote_name(CostRollup._meta.db_table)
    placeholders = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    additions = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in MEASURES)
    # Only identifiers of our own (the table, MEASURES) are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608
        f"{', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({_CONFLICT}) DO UPDATE SET {additions}"
    )
    params: list = []
    for key, values in rows:
        params.extend((organization_id, *key, *values))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def aggregate(jobs: Iterable[Job], zone: tzinfo) -> dict[Key, list[int]]:
    """The rollup rows of `jobs`, summed in Python (rebuild)."""
    totals: dict[Key, list[int]] = defaultdict(lambda: [0] * len(MEASURES))
    for job in jobs:
        for key, values in contribution(job, zone).rows().items():
            row = totals[key]
            for i, value in enumerate(values):
                row[i] += value
    return totals


def rebuild(organization) -> int:
    """Replace the organization's rollups with the aggregate of its jobs; returns the row count.

    The jobs are read in one pass (only the columns a contribution needs) and summed in Python with
    the same `contribution` the incremental path uses; locks the organization's rollups meanwhile.
    """
    jobs = (
        Job.objects.filter(organization=organization)
        .only(*JOB_COLUMNS)
        .order_by()
        .iterator(chunk_size=5000)
    )
    with transaction.atomic():
        CostRollup.objects.filter(organization=organization).delete()
        totals = aggregate(jobs, zone_of(organization))
        CostRollup.objects.bulk_create(
            (
                CostRollup(
                    organization=organization,
                    grain=grain,
                    project_ref=project,
                    workflow=workflow,
                    member_ref=member,
                    day=day,
                    **dict(zip(MEASURES, values, strict=True)),
                )
                for (grain, project, workflow, member, day), values in totals.items()
            ),
            batch_size=2000,
        )
    return len(totals)
