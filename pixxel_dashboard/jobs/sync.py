"""Keeping a Job in step with Pixxel: the background sync task and the inline refresh.

One rule bounds upstream load: at most one upstream call per job per sync interval, however many
viewers or workers there are. Whoever wants to call Pixxel first *claims* the job with a conditional
UPDATE on `sync_claimed_at` (the start of the last attempt); only the caller whose UPDATE matched a
row makes the call. The interval grows with the job's age and with consecutive transient failures.

The worker (`manage.py db_worker`) runs `sync_job_task`, which syncs and schedules the next run until
the job is terminal. One chain per job: `Job.sync_scheduled_for` names the queued run, set by a
conditional UPDATE like the claim (the task API cannot list what is queued). Without a worker, viewing a stale job refreshes it inline (`refresh_if_stale`),
through the same claim, so a deployment without a worker still shows live jobs.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Case, F, Q, When
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.keys import KeyProblem
from pixxel_dashboard.keys.services import (
    active_key_columns,
    client_for_organization,
    client_for_stored_key,
)
from pixxel_dashboard.pixxel import ErrorKind, PixxelClient, PixxelError

from .models import Job, Status
from .persist import raw_digest, save_job

logger = logging.getLogger(__name__)

# (job age under, seconds between syncs): fresh jobs move fast, hours-old jobs rarely change.
INTERVALS: tuple[tuple[float, float], ...] = (
    (3 * 60, 5),
    (15 * 60, 15),
    (60 * 60, 60),
    (6 * 60 * 60, 180),
)
OLDEST_INTERVAL = 600.0
# A status word we do not know may never change into one we do: sync such a job at the pace of an
# hour-old job, not every few seconds (the page keeps saying "unknown — Pixxel says …").
UNKNOWN_STATUS_INTERVAL = 60.0
# Transient failures back off exponentially, up to this.
MAX_BACKOFF = 600.0
# Upstream answers that mean "this job is gone for this key": stop syncing it for good.
STOP_KINDS = frozenset({ErrorKind.FORBIDDEN, ErrorKind.NOT_FOUND})
STOP_BAD_REQUEST_CODES = frozenset({"job_not_found", "workflow_not_found"})


def job_age(job: Job, now: datetime) -> float:
    started = job.pixxel_created_at or job.created_at or now
    return max(0.0, (now - started).total_seconds())


def sync_interval(job: Job, now: datetime | None = None) -> float:
    """Seconds between two upstream calls for this job (age-based, with failure backoff)."""
    now = now or timezone.now()
    age = job_age(job, now)
    interval = next((every for limit, every in INTERVALS if age < limit), OLDEST_INTERVAL)
    if job.status == Status.UNKNOWN and job.status_raw:
        interval = max(interval, UNKNOWN_STATUS_INTERVAL)
    if job.sync_failures:
        interval = min(MAX_BACKOFF, interval * 2 ** min(job.sync_failures, 8))
    return interval


def needs_sync(job: Job) -> bool:
    """False once nothing more can be learned: stopped, or terminal and fetched in full once."""
    if job.sync_stopped:
        return False
    return not (job.is_terminal and job.last_synced_at is not None)


def next_sync_at(job: Job, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    if job.sync_claimed_at is None:
        return now
    return job.sync_claimed_at + timedelta(seconds=sync_interval(job, now))


def _claim(job: Job, now: datetime, force: bool) -> bool:
    """The conditional UPDATE: True for the one caller allowed to call upstream now."""
    rows = Job.objects.filter(pk=job.pk)
    if not force:
        cutoff = now - timedelta(seconds=sync_interval(job, now))
        rows = rows.filter(sync_stopped=False).filter(
            Q(sync_claimed_at__isnull=True) | Q(sync_claimed_at__lte=cutoff)
        )
    claimed = rows.update(sync_claimed_at=now) == 1
    if claimed:
        job.sync_claimed_at = now
    return claimed


def _failure(job: Job, message: str, *, stop: bool = False) -> dict:
    """The bookkeeping of a failed attempt, applied to `job` in memory; the caller writes it."""
    job.sync_failures += 1
    job.last_sync_error = message[:300]
    fields: dict = {"sync_failures": F("sync_failures") + 1, "last_sync_error": job.last_sync_error}
    if stop:
        job.sync_stopped = fields["sync_stopped"] = True
    return fields


def _success(job: Job) -> dict:
    job.last_synced_at, job.sync_failures, job.last_sync_error = timezone.now(), 0, ""
    return {"last_synced_at": job.last_synced_at, "sync_failures": 0, "last_sync_error": ""}


def _is_stop(err: PixxelError) -> bool:
    if err.kind in STOP_KINDS:
        return True
    if err.kind == ErrorKind.BAD_REQUEST and err.status is None:
        return True  # refused by the client itself (an id that is not an id): it never will work
    return err.kind == ErrorKind.BAD_REQUEST and (err.code or "") in STOP_BAD_REQUEST_CODES


def jobs_to_sync():
    """Jobs as the worker loads them: with the organization and its active key, in one statement
    (`client_for_stored_key` then needs no query of its own)."""
    return Job.objects.select_related("organization").annotate(**active_key_columns())


def _client_for(job: Job) -> tuple[PixxelClient, bool]:
    """A client for the job's organization, and whether it is kept open for later syncs."""
    if hasattr(job, "active_key_secret"):  # loaded by jobs_to_sync: the worker's path
        key_id, secret = getattr(job, "active_key_id", None), job.active_key_secret
        return client_for_stored_key(key_id, secret), True
    client, _key = client_for_organization(job.organization)
    return client, False


