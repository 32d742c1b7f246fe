"""Submitting a job: idempotent, every outcome recorded, ambiguous timeouts reconciled.

`submit` is the one entry point of the submit form: it takes the member's validated `Order` and
returns a `SubmitOutcome` that says what to show; every rule between the two lives here (the
pre-flight, which estimate to keep, the rate limit, what a missing key means).

A duplicate upstream job costs the customer credits, so:
- each form carries a one-time token, and a Submission row is claimed for it *before* Pixxel is
  called (unique per organization): a double click, a refresh or a replayed POST finds that row and
  shows its job instead of calling Pixxel again;
- job creation is never retried automatically (the client guarantees this);
- when the create call may have worked despite failing (no answer, a 5xx, a garbled 200), the
  workflow's recent jobs are listed a few times and the one created since the attempt is adopted;
  one more look follows in the background.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.tasks import task
from django.utils import timezone

from pixxel_dashboard.accounts.models import Membership, Organization, record_event
from pixxel_dashboard.costs import budgets
from pixxel_dashboard.keys import KeyProblem
from pixxel_dashboard.keys.models import ApiKey
from pixxel_dashboard.keys.services import client_for_organization
from pixxel_dashboard.pixxel import PixxelClient, PixxelError

from . import catalog
from .models import FailureKind, Job, Outcome, Project, Source, Submission, Workflow
from .persist import save_job

logger = logging.getLogger(__name__)

# How far back (Pixxel's clock vs ours) a job may claim to have been created and still be ours.
RECONCILE_CLOCK_SKEW = timedelta(minutes=2)
# Answers from a server that may have created the job before failing: a 5xx, a garbled 200.
# (Requests that got no answer at all say so themselves: PixxelError.outcome_unknown.)
ANSWERED_MAYBE_CREATED = {FailureKind.SERVER_ERROR, FailureKind.INVALID_RESPONSE}
# The only kinds an unanswered create can fail with; anything else is a definite "no".
UNANSWERED_KINDS = {FailureKind.TIMEOUT, FailureKind.CONNECTION}
# Listings of the workflow's jobs after a create that may have worked, and the pause between them.
RECONCILE_ATTEMPTS = 3
RECONCILE_PAUSE_SECONDS = 1.0
# A last look, in the background, for a job the server created even later.
LATE_RECONCILE_DELAY = timedelta(seconds=30)
# A duplicate request waits this long for the first one to finish, then reports "still submitting".
DUPLICATE_WAIT_SECONDS = 3.0


@dataclass(frozen=True)
class Order:
    """A member's validated submit form: what to run, and what they saw and confirmed."""

    membership: Membership
    user: User
    token: uuid.UUID
    project_id: str
    workflow_id: str
    confirmed_validation_errors: bool = False
    # Ticked "Submit anyway, over the budget" (counts only for owners and admins).
    confirmed_over_budget: bool = False
    # The pre-flight's estimate as the form carried it, signed by the server (or "").
    estimate_seen: str = ""
    repeat_of: Job | None = None


class Result(StrEnum):
    """What came of a submission, as the member sees it."""

    CREATED = "created"
    # Pixxel did not answer the create call, but the job it made was found and adopted.
    RECONCILED = "reconciled"
    # The form's token was spent already: its job, not a second one.
    ALREADY_SUBMITTED = "already_submitted"
    # Another request with the same token is still waiting for Pixxel.
    STILL_SUBMITTING = "still_submitting"
    # Validation errors, or a job that would cross its project's budget, not yet confirmed by an
    # owner or admin: nothing was attempted.
    NEEDS_CONFIRMATION = "needs_confirmation"
    # The job would cross its project's budget and the member may not overspend: nothing was
    # attempted, nor recorded as a failed submission (it never reached Pixxel).
    OVER_BUDGET = "over_budget"
    # Over the member's or the organization's rate: refused here, nothing sent to Pixxel.
    RATE_LIMITED = "rate_limited"
    # Pixxel refused the request itself (HTTP 400): something in it must change.
    REJECTED = "rejected"
    # Anything else: no usable key, Pixxel unreachable or failing.
    FAILED = "failed"


