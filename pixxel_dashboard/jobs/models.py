"""Jobs as the dashboard keeps them: Pixxel's metadata, persisted per organization.

Shaped for what comes next: team history filters on organization + (time, status, project, workflow,
submitter), so those are indexed; cost overviews compare the estimate a user saw when submitting
(`estimated_cost`, kept on the Submission and the Job) with the actual `cost`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from pixxel_dashboard.accounts.models import Organization
from pixxel_dashboard.core.credits import CreditsField
from pixxel_dashboard.pixxel.errors import ErrorKind
from pixxel_dashboard.pixxel.types import (
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TERMINAL_STATUSES,
    UNKNOWN,
)


def _not_negative(model: str, field: str) -> models.CheckConstraint:
    """Credits are never negative: parsing turns a negative amount into unknown (with a note)."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0}),
        name=f"{model}_{field}_not_negative",
    )


def _percent(model: str, field: str = "progress") -> models.CheckConstraint:
    """A stored progress is a percentage: parsing clamps what Pixxel reports outside 0–100."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__range": (0, 100)}),
        name=f"{model}_{field}_0_to_100",
    )


class Status(models.TextChoices):
    QUEUED = QUEUED, "Queued"
    RUNNING = RUNNING, "Running"
    SUCCEEDED = SUCCEEDED, "Succeeded"
    FAILED = FAILED, "Failed"
    UNKNOWN = UNKNOWN, "Unknown"


# Icon per status: status is always shown as icon *and* word, never colour alone.
STATUS_ICONS = {
    QUEUED: "◷",
    RUNNING: "▶",
    SUCCEEDED: "✔",
    FAILED: "✖",
    UNKNOWN: "?",
}


class Project(models.Model):
    """A Pixxel project as last seen with the organization's key (so history can name it)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    pixxel_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pixxel_id"], name="unique_project_per_org"
            )
        ]

    def __str__(self):
        return self.name or self.pixxel_id


class Workflow(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="workflows"
    )
    project = models.ForeignKey(
        Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="workflows"
    )
    pixxel_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    estimated_cost = CreditsField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pixxel_id"], name="unique_workflow_per_org"
            ),
            _not_negative("workflow", "estimated_cost"),
        ]

    def __str__(self):
        return self.name or self.pixxel_id


class Source(models.TextChoices):
    SUBMITTED = "submitted", "Submitted here"
    IMPORTED = "imported", "Imported"