def _fetch(job: Job) -> tuple[bool, dict]:
    """Call Pixxel for a claimed job and store a changed answer: (called upstream, bookkeeping).

    The bookkeeping is applied to `job` in memory and left to the caller to write; empty when
    it was written already, with a changed answer's UPDATE of the row."""
    try:
        client, kept = _client_for(job)
    except KeyProblem as exc:
        # Not upstream's fault and maybe fixed soon (a key gets added): back off, keep trying.
        return False, _failure(job, exc.user_message)
    try:
        with nullcontext(client) if kept else client:
            parsed = client.get_job(job.workflow_pixxel_id, job.pixxel_id)
    except PixxelError as err:
        stop = _is_stop(err)
        logger.warning("sync of job %s failed (%s): %s", job.pk, "stop" if stop else "retry", err)
        return True, _failure(job, err.user_message, stop=stop)
    # The same answer as the one the row was saved from: nothing to store, no lock to take. (A row
    # loaded a moment ago may be behind; then save_job compares under the row's lock.)
    bookkeeping = _success(job)
    digest = raw_digest(parsed.raw)
    if not job.raw_digest or job.raw_digest != digest:
        saved, changed = save_job(job.organization, parsed, digest=digest, bookkeeping=bookkeeping)
        if changed:
            _take_stored_state(job, saved)
            return True, {}
    return True, bookkeeping


def _take_stored_state(job: Job, saved: Job) -> None:
    """What save_job stored, into the caller's `job` (its bookkeeping columns are the claim's)."""
    for field in Job._meta.concrete_fields:
        if field.attname not in BOOKKEEPING:
            setattr(job, field.attname, getattr(saved, field.attname))
    job.document = saved.document


# Columns written by the holder of the claim, never by save_job.
BOOKKEEPING = frozenset(
    {
        "last_synced_at",
        "sync_claimed_at",
        "sync_failures",
        "last_sync_error",
        "sync_stopped",
        "sync_scheduled_for",
    }
)


def sync_job(job: Job, force: bool = False) -> bool:
    """Fetch the job from Pixxel and store it, if it is this caller's turn; True if it called upstream.

    `force` skips the interval and the claim (tests, an explicit "refresh now"); the write is still
    safe, `save_job` locks the row and never lets an older answer win. On return `job` holds the
    stored state.
    """
    if not force and not needs_sync(job):
        return False
    if not _claim(job, timezone.now(), force):
        return False
    called, bookkeeping = _fetch(job)
    if bookkeeping:
        Job.objects.filter(pk=job.pk).update(**bookkeeping)
    return called


def sync_due(job: Job) -> bool:
    """Is a sync of `job` due now (would `refresh_if_stale` call Pixxel)?"""
    return needs_sync(job) and next_sync_at(job) <= timezone.now()


def refresh_if_stale(job: Job) -> bool:
    """Inline refresh for the page and its poll: the worker's stand-in when none is running.

    The claim makes it one request per interval, whoever is watching.
    """
    return sync_due(job) and sync_job(job)


def _enqueue(job_id: int, run_after: datetime):
    """Queue the sync that `Job.sync_scheduled_for = run_after` announces; the queued run."""
    try:
        return sync_job_task.using(run_after=run_after).enqueue(job_id, run_after.isoformat())
    except Exception:
        # Nothing was queued after all: let the next caller try.
        Job.objects.filter(pk=job_id, sync_scheduled_for=run_after).update(sync_scheduled_for=None)
        raise


def schedule_sync(job: Job, delay_seconds: float = 0) -> None:
    """Queue a background sync of `job` (after `delay_seconds`); the task re-queues itself until
    the job is terminal. Call it after saving a submitted or imported job. Never raises."""
    if not needs_sync(job):
        return
    run_after = timezone.now() + timedelta(seconds=max(0.0, delay_seconds))
    try:
        # A sync already queued to run by then makes this one redundant. The mark and the run
        # commit together (or with the caller's transaction, in a savepoint of their own).
        queued_later = Q(sync_scheduled_for__gt=run_after + timedelta(seconds=1))
        rows = Job.objects.filter(pk=job.pk).filter(
            Q(sync_scheduled_for__isnull=True) | queued_later
        )
        with transaction.atomic():
            if rows.update(sync_scheduled_for=run_after):
                _enqueue(job.pk, run_after)
    except Exception:
        # Queueing must never break a submission: the page's inline refresh still keeps it fresh.
        logger.exception("could not queue a sync of job %s", job.pk)