@dataclass(frozen=True)
class SubmitOutcome:
    result: Result
    # The attempt as recorded; None only when nothing was attempted.
    submission: Submission | None = None
    # The pre-flight this request made, if it got that far (the form shows it again).
    checks: catalog.Preflight | None = None
    # The job against its project's budget, when the project has one.
    budget: budgets.BudgetCheck | None = None

    @property
    def needs_validation_confirmation(self) -> bool:
        return self.result is Result.NEEDS_CONFIRMATION and bool(
            self.checks and self.checks.val_errors
        )

    @property
    def needs_budget_confirmation(self) -> bool:
        return self.result is Result.NEEDS_CONFIRMATION and bool(
            self.budget and self.budget.would_cross
        )

    @property
    def job(self) -> Job | None:
        """The job to show: the one created, adopted, or made by the first use of the token."""
        if self.result in (Result.CREATED, Result.RECONCILED, Result.ALREADY_SUBMITTED):
            return self.submission.job if self.submission is not None else None
        return None


@dataclass
class SubmitRequest:
    """One attempt as the steps below see it (also rebuilt from its row by the late check)."""

    organization: Organization
    user: User | None
    token: str
    project_id: str
    workflow_id: str
    estimated_cost: Decimal | None = None
    confirmed_validation_errors: bool = False
    repeat_of: Job | None = None
    # Set when an owner or admin confirmed taking the project over its budget (audited).
    overspend: budgets.BudgetCheck | None = None
    # The catalog's rows for project_id and workflow_id, when the pre-flight has just kept them.
    catalog_rows: tuple[Project, Workflow] | None = None


def _schedule_sync(job: Job) -> None:
    # Imported lazily: the sync module depends on this app's models, not the other way round.
    from .sync import schedule_sync

    if not job.is_terminal:
        schedule_sync(job)


def existing_submission(organization, token) -> Submission | None:
    return (
        Submission.objects.select_related("job")
        .filter(organization=organization, token=token)
        .first()
    )


def wait_for(submission: Submission) -> Submission:
    """A concurrent duplicate: give the first request a moment to finish."""
    deadline = time.monotonic() + DUPLICATE_WAIT_SECONDS
    while submission.outcome == Outcome.PENDING and time.monotonic() < deadline:
        time.sleep(0.1)
        submission.refresh_from_db()
    return submission


def abandoned_after() -> timedelta:
    """How long a live request can keep its submission pending: the create call, then the
    listings that look for its job (no request lives longer; gunicorn kills it sooner)."""
    call = settings.PIXXEL_CONNECT_TIMEOUT + settings.PIXXEL_READ_TIMEOUT
    return timedelta(seconds=call + RECONCILE_ATTEMPTS * (call + RECONCILE_PAUSE_SECONDS) + 60)


def take_over_if_abandoned(submission: Submission) -> Submission:
    """A submission still pending long after any request could be working on it: the process
    that sent it died (killed mid-call, a crash, a deploy). Whoever replays its token first records
    it as unanswered and looks for its job, now and once more later, like any unanswered create."""
    if submission.outcome != Outcome.PENDING:
        return submission
    if submission.created_at > timezone.now() - abandoned_after():
        return submission
    unanswered = Submission.objects.filter(pk=submission.pk, outcome=Outcome.PENDING).update(
        outcome=Outcome.FAILED,
        error_kind=FailureKind.TIMEOUT,
        user_message=(
            "The request that sent this job stopped before Pixxel answered. If Pixxel created "
            "the job, it is adopted here as soon as it is found."
        ),
    )
    if unanswered:  # one replay wins (the conditional UPDATE); the others see its outcome
        logger.warning("submission %s was abandoned while pending: reconciling", submission.pk)
        reconcile_submission_task.call(submission.pk)
        submission.refresh_from_db()
        if submission.job_id is None:
            _schedule_late_reconcile(submission)
    else:
        submission.refresh_from_db()
    return submission


