"""Cost rollups for the jobs an installation stored before the rollups existed.

From 0001 on (0002: with the open-jobs rows), `save_job` keeps the rollups; the jobs already there need theirs computed once.
The aggregation is the rule `costs/rollups.py` had when this migration was written, frozen here
(a later change to the app's code must never change, or break, what this migration does). Each
organization's rows are replaced, so running it where rollups were already kept changes nothing.
"""

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from django.db import migrations

MEASURES = (
    "jobs",
    "credits",
    "estimated_jobs",
    "estimate",
    "queued",
    "running",
    "succeeded",
    "failed",
    "unknown",
    "timed_jobs",
    "duration_ms",
    "compared_jobs",
    "compared_estimate",
    "compared_credits",
    "over_estimate_jobs",
    "to_come",
)
STATUSES = ("queued", "running", "succeeded", "failed")
OPEN_STATUSES = ("queued", "running")
OPEN_DAY = date(2000, 1, 1)  # the day of every open-jobs row
MAX_CREDITS = Decimal("999999999999.99")
CENT = Decimal("0.01")
BATCH = 2000


def credits(value):
    """A stored amount in bounds, or None (an out-of-bounds one reads as unknown)."""
    if value is None:
        return None
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return amount if amount.is_finite() and 0 <= amount <= MAX_CREDITS else None


def hundredths(amount):
    return 0 if amount is None else int(amount.quantize(CENT, rounding=ROUND_HALF_EVEN) * 100)


def measures(job):
    cost, estimate = credits(job["cost"]), credits(job["estimated_cost"])
    compared = job["status"] in ("succeeded", "failed") and None not in (cost, estimate)
    seconds = job["time_taken_seconds"]
    values = {
        "jobs": 1,
        "credits": hundredths(cost),
        "estimated_jobs": int(estimate is not None),
        "estimate": hundredths(estimate),
        "timed_jobs": int(seconds is not None),
        "duration_ms": round((seconds or 0) * 1000),
        "compared_jobs": int(compared),
        "compared_estimate": hundredths(estimate) if compared else 0,
        "compared_credits": hundredths(cost) if compared else 0,
        "over_estimate_jobs": int(compared and cost > estimate * Decimal("1.2")),
        "to_come": (
            max(0, hundredths(estimate) - hundredths(cost))
            if job["status"] in OPEN_STATUSES
            else 0
        ),
    }
    values[job["status"] if job["status"] in STATUSES else "unknown"] = 1
    return [values.get(name, 0) for name in MEASURES]


def backfill(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    Job = apps.get_model("jobs", "Job")
    CostRollup = apps.get_model("costs", "CostRollup")
    for organization in Organization.objects.order_by("pk"):
        zone = ZoneInfo(organization.time_zone or "UTC")
        totals = defaultdict(lambda: [0] * len(MEASURES))
        jobs = (
            Job.objects.filter(organization=organization)
            .order_by()
            .values(
                "created_at",
                "project_id",
                "workflow_pixxel_id",
                "submitted_by_id",
                "status",
                "cost",
                "estimated_cost",
                "time_taken_seconds",
            )
            .iterator(chunk_size=BATCH)
        )
        for job in jobs:
            day = job["created_at"].astimezone(zone).date()
            project = job["project_id"] or 0
            values = measures(job)
            keys = [
                ("p", project, "", 0, day),
                ("w", project, job["workflow_pixxel_id"][:100], 0, day),
                ("m", project, "", job["submitted_by_id"] or 0, day),
            ]
            if job["status"] in OPEN_STATUSES:  # its project's row of queued and running jobs
                keys.append(("o", project, "", 0, OPEN_DAY))
            for key in keys:
                row = totals[key]
                for i, value in enumerate(values):
                    row[i] += value
        CostRollup.objects.filter(organization=organization).delete()
        CostRollup.objects.bulk_create(
            (
                CostRollup(
                    organization=organization,
                    grain=grain,
                    project_ref=project,
                    workflow=workflow,
                    member_ref=member,
                    day=day,
                    **dict(zip(MEASURES, values)),
                )
                for (grain, project, workflow, member, day), values in totals.items()
            ),
            batch_size=BATCH,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("costs", "0002_open_rows"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
