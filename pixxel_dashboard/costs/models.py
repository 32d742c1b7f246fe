"""What the cost pages read: per-day rollups of the organization's jobs, and project budgets.

A cost page never aggregates jobs. Every change to a job (creation, cost, status, duration) moves its
contribution between `CostRollup` rows in the transaction that saves the job (`rollups.py`), so a
page sums at most a few thousand small rows however many jobs the organization has.

Plus one OPEN row per project: its queued and running jobs, whatever their day.

Why days, split by dimension, rather than one project × workflow × member × month table: the range
control asks for any days ("last 90 days", a custom range), and day × workflow × member together
would be nearly a row per job. Per day, the project rows (the overview), the workflow rows and the
member rows (one project's page) each stay bounded by days × what exists, not by jobs. Days are
local to the organization's time zone (months are made of them), so changing the time zone
rebuilds the organization's rows.

Amounts are whole hundredths of a credit (credits have two decimals): sums stay exact on SQLite,
which has no decimal arithmetic.
"""

from datetime import date

from django.conf import settings
from django.db import models

from pixxel_dashboard.accounts.models import Organization
from pixxel_dashboard.core.credits import CreditsField


class Grain(models.TextChoices):
    PROJECT = "p", "Project"
    WORKFLOW = "w", "Workflow"
    MEMBER = "m", "Member"
    # One row per project for its queued and running jobs, whatever their day (`OPEN_DAY`): what
    # they have cost so far and what their estimates say is still to come, read without touching
    # jobs (the overview's "running" figures and the forecast).
    OPEN = "o", "Open jobs"


# The day of every OPEN row (they are not about a day; the unique key needs one).
OPEN_DAY = date(2000, 1, 1)


# The measures every rollup row carries, in the order rollups.py writes them.
MEASURES = (
    "jobs",
    "credits",  # hundredths of a credit: every job's cost so far (unknown counts 0)
    "estimated_jobs",  # jobs submitted with an estimate shown
    "estimate",  # hundredths: the sum of those estimates
    "queued",
    "running",
    "succeeded",
    "failed",
    "unknown",
    "timed_jobs",  # jobs with a known duration
    "duration_ms",  # their durations, summed
    "compared_jobs",  # finished jobs with an estimate and a cost: estimate vs actual
    "compared_estimate",  # hundredths
    "compared_credits",  # hundredths
    "over_estimate_jobs",  # compared jobs whose cost is over their estimate by more than 20 %
    "to_come",  # hundredths: for queued and running jobs, their estimate minus their cost so far
)


class CostRollup(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    grain = models.CharField(max_length=1, choices=Grain.choices)
    # Plain keys, not foreign keys: 0 and "" mean "none", so the unique key has no NULL in it
    # (NULLs are never equal, and the upsert needs them to be).
    project_ref = models.IntegerField(default=0)  # a Project pk, 0: a job without a project
    workflow = models.CharField(max_length=100, default="")  # a workflow's Pixxel id (grain w)
    member_ref = models.IntegerField(default=0)  # a user pk (grain m), 0: nobody (imported)
    day = models.DateField()  # in the organization's time zone

    jobs = models.IntegerField(default=0)
    credits = models.BigIntegerField(default=0)
    estimated_jobs = models.IntegerField(default=0)
    estimate = models.BigIntegerField(default=0)
    queued = models.IntegerField(default=0)
    running = models.IntegerField(default=0)
    succeeded = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    unknown = models.IntegerField(default=0)
    timed_jobs = models.IntegerField(default=0)
    duration_ms = models.BigIntegerField(default=0)
    compared_jobs = models.IntegerField(default=0)
    compared_estimate = models.BigIntegerField(default=0)
    compared_credits = models.BigIntegerField(default=0)
    over_estimate_jobs = models.IntegerField(default=0)
    to_come = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            # The upsert's conflict target (rollups.py): column for column.
            models.UniqueConstraint(
                fields=["organization", "grain", "project_ref", "workflow", "member_ref", "day"],
                name="cost_rollup_key",
            )
        ]
        indexes = [
            # The overview: every project's rows of a range; a project's page: its rows of one grain.
            models.Index(fields=["organization", "grain", "day"], name="cost_rollup_org_day"),
            models.Index(
                fields=["organization", "grain", "project_ref", "day"],
                name="cost_rollup_project_day",
            ),
        ]

    def __str__(self):
        return f"{self.grain} {self.project_ref}/{self.workflow}/{self.member_ref} {self.day}"


class ProjectBudget(models.Model):
    """A project's monthly credit budget (months in the organization's time zone)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("jobs.Project", on_delete=models.CASCADE, related_name="+")
    monthly_credits = CreditsField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "project"], name="one_budget_per_project"
            )
        ]

    def __str__(self):
        return f"{self.project}: {self.monthly_credits} credits a month"


class BudgetAlert(models.Model):
    """One crossing of a budget threshold in one month: the row is claimed before the email goes,
    so two workers seeing the same crossing send it once."""

    class Measure(models.TextChoices):
        SPEND = "spend", "Spend"
        FORECAST = "forecast", "Forecast"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("jobs.Project", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the month's first day, in the organization's time zone
    measure = models.CharField(max_length=10, choices=Measure.choices)
    threshold = models.PositiveSmallIntegerField()  # percent of the budget: 80 or 100
    percent = models.PositiveIntegerField()  # where the measure stood when it crossed
    budget = CreditsField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "project", "month", "measure", "threshold"],
                name="one_alert_per_crossing",
            )
        ]

    def __str__(self):
        return f"{self.project} {self.month:%Y-%m} {self.measure} ≥ {self.threshold} %"