def _watch_for_abandonment(submission: Submission) -> None:
    """Queue a look at this submission for when no live request can still be sending it: if the
    process died in the middle of the call (killed, a crash, a deploy), the worker takes it over
    then, whether or not the member ever sends the form again. (In the claim's transaction: its
    own savepoint, so a failure here leaves the claim alone.)"""
    try:
        with transaction.atomic():
            rescue_abandoned_submission_task.using(
                run_after=submission.created_at + abandoned_after() + timedelta(seconds=1)
            ).enqueue(submission.pk)
    except Exception:
        # Never stop a submission over this: a replay of the token still takes it over.
        logger.exception("could not queue the abandonment check of submission %s", submission.pk)


@task()
def rescue_abandoned_submission_task(submission_id: int) -> None:
    """Take over a submission still pending long after its request (a no-op once it has ended)."""
    submission = Submission.objects.filter(pk=submission_id, outcome=Outcome.PENDING).first()
    if submission is not None:
        take_over_if_abandoned(submission)


def claim(req: SubmitRequest, watched: bool = False) -> tuple[Submission, bool]:
    """The Submission for this token: (row, True) if this request created it and must submit.

    `watched`: the create call follows, so the abandonment check is queued with the claim (one
    commit for both; it is a no-op for an attempt refused before the call)."""
    if req.catalog_rows is not None:
        project, workflow = req.catalog_rows
    else:
        project = catalog.ensure_project(req.organization, req.project_id)
        workflow = catalog.ensure_workflow(req.organization, req.workflow_id, project)
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                organization=req.organization,
                token=req.token,
                user=req.user,
                project=project,
                project_pixxel_id=req.project_id,
                workflow=workflow,
                workflow_pixxel_id=req.workflow_id,
                repeat_of=req.repeat_of,
                estimated_cost=req.estimated_cost,
                confirmed_validation_errors=req.confirmed_validation_errors,
            )
            if watched:
                _watch_for_abandonment(submission)
    except IntegrityError:
        existing = existing_submission(req.organization, req.token)
        if existing is None:  # not the token's uniqueness: some other constraint failed
            raise
        return existing, False
    return submission, True


def submit(pixxel: catalog.Connection, order: Order) -> SubmitOutcome:
    """Submit a member's form: at most one job per token, every attempt recorded."""
    organization = order.membership.organization
    # A replayed or concurrent POST with a spent token never reaches Pixxel again.
    previous = existing_submission(organization, order.token)
    if previous is not None:
        # An abandoned one is taken over at once; a live one gets a moment to finish.
        return _outcome(wait_for(take_over_if_abandoned(previous)), replay=True)
    req = SubmitRequest(
        organization=organization,
        user=order.user,
        token=str(order.token),
        project_id=order.project_id,
        workflow_id=order.workflow_id,
        repeat_of=order.repeat_of,
        confirmed_validation_errors=order.confirmed_validation_errors,
    )
    opened = pixxel.open()
    if opened is None:
        return _outcome(record_local_failure(req, pixxel.key_problem, kind=FailureKind.NO_KEY))
    client, api_key = opened
    try:
        checks = catalog.preflight(
            organization, client, api_key.pk, order.workflow_id, order.project_id
        )
    except PixxelError as error:
        return _outcome(record_failure(req, error))
    req.catalog_rows = catalog.remember(
        organization, client, req.project_id, req.workflow_id, checks
    )
    req.estimated_cost = _estimate_to_keep(order, checks)
    budget = budgets.check_estimate(organization, req.project_id, req.estimated_cost)
    over_budget = budget is not None and budget.would_cross
    # Nothing is attempted below: the same token stays valid for the confirmed POST.
    if over_budget and not budgets.may_overspend(order.membership):
        return SubmitOutcome(Result.OVER_BUDGET, checks=checks, budget=budget)
    unconfirmed_errors = checks.val_errors and not req.confirmed_validation_errors
    if unconfirmed_errors or (over_budget and not order.confirmed_over_budget):
        return SubmitOutcome(Result.NEEDS_CONFIRMATION, checks=checks, budget=budget)
    req.overspend = budget if over_budget else None
    return _outcome(create_once(req, client, api_key), checks=checks, budget=budget)


