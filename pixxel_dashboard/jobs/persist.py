"""Writing what Pixxel says about a job into Job, JobDocument, Task and JobValidationError rows.

Used by submission, import and sync alike. One transaction per job, the Job row locked, tasks
upserted on (job, Pixxel task id): concurrent syncs of one job never duplicate a task, and an older
answer never overwrites a newer one.
"""

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction

from pixxel_dashboard.costs import alerts, rollups
from pixxel_dashboard.pixxel import types as px

from . import dependencies, events
from .models import Job, JobDocument, JobValidationError, Source, Task


def _credits(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _text(value) -> str:
    return "" if value is None else str(value)


def _duration_text(item: px.Job | px.Task) -> str:
    # Pixxel's own wording ("1m23s") is shown as is, but only when it means a duration.
    return "" if item.time_taken_seconds is None else _text(item.time_taken)[:60]


def _reported_workflow_id(parsed: px.Job, ours: str) -> str:
    theirs = parsed.workflow_id or ""
    return theirs[:200] if theirs and theirs != ours else ""


MAX_TASK_NOTES = 20


def _notes(parsed: px.Job, previous: dict | None) -> dict:
    task_notes = [
        f"Task {task.name or task.id or i + 1}: {note}"
        for i, task in enumerate(parsed.tasks)
        for note in task.notes
    ]
    if not parsed.tasks and previous:
        task_notes = previous.get("tasks", [])  # a list-jobs answer says nothing about tasks
    elif len(task_notes) > MAX_TASK_NOTES:
        # A 2,000-task job reporting nonsense everywhere needs a warning, not 2,000 of them.
        more = len(task_notes) - MAX_TASK_NOTES
        task_notes = [*task_notes[:MAX_TASK_NOTES], f"… and {more} more about other tasks."]
    return {"job": list(parsed.notes), "tasks": task_notes}


FAILURE_REASON_LENGTH = 300


def failure_reason(task_errors: Iterable[str], validation_errors: Iterable[str]) -> str:
    """Why a job failed, in one line: the first failed task's error, else the first validation
    error (the team's history shows it in the job's row)."""
    for text in (*task_errors, *validation_errors):
        line = " ".join(text.split())
        if line:
            return line[:FAILURE_REASON_LENGTH]
    return ""


def validation_error_text(component: str, err: str, reason: str) -> str:
    return ": ".join(part for part in (component, " — ".join(filter(None, (err, reason)))) if part)


def _failure_reason(parsed: px.Job, previous: str) -> str:
    if not parsed.tasks and "val_errors" not in parsed.raw:
        return previous  # a list-jobs answer says nothing about tasks or validation
    return failure_reason(
        (_text(t.err_msg or t.state_msg) for t in parsed.tasks if t.status == px.FAILED),
        (
            validation_error_text(_text(v.component_name), _text(v.err), _text(v.reason))
            for v in parsed.val_errors
        ),
    )


def _job_fields(parsed: px.Job) -> dict:
    return {
        "status": parsed.status,
        "status_raw": _text(parsed.status_raw)[:60],
        "progress": parsed.progress,
        "cost": _credits(parsed.cost),
        "estimated_duration": parsed.estimated_duration,
        "time_taken": _duration_text(parsed),
        "time_taken_seconds": parsed.time_taken_seconds,
        "created_by_pixxel": _text(parsed.created_by)[:200],
        "pixxel_created_at": parsed.created_at,
        "pixxel_updated_at": parsed.updated_at,
        "finished_at": parsed.finished_at,
        "exec_created_at": parsed.exec_created_at,
        "exec_updated_at": parsed.exec_updated_at,
    }


def _task_pixxel_id(position: int, task: px.Task) -> str:
    return (task.id or task.name or f"task-{position}")[:100]


def _task_row(job: Job, position: int, task: px.Task) -> Task:
    block = task.block_info or px.BlockInfo()
    return Task(
        job=job,
        pixxel_id=_task_pixxel_id(position, task),
        name=_text(task.name)[:200],
        position=position,
        block_id=_text(block.id)[:100],
        block_name=_text(block.name)[:200],
        block_version=_text(block.version)[:60],
        status=task.status,
        status_raw=_text(task.status_raw)[:60],
        state_msg=_text(task.state_msg),
        progress=task.progress,
        depends_on=list(task.depends_on),
        disclaimer=list(task.disclaimer),
        pixxel_created_at=task.created_at,
        pixxel_updated_at=task.updated_at,
        finished_at=task.finished_at,
        recv_time=task.recv_time,
        send_time=task.send_time,
        block_inf_start_time=task.block_inf_start_time,
        block_inf_end_time=task.block_inf_end_time,
        estimated_time_duration=task.estimated_time_duration,
        time_taken=_duration_text(task),
        time_taken_seconds=task.time_taken_seconds,
        err_msg=_text(task.err_msg),
        failure_type=_text(task.failure_type)[:60],
        inputs=task.inputs.value,
        result=task.result.value,
        info_logs=task.info_logs.value,
        raw=task.raw,
    )


TASK_UPDATE_FIELDS = [
    f.name for f in Task._meta.concrete_fields if f.name not in ("id", "job", "pixxel_id")
]


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def raw_digest(raw: dict) -> str:
    """A fingerprint of Pixxel's job document: equal documents, equal digests (key order aside)."""
    return _digest(raw)


def graph_digest(parsed: px.Job) -> str | None:
    """A fingerprint of what the dependency analysis reads of the tasks (graph.NODE_FIELDS, as
    stored), or None for an answer without tasks (list-jobs), which leaves the tasks alone."""
    if not parsed.tasks:
        return None
    return _digest(
        [
            (
                _task_pixxel_id(i, task),
                _text(task.name)[:200],
                i,
                list(task.depends_on),
                task.status,
            )
            for i, task in enumerate(parsed.tasks)
        ]
    )


def save_job(
    organization,
    parsed: px.Job,
    *,
    digest: str | None = None,
    bookkeeping: dict | None = None,
    **local,
) -> tuple[Job, bool]:
    """Create or update the organization's Job from a parsed Pixxel job; returns (job, changed).

    `local` sets dashboard-side fields on creation only (workflow_pixxel_id, project, workflow,
    submitted_by, api_key, source, repeat_of, estimated_cost). A job answer without tasks (list-jobs)
    leaves tasks alone. The workflow id we sent (`workflow_pixxel_id`) is the one the job is filed
    under and reached by; Pixxel's `workflow_id` only fills in when we have none.

    `digest` is `raw_digest(parsed.raw)` when the caller has it already. `bookkeeping` (the sync
    claim holder's columns) is written in the same UPDATE when the answer changes the job: one
    statement and one commit fewer per changed sync.
    """
    if not parsed.id:  # the client refuses such an answer (INVALID_RESPONSE) before it gets here
        raise ValueError("a Pixxel job without an id cannot be saved")
    zone = rollups.zone_of(organization)
    digest = digest or raw_digest(parsed.raw)
    graph = graph_digest(parsed)
    # Inside a caller's transaction (a submission stores the job with its outcome) no savepoint of
    # its own: an error here fails the caller's whole transaction anyway; two round trips fewer.
    with transaction.atomic(savepoint=False):
        job = (
            Job.objects.select_for_update()
            .filter(organization=organization, pixxel_id=parsed.id)
            .first()
        )
        fields = _job_fields(parsed)
        document = {"raw": parsed.raw, "spec": parsed.spec.value}
        if job is None:
            job = _create(organization, parsed, zone, digest, graph, fields, document, local)
            return job, True
        if _nothing_to_store(job, parsed, digest):
            return job, False
        if not parsed.tasks and job.raw.get("tasks"):
            # list-jobs answers carry no tasks: keep the ones we have.
            document["raw"] = {**parsed.raw, "tasks": job.raw.get("tasks")}
        fields["raw_digest"] = digest
        fields["reported_workflow_id"] = _reported_workflow_id(parsed, job.workflow_pixxel_id)
        fields["pixxel_notes"] = _notes(parsed, job.pixxel_notes)
        fields["failure_reason"] = _failure_reason(parsed, job.failure_reason)
        graph_changed = graph is not None and graph != job.graph_digest
        if graph_changed:
            fields["graph_digest"] = graph
        before = rollups.contribution(job, zone)
        previous_status = job.status
        for name, value in fields.items():
            setattr(job, name, value)
        job.version += 1
        # Only what this answer sets: the sync bookkeeping columns belong to whoever holds the claim
        # (who may hand them over to be written here).
        for name, value in (bookkeeping or {}).items():
            setattr(job, name, value)
        job.save(update_fields=[*fields, *(bookkeeping or {}), "version", "updated_at"])
        after = rollups.contribution(job, zone)
        rollups.record_change(organization, before, after)
        # Budget crossings are claimed with the numbers that made them (no queries unless credits
        # or estimates moved); their emails go once this commits.
        alerts.after_job_change(organization, before, after)
        _tell_if_finished(job, previous_status)
        # One UPDATE (update_or_create would read the document, MBs, inside a savepoint first).
        if not JobDocument.objects.filter(job=job).update(**document):
            JobDocument.objects.create(job=job, **document)
        job.document = JobDocument(job=job, **document)
        _replace_children(job, parsed)
        if graph_changed or not job.graph_digest:
            # An answer that only moved progress or times reuses the cached analysis.
            _analyse_when_committed(job)
        return job, True


def _nothing_to_store(job: Job, parsed: px.Job, digest: str) -> bool:
    """True for an answer the locked row already holds, or one older than it."""
    # What changed is told by Pixxel's answer (the row's own columns are derived from it): its
    # digest, on the row; the stored document itself only for a row saved before digests.
    if job.raw_digest == digest:
        return True
    if not job.raw_digest and job.raw == parsed.raw:
        Job.objects.filter(pk=job.pk).update(raw_digest=digest)
        job.raw_digest = digest
        return True
    # A stale answer (e.g. a slow request overtaken by a newer one) must not win.
    return bool(
        job.pixxel_updated_at and parsed.updated_at and parsed.updated_at < job.pixxel_updated_at
    )


def _create(organization, parsed: px.Job, zone, digest: str, graph, fields, document, local) -> Job:
    """The first save of a job (save_job's transaction, nothing to compare with)."""
    ours = local.pop("workflow_pixxel_id", "") or parsed.workflow_id or ""
    job = Job.objects.create(
        organization=organization,
        pixxel_id=parsed.id or "",  # never empty: save_job refuses such an answer
        workflow_pixxel_id=ours,
        reported_workflow_id=_reported_workflow_id(parsed, ours),
        pixxel_notes=_notes(parsed, None),
        failure_reason=_failure_reason(parsed, ""),
        version=1,
        raw_digest=digest,
        graph_digest=graph or "",
        **fields,
        **local,
    )
    if job.source == Source.IMPORTED:
        _date_as_pixxel_does(job, parsed)
    added = rollups.contribution(job, zone)
    rollups.record_change(organization, None, added)
    alerts.after_job_change(organization, None, added)
    _tell_if_finished(job, None)
    job.document = JobDocument.objects.create(job=job, **document)
    _replace_children(job, parsed, new=True)
    _analyse_when_committed(job)
    return job


def _tell_if_finished(job: Job, previous_status: str | None) -> None:
    if job.is_terminal and previous_status not in px.TERMINAL_STATUSES:
        events.job_finished.send(sender=Job, job=job, previous_status=previous_status)


def _date_as_pixxel_does(job: Job, parsed: px.Job) -> None:
    """An imported job is filed under the day Pixxel created it, not the day it was imported: a
    year of history brought in today is not this month's spending (history and costs agree)."""
    if parsed.created_at and parsed.created_at < job.created_at:
        Job.objects.filter(pk=job.pk).update(created_at=parsed.created_at)
        job.created_at = parsed.created_at


def _analyse_when_committed(job: Job) -> None:
    # The page reads the new version's dependency analysis from the cache: computed here, by the
    # sync, not by the next viewer. Only once the version is committed: a rolled-back version's
    # number is used again by the next one.
    transaction.on_commit(lambda: dependencies.store(job))


def _replace_children(job: Job, parsed: px.Job, new: bool = False) -> None:
    """Tasks and validation errors as `parsed` has them (`new`: the job was just created, so it has
    none yet: nothing to read or delete first)."""
    if parsed.tasks:
        rows = [_task_row(job, i, task) for i, task in enumerate(parsed.tasks)]
        before = (
            {}
            if new
            else {
                pixxel_id: (raw, position)
                for pixxel_id, raw, position in Task.objects.filter(job=job).values_list(
                    "pixxel_id", "raw", "position"
                )
            }
        )
        # Only new and changed rows are written, marked with this version (the live page re-sends
        # only those): a running 2,000-task job changes a few tasks per sync, not all of them.
        changed = [row for row in rows if before.get(row.pixxel_id) != (row.raw, row.position)]
        for row in changed:
            row.changed_in = job.version
        Task.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["job", "pixxel_id"],
            update_fields=TASK_UPDATE_FIELDS,
        )
    if "val_errors" in parsed.raw:
        if not new:
            JobValidationError.objects.filter(job=job).delete()
        JobValidationError.objects.bulk_create(
            JobValidationError(
                job=job,
                component_name=_text(v.component_name)[:200],
                from_component=_text(v.from_)[:200],
                to_component=_text(v.to)[:200],
                err=_text(v.err),
                reason=_text(v.reason),
            )
            for v in parsed.val_errors
        )