class Job(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="jobs")
    # Pixxel's job id is the public id in URLs (unique within an organization).
    pixxel_id = models.CharField(max_length=100)
    project = models.ForeignKey(
        Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    workflow = models.ForeignKey(
        Workflow, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    workflow_pixxel_id = models.CharField(max_length=100)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        "keys.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SUBMITTED)
    repeat_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="repeats"
    )

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    status_raw = models.CharField(max_length=60, blank=True)
    progress = models.FloatField(null=True, blank=True)  # percent
    cost = CreditsField(null=True, blank=True)
    # The estimate the submitter saw on the form (credits): estimate vs actual in cost overviews.
    estimated_cost = CreditsField(null=True, blank=True)
    estimated_duration = models.FloatField(null=True, blank=True)  # seconds
    time_taken = models.CharField(max_length=60, blank=True)
    time_taken_seconds = models.FloatField(null=True, blank=True)
    created_by_pixxel = models.CharField(max_length=200, blank=True)
    pixxel_created_at = models.DateTimeField(null=True, blank=True)
    pixxel_updated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exec_created_at = models.DateTimeField(null=True, blank=True)
    exec_updated_at = models.DateTimeField(null=True, blank=True)
    # Pixxel's job document and the workflow spec live in JobDocument (see there).
    # The ids we submitted to are authoritative; a different workflow id in Pixxel's answer is kept
    # here to be shown as a warning, never used to reach the job.
    reported_workflow_id = models.CharField(max_length=200, blank=True)
    # "Pixxel reported …" sentences for impossible values: {"job": [...], "tasks": [...]}.
    pixxel_notes = models.JSONField(default=dict, blank=True)
    # Why it failed, in one line for the team's history (the first failed task's error, else the
    # first validation error): kept on the row so the list never reads tasks.
    failure_reason = models.CharField(max_length=300, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Sync bookkeeping (the live job page and the background worker).
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # A sync in progress claims the job (one upstream call per job per interval, however many
    # viewers or workers there are).
    sync_claimed_at = models.DateTimeField(null=True, blank=True)
    sync_failures = models.PositiveIntegerField(default=0)  # consecutive transient failures
    last_sync_error = models.CharField(max_length=300, blank=True)
    sync_stopped = models.BooleanField(default=False)  # 403/404 upstream: stop for good
    # When the queued background sync is due (None: none queued). Only the caller whose
    # conditional UPDATE sets it queues a task: one chain of syncs per job.
    sync_scheduled_for = models.DateTimeField(null=True, blank=True)
    # Bumped whenever synced content changes: the live page's "nothing changed" token.
    version = models.PositiveIntegerField(default=0)
    # SHA-256 of Pixxel's last answer as received (`persist.raw_digest`): a sync tells an unchanged
    # answer from this column of the row it already holds, without reading the JobDocument (MBs
    # for a 2,000-task job). "" until the job's next save: the document is compared instead.
    raw_digest = models.CharField(max_length=64, blank=True, default="", db_default="")
    # SHA-256 of what the dependency analysis reads of the tasks (`persist.graph_digest`): the
    # analysis is cached under it, so an answer that only moves progress reuses the last one.
    # "" until the job's next save: the analysis is then cached under the version.
    graph_digest = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pixxel_id"], name="unique_job_per_org"
            ),
            _not_negative("job", "cost"),
            _not_negative("job", "estimated_cost"),
            _percent("job"),
        ]
        # One per history filter, each ending in the page order (newest first, id breaking ties) so
        # a page is an index range whatever the organization's size (keyset pages, history.py).
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="job_org_created"),
            models.Index(
                fields=["organization", "status", "-created_at", "-id"], name="job_org_status"
            ),
            models.Index(
                fields=["organization", "project", "-created_at", "-id"], name="job_org_project"
            ),
            models.Index(
                fields=["organization", "project", "status", "-created_at", "-id"],
                name="job_org_project_status",
            ),
            models.Index(
                fields=["organization", "workflow_pixxel_id", "-created_at", "-id"],
                name="job_org_workflow",
            ),
            models.Index(
                fields=["organization", "submitted_by", "-created_at", "-id"],
                name="job_org_submitter",
            ),
            models.Index(fields=["organization", "cost", "id"], name="job_org_cost"),
            # A project's most expensive jobs (the cost pages): read down the index, LIMIT 10.
            models.Index(
                fields=["organization", "project", "-cost", "-id"], name="job_org_project_cost"
            ),
            models.Index(
                fields=["organization", "time_taken_seconds", "id"], name="job_org_duration"
            ),
        ]

    def __str__(self):
        return f"Job {self.pixxel_id}"

    def get_absolute_url(self):
        return reverse("job_detail", args=[self.organization.slug, self.pixxel_id])

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def status_icon(self) -> str:
        return STATUS_ICONS.get(self.status, "?")

    @property
    def raw(self) -> dict:
        """Pixxel's job document as last stored (one query; the page and its poll never read it)."""
        document = self._document
        return document.raw if document else {}

    @property
    def spec(self):
        """The job's workflow spec as Pixxel sent it (decoded), or None."""
        document = self._document
        return document.spec if document else None

    @property
    def _document(self) -> "JobDocument | None":
        try:
            return self.document
        except JobDocument.DoesNotExist:
            return None

    @property
    def reported_notes(self) -> list[str]:
        """What Pixxel said that the page shows as unknown or clamped, the job's before its tasks'."""
        notes = self.pixxel_notes or {}
        return [*notes.get("job", ()), *notes.get("tasks", ())]


class JobDocument(models.Model):
    """A job's raw Pixxel document and workflow spec: MBs for a 2,000-task job, never shown.

    Kept out of the Job row so that reading the row (every poll of the live page) never touches
    them: SQLite stores a row's columns in sequence, and with the document inside, the columns
    after it could only be reached by walking its overflow pages. Written by `persist.save_job`,
    read when a sync compares Pixxel's answer with what is stored.
    """

    job = models.OneToOneField(
        Job, on_delete=models.CASCADE, primary_key=True, related_name="document"
    )
    spec = models.JSONField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"Pixxel's document of job {self.job_id}"


class Task(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tasks")
    # Pixxel's task id; the task name stands in when a response leaves the id out.
    pixxel_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)  # order in Pixxel's answer
    block_id = models.CharField(max_length=100, blank=True)
    block_name = models.CharField(max_length=200, blank=True)
    block_version = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    status_raw = models.CharField(max_length=60, blank=True)
    state_msg = models.TextField(blank=True)
    progress = models.FloatField(null=True, blank=True)
    depends_on = models.JSONField(default=list, blank=True)  # task names
    disclaimer = models.JSONField(default=list, blank=True)
    pixxel_created_at = models.DateTimeField(null=True, blank=True)
    pixxel_updated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    recv_time = models.DateTimeField(null=True, blank=True)
    send_time = models.DateTimeField(null=True, blank=True)
    block_inf_start_time = models.DateTimeField(null=True, blank=True)
    block_inf_end_time = models.DateTimeField(null=True, blank=True)
    estimated_time_duration = models.FloatField(null=True, blank=True)
    time_taken = models.CharField(max_length=60, blank=True)
    time_taken_seconds = models.FloatField(null=True, blank=True)
    err_msg = models.TextField(blank=True)
    failure_type = models.CharField(max_length=60, blank=True)
    # Raw-JSON fields, decoded (the wire form and encoding are in `raw`).
    inputs = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    info_logs = models.JSONField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    # The job's `version` when this task last changed: a poll re-sends only the rows changed since
    # the version the page shows.
    changed_in = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "pixxel_id"], name="unique_task_per_job"),
            _percent("task"),
        ]

    def __str__(self):
        return self.name or self.pixxel_id

    @property
    def status_icon(self) -> str:
        return STATUS_ICONS.get(self.status, "?")