def _estimate_to_keep(order: Order, checks: catalog.Preflight) -> Decimal | None:
    """The estimate the server showed this member (signed on the form), else the fresh one:
    a number typed into the POST is never trusted."""
    shown = catalog.estimate_shown(
        order.estimate_seen, order.membership, order.project_id, order.workflow_id
    )
    return shown if shown is not None else checks.estimated_cost


def _outcome(
    submission: Submission,
    replay: bool = False,
    checks: catalog.Preflight | None = None,
    budget: budgets.BudgetCheck | None = None,
) -> SubmitOutcome:
    """What the recorded attempt means for the member (`replay`: its token was spent before)."""
    if submission.succeeded and submission.job_id:
        if replay:
            result = Result.ALREADY_SUBMITTED
        elif submission.outcome == Outcome.RECONCILED:
            result = Result.RECONCILED
        else:
            result = Result.CREATED
    elif submission.outcome == Outcome.PENDING:
        result = Result.STILL_SUBMITTING
    elif submission.error_kind == FailureKind.TOO_MANY_SUBMISSIONS:
        result = Result.RATE_LIMITED
    else:
        result = Result.REJECTED if submission.http_status == 400 else Result.FAILED
    return SubmitOutcome(result, submission, checks, budget)


def create_once(req: SubmitRequest, client: PixxelClient, api_key: ApiKey) -> Submission:
    """Create the job upstream once for this token, persist it, record the outcome."""
    submission, is_first = claim(req, watched=True)
    if not is_first:
        return wait_for(submission)
    refusal = _rate_limit_refusal(req, submission)
    if refusal:
        return _fail_locally(req, submission, refusal, FailureKind.TOO_MANY_SUBMISSIONS)
    if req.overspend is not None:
        # Recorded as the call is made: the confirmation is what is audited, whatever Pixxel says.
        record_event(
            req.organization,
            req.user,
            "budget.overspend_confirmed",
            req.project_id,
            workflow=req.workflow_id,
            **req.overspend.audit_details(),
        )

    started = timezone.now()
    clock = time.monotonic()
    try:
        parsed = client.create_job(req.workflow_id, req.project_id)
    except PixxelError as error:
        latency = int((time.monotonic() - clock) * 1000)
        # No answer at all (timeout, connection lost after sending), a 5xx or a garbled 200: the
        # job may exist, or appear a moment later (a server that answered badly may still have
        # created it), so look a few times, then once more in the background.
        if maybe_created(error):
            adopted = _reconcile(req, client, api_key, submission, started, RECONCILE_ATTEMPTS)
            if adopted is not None:
                return _succeeded(req, submission, adopted, Outcome.RECONCILED, 200, latency)
        _failed(req, submission, error, latency)
        if maybe_created(error):
            _schedule_late_reconcile(submission)
        return submission

    latency = client.last_latency_ms or int((time.monotonic() - clock) * 1000)
    # The job, the outcome, the audit event and the first sync commit together: one commit (each
    # costs a WAL flush, ~4 ms on PostgreSQL) instead of five, and never a job without its outcome.
    with transaction.atomic():
        job = _save_new_job(req, parsed, api_key, submission)
        return _succeeded(
            req, submission, job, Outcome.SUCCEEDED, client.last_status or 200, latency
        )


def maybe_created(error: PixxelError) -> bool:
    """Could the create call that failed with `error` have created the job anyway?"""
    return error.outcome_unknown or error.kind in ANSWERED_MAYBE_CREATED