@task()
def sync_job_task(job_id: int, scheduled_for: str | None = None) -> None:
    """Sync one job, queueing the next sync first unless the job is done (or another run is queued).

    `scheduled_for` is the `Job.sync_scheduled_for` this run was queued under: if the job now
    names another time, another run is queued and carries the chain on.

    The next run is queued in the claim's transaction, before Pixxel is called: a worker killed
    in the middle of the call loses nothing, the next run (by any worker) finds the claim expired
    and syncs again. After the call, an unchanged answer costs one UPDATE (the bookkeeping).
    """
    job = jobs_to_sync().filter(pk=job_id).first()
    if job is None:
        return
    ours = Q(sync_scheduled_for__isnull=True)
    if scheduled_for:
        ours |= Q(sync_scheduled_for=datetime.fromisoformat(scheduled_for))
    rows = Job.objects.filter(pk=job.pk)
    if not needs_sync(job):
        rows.filter(ours).update(sync_scheduled_for=None)
        return
    now = timezone.now()
    with transaction.atomic():
        claimed = _claim(job, now, force=False)
        # Claimed: the next sync is due an interval from now. Not our turn (a viewer's refresh
        # claimed it, at most now): its claim has expired an interval from now at the latest.
        run_after = now + timedelta(seconds=max(1.0, sync_interval(job, now)))
        successor = _queue_next(job, rows.filter(ours), run_after)
    if not claimed:
        return
    _called, bookkeeping = _fetch(job)
    _settle(job, rows, bookkeeping, successor, run_after)


def _queue_next(job: Job, ours, run_after: datetime):
    """Queue the chain's next run if this run's chain is still the job's; the queued run or None."""
    if not ours.update(sync_scheduled_for=run_after):
        return None
    return _enqueue(job.pk, run_after)


def _settle(job: Job, rows, bookkeeping: dict, successor, run_after: datetime) -> None:
    """Write the bookkeeping (unless a changed answer's UPDATE did); fix the queued next run when
    the answer changed its time."""
    if successor is None:
        if bookkeeping:
            rows.update(**bookkeeping)
        return
    queued = DBTaskResult.objects.filter(pk=successor.id, status=TaskResultStatus.READY)
    if not needs_sync(job):  # terminal, or stopped for good: the chain ends here
        # (The chain's mark is cleared only if it is still this run's.)
        ended = Case(When(sync_scheduled_for=run_after, then=None), default=F("sync_scheduled_for"))
        with transaction.atomic():
            rows.update(**bookkeeping, sync_scheduled_for=ended)
            queued.delete()
        return
    if bookkeeping:
        rows.update(**bookkeeping)
    later = next_sync_at(job)
    if later > run_after + timedelta(seconds=1):  # failures back off: the next run waits
        queued.update(run_after=later)


# A run whose time is this far past and that is no longer waiting in the queue was taken by a
# worker that died before its claim committed (the claim commits within moments of the take).
STALLED_AFTER = timedelta(minutes=1)


def resume_stalled_syncs(now: datetime | None = None) -> int:
    """Queue a new run for every job whose sync chain was lost; returns how many.

    A worker killed between taking a job's queued run and committing its claim leaves the job
    naming a run that will never come (`sync_scheduled_for` in the past, nothing waiting), and
    `schedule_sync` will not queue over a named run. Run every few minutes (deploy/'s timer). A
    run queued here while the lost one was only late is harmless: only the run the job names
    carries the chain on, and the claim still allows one upstream call per interval.
    """
    now = now or timezone.now()
    named = dict(
        Job.objects.filter(
            sync_stopped=False, sync_scheduled_for__lt=now - STALLED_AFTER
        ).values_list("pk", "sync_scheduled_for")
    )
    if not named:
        return 0
    waiting = {
        tuple(args_kwargs["args"][:2])
        for args_kwargs in DBTaskResult.objects.filter(
            task_path=sync_job_task.module_path, status=TaskResultStatus.READY
        ).values_list("args_kwargs", flat=True)
    }
    resumed = 0
    for pk, mark in named.items():
        if mark is None or (pk, mark.isoformat()) in waiting:  # (never None: the filter)
            continue  # late (the workers are behind), not lost
        with transaction.atomic():
            if Job.objects.filter(pk=pk, sync_scheduled_for=mark).update(sync_scheduled_for=now):
                _enqueue(pk, now)
                resumed += 1
    if resumed:
        logger.warning(
            "resumed the background sync of %d job(s) whose queued run was lost", resumed
        )
    return resumed