class JobValidationError(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="validation_errors")
    component_name = models.CharField(max_length=200, blank=True)
    from_component = models.CharField(max_length=200, blank=True)
    to_component = models.CharField(max_length=200, blank=True)
    err = models.TextField(blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.component_name}: {self.err}"


class Outcome(models.TextChoices):
    PENDING = "pending", "Submitting"
    SUCCEEDED = "succeeded", "Submitted"
    RECONCILED = "reconciled", "Submitted (confirmed after a timeout)"
    FAILED = "failed", "Failed"


class FailureKind(models.TextChoices):
    """How a submission failed: every kind of Pixxel error, and the two that never reached Pixxel.

    The label is one word (or two) for the team's history: the same failure reads the same whatever
    the HTTP status was (a garbled answer may come with a 200, or with none).
    """

    BAD_REQUEST = ErrorKind.BAD_REQUEST, "Rejected"
    UNAUTHORIZED = ErrorKind.UNAUTHORIZED, "Key not accepted"
    FORBIDDEN = ErrorKind.FORBIDDEN, "Forbidden"
    NOT_FOUND = ErrorKind.NOT_FOUND, "Not found"
    RATE_LIMITED = ErrorKind.RATE_LIMITED, "Rate limited"
    SERVER_ERROR = ErrorKind.SERVER_ERROR, "Pixxel error"
    TIMEOUT = ErrorKind.TIMEOUT, "Timed out"
    CONNECTION = ErrorKind.CONNECTION, "No connection"
    INVALID_RESPONSE = ErrorKind.INVALID_RESPONSE, "Garbled answer"
    NO_KEY = "no_key", "No API key"
    # Refused by the dashboard's own submission rate limit (never sent to Pixxel).
    TOO_MANY_SUBMISSIONS = "too_many_submissions", "Too many submissions"


class Submission(models.Model):
    """One attempt to create a job from the dashboard, whatever came of it.

    The form's one-time `token` makes submission idempotent: a replayed POST finds this row instead
    of creating a second upstream job.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="submissions"
    )
    token = models.UUIDField(default=uuid.uuid4)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    project = models.ForeignKey(
        Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    project_pixxel_id = models.CharField(max_length=100)
    workflow = models.ForeignKey(
        Workflow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    workflow_pixxel_id = models.CharField(max_length=100)
    repeat_of = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    estimated_cost = CreditsField(null=True, blank=True)
    confirmed_validation_errors = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_kind = models.CharField(max_length=30, choices=FailureKind.choices, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(null=True, blank=True)
    user_message = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    job = models.OneToOneField(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="submission"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "token"], name="one_submission_per_token"
            ),
            _not_negative("submission", "estimated_cost"),
            # Every way of failing records how (the team's history names it).
            models.CheckConstraint(
                condition=~Q(outcome=Outcome.FAILED) | ~Q(error_kind=""),
                name="submission_failure_has_a_kind",
            ),
            # Only a submitted attempt has a job. Not the converse: deleting a job leaves its
            # submission (job SET_NULL) as the record that it was submitted.
            models.CheckConstraint(
                condition=Q(job__isnull=True)
                | Q(outcome__in=[Outcome.SUCCEEDED, Outcome.RECONCILED]),
                name="submission_job_only_when_submitted",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="sub_org_created"),
            models.Index(
                fields=["organization", "outcome", "-created_at", "-id"], name="sub_org_outcome"
            ),
        ]

    def __str__(self):
        return f"Submission of {self.workflow_pixxel_id} ({self.outcome})"

    @property
    def succeeded(self) -> bool:
        return self.outcome in (Outcome.SUCCEEDED, Outcome.RECONCILED)

    @property
    def failure_word(self) -> str:
        known = self.error_kind in FailureKind.values
        return FailureKind(self.error_kind).label if known else "Failed"

    @property
    def error_http_status(self) -> int | None:
        """The HTTP status worth naming beside the word: an error status, not a garbled 200."""
        return self.http_status if self.http_status and self.http_status >= 400 else None