def _rate_limit_refusal(req: SubmitRequest, submission: Submission) -> str:
    """Why this attempt is over the member's or the organization's rate, or "".

    Counted after the claim, over the attempts claimed before this one: concurrent requests each
    see the others' rows, so a burst cannot slip through together. Refused attempts do not count.
    """
    window = settings.SUBMISSION_RATE_WINDOW_SECONDS
    earlier = Submission.objects.filter(
        organization=req.organization,
        created_at__gte=timezone.now() - timedelta(seconds=window),
        pk__lt=submission.pk,
    ).exclude(error_kind=FailureKind.TOO_MANY_SUBMISSIONS)
    per = f"{window} seconds" if window != 60 else "minute"
    # Both counts in one statement.
    counts = earlier.aggregate(
        member=Count("pk", filter=Q(user=req.user)), organization=Count("pk")
    )
    if counts["member"] >= settings.SUBMISSION_RATE_PER_MEMBER:
        return (
            f"Too many submissions: at most {settings.SUBMISSION_RATE_PER_MEMBER} per member "
            f"per {per}. Nothing was sent to Pixxel; wait a moment, then submit again."
        )
    if counts["organization"] >= settings.SUBMISSION_RATE_PER_ORGANIZATION:
        return (
            f"Too many submissions: at most {settings.SUBMISSION_RATE_PER_ORGANIZATION} per "
            f"organization per {per}. Nothing was sent to Pixxel; wait a moment, then submit again."
        )
    return ""


def _save_new_job(req: SubmitRequest, parsed, api_key: ApiKey, submission: Submission) -> Job:
    job, _ = save_job(
        req.organization,
        parsed,
        workflow_pixxel_id=req.workflow_id,
        project=submission.project,
        workflow=submission.workflow,
        submitted_by=req.user,
        api_key=api_key,
        source=Source.SUBMITTED,
        repeat_of=req.repeat_of,
        estimated_cost=req.estimated_cost,
    )
    return job


def _reconcile(req, client, api_key, submission, started, attempts: int = 1) -> Job | None:
    """After an ambiguous failure, adopt the job Pixxel created for this attempt, if any."""
    for attempt in range(attempts):
        if attempt:
            time.sleep(RECONCILE_PAUSE_SECONDS)
        adopted = _adopt_once(req, client, api_key, submission, started)
        if adopted is not None:
            return adopted
    return None


def _adopt_once(req, client, api_key, submission, started) -> Job | None:
    try:
        candidates = client.list_jobs(req.workflow_id)
    except PixxelError:
        logger.warning("reconcile: could not list jobs of workflow %s", req.workflow_id)
        return None
    known = set(
        Job.objects.filter(
            organization=req.organization, workflow_pixxel_id=req.workflow_id
        ).values_list("pixxel_id", flat=True)
    )
    since = started - RECONCILE_CLOCK_SKEW
    fresh = [
        job
        for job in candidates
        if job.id and job.id not in known and job.created_at and job.created_at >= since
    ]
    if not fresh:
        return None
    # The job created closest to our attempt is ours.
    ours = min(fresh, key=lambda job: abs((job.created_at - started).total_seconds()))
    try:
        parsed = client.get_job(req.workflow_id, ours.id)
    except PixxelError:
        parsed = ours  # list-jobs' summary is enough to record it; sync fills in the tasks
    logger.info("reconcile: adopted job %s after an ambiguous create", ours.id)
    return _save_new_job(req, parsed, api_key, submission)


def _succeeded(req, submission, job, outcome, status, latency) -> Submission:
    submission.outcome = outcome
    submission.job = job
    submission.http_status = status
    submission.latency_ms = latency
    submission.save(update_fields=["outcome", "job", "http_status", "latency_ms"])
    record_event(
        req.organization,
        req.user,
        "job.submitted",
        job.pixxel_id,
        workflow=req.workflow_id,
        project=req.project_id,
        reconciled=outcome == Outcome.RECONCILED,
    )
    _schedule_sync(job)
    return submission


def _failed(req, submission, error: PixxelError, latency) -> Submission:
    submission.outcome = Outcome.FAILED
    submission.http_status = error.status
    submission.error_kind = error.kind
    submission.error_code = (error.code or "")[:100]
    submission.error_message = error.message or ""
    submission.error_details = _jsonable(error.details)
    submission.user_message = error.user_message
    submission.latency_ms = latency
    submission.save(
        update_fields=[
            "outcome",
            "http_status",
            "error_kind",
            "error_code",
            "error_message",
            "error_details",
            "user_message",
            "latency_ms",
        ]
    )
    record_event(
        req.organization,
        req.user,
        "job.submission_failed",
        req.workflow_id,
        project=req.project_id,
        kind=error.kind,
        status=error.status,
        code=error.code,
    )
    return submission


def _schedule_late_reconcile(submission: Submission) -> None:
    try:
        reconcile_submission_task.using(run_after=timezone.now() + LATE_RECONCILE_DELAY).enqueue(
            submission.pk
        )
    except Exception:
        # Never break the answer to the member over this; the job can still be imported.
        logger.exception("could not queue a late reconciliation of submission %s", submission.pk)


@task()
def reconcile_submission_task(submission_id: int) -> None:
    """Adopt the job of a submission whose create call may have worked, if Pixxel made it late."""
    submission = (
        Submission.objects.select_related("organization", "user", "repeat_of")
        .filter(pk=submission_id, outcome=Outcome.FAILED, job__isnull=True)
        # A definite "no" is never adopted (only those queued by `submit` reach here anyway).
        .filter(error_kind__in=UNANSWERED_KINDS | ANSWERED_MAYBE_CREATED)
        .first()
    )
    if submission is None:
        return
    req = SubmitRequest(
        organization=submission.organization,
        user=submission.user,
        token=str(submission.token),
        project_id=submission.project_pixxel_id,
        workflow_id=submission.workflow_pixxel_id,
        estimated_cost=submission.estimated_cost,
        confirmed_validation_errors=submission.confirmed_validation_errors,
        repeat_of=submission.repeat_of,
    )
    try:
        client, api_key = client_for_organization(submission.organization)
    except KeyProblem:
        return
    with client:
        adopted = _adopt_once(req, client, api_key, submission, submission.created_at)
    if adopted is not None:
        _succeeded(req, submission, adopted, Outcome.RECONCILED, 200, submission.latency_ms)


def record_failure(req: SubmitRequest, error: PixxelError) -> Submission:
    """An attempt that failed before the create call (pre-flight could not reach Pixxel)."""
    submission, is_first = claim(req)
    return _failed(req, submission, error, None) if is_first else submission


def record_local_failure(req: SubmitRequest, message: str, kind: str) -> Submission:
    """An attempt that could not reach Pixxel at all (no key, or the key cannot be decrypted)."""
    submission, is_first = claim(req)
    return _fail_locally(req, submission, message, kind) if is_first else submission


def _fail_locally(req: SubmitRequest, submission: Submission, message: str, kind: str):
    submission.outcome = Outcome.FAILED
    submission.error_kind = kind
    submission.user_message = message
    submission.save(update_fields=["outcome", "error_kind", "user_message"])
    record_event(req.organization, req.user, "job.submission_failed", req.workflow_id, kind=kind)
    return submission


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


# --- import ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    imported: list[Job]
    already_known: int


def import_workflow_jobs(
    organization,
    client: PixxelClient,
    api_key: ApiKey,
    workflow_id: str,
    project_id: str = "",
    actor=None,
) -> ImportResult:
    """Bring in a workflow's jobs created outside the dashboard (deduplicated by Pixxel job id)."""
    summaries = client.list_jobs(workflow_id)
    known = set(
        Job.objects.filter(
            organization=organization, pixxel_id__in=[s.id for s in summaries if s.id]
        ).values_list("pixxel_id", flat=True)
    )
    project = catalog.ensure_project(organization, project_id) if project_id else None
    workflow = catalog.ensure_workflow(organization, workflow_id, project)
    imported = []
    for summary in summaries:
        if not summary.id or summary.id in known:
            continue
        parsed = client.get_job(workflow_id, summary.id)
        job, changed = save_job(
            organization,
            parsed,
            workflow_pixxel_id=workflow_id,
            project=project or workflow.project,
            workflow=workflow,
            api_key=api_key,
            source=Source.IMPORTED,
        )
        if changed:
            imported.append(job)
            _schedule_sync(job)
    record_event(
        organization,
        actor,
        "jobs.imported",
        workflow_id,
        imported=len(imported),
        already_known=len(known),
    )
    return ImportResult(imported=imported, already_known=len(known))
