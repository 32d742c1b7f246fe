"""What Pixxel says about a job, written to Job, Task and JobValidationError rows."""

import json
from decimal import Decimal

from pixxel_dashboard.jobs import events
from pixxel_dashboard.jobs.models import Job, Status, Task
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.pixxel import parsing
from tests.test_pixxel_parsing import CREATE_JOB_SAMPLE


def test_the_documented_sample_is_persisted_field_by_field(acme, bob):
    parsed = parsing.parse_job(json.loads(CREATE_JOB_SAMPLE))
    job, changed = save_job(acme, parsed, submitted_by=bob, estimated_cost=Decimal("100"))
    assert changed
    job = Job.objects.get(pk=job.pk)
    assert job.pixxel_id == "<string>" and job.workflow_pixxel_id == "<string>"
    assert job.created_by_pixxel == "<string>"
    assert job.status == Status.UNKNOWN and job.status_raw == "<string>"
    assert job.progress is None
    assert job.cost == Decimal("123") and job.estimated_cost == Decimal("100")
    assert job.estimated_duration == 123
    # Not a duration: nothing shown as the time taken; Pixxel's text stays in the raw document.
    assert job.time_taken == "" and job.time_taken_seconds is None
    assert job.raw["time_taken"] == "<string>"
    for stamp in ("pixxel_created_at", "pixxel_updated_at", "finished_at"):
        assert getattr(job, stamp) is None
    assert job.exec_created_at is None and job.exec_updated_at is None
    assert job.spec == "{"  # [123] is the byte "{", kept as text
    assert job.raw == json.loads(CREATE_JOB_SAMPLE)
    assert job.submitted_by == bob

    task = Task.objects.get(job=job)
    assert task.pixxel_id == "<string>" and task.name == "<string>"
    assert task.block_id == task.block_name == task.block_version == "<string>"
    assert task.status == Status.UNKNOWN and task.status_raw == "<string>"
    assert task.state_msg == "<string>" and task.progress == 100  # 123 % clamped, with a note
    assert task.depends_on == ["<string>"] and task.disclaimer == ["<string>"]
    assert task.estimated_time_duration == 123 and task.time_taken == ""
    assert task.err_msg == "<string>" and task.failure_type == "<string>"
    assert task.inputs == task.result == task.info_logs == "{"
    assert task.recv_time is None and task.block_inf_start_time is None
    assert task.raw == json.loads(CREATE_JOB_SAMPLE)["tasks"][0]

    # Every impossible value is flagged, the job's first, then each task's (named).
    assert job.reported_notes[:7] == [
        "Pixxel reported progress “<string>”: shown as unknown.",
        "Pixxel reported “<string>” as the creation time: shown as unknown.",
        "Pixxel reported “<string>” as the update time: shown as unknown.",
        "Pixxel reported “<string>” as the finish time: shown as unknown.",
        "Pixxel reported “<string>” as the start time: shown as unknown.",
        "Pixxel reported “<string>” as the execution update time: shown as unknown.",
        "Pixxel reported “<string>” as the time taken: shown as unknown.",
    ]
    assert job.reported_notes[7] == "Task <string>: Pixxel reported progress 123: shown as 100 %."
    assert len(job.reported_notes) == 7 + 9  # the task's progress, 7 timestamps, its time taken

    (error,) = job.validation_errors.all()
    assert error.component_name == error.from_component == error.to_component == "<string>"
    assert error.err == error.reason == "<string>"


def _running(progress, updated, tasks_progress):
    return parsing.parse_job(
        {
            "id": "job-1",
            "workflow_id": "wf-1",
            "status": "running",
            "progress": f"{progress}%",
            "updated_at": updated,
            "tasks": [
                {"id": f"t{i}", "name": f"task {i}", "status": "inprogress", "progress": p}
                for i, p in enumerate(tasks_progress)
            ],
            "val_errors": [],
        }
    )


def test_a_newer_answer_updates_rows_in_place_and_bumps_the_version(acme):
    job, _ = save_job(acme, _running(10, "2026-01-01T10:00:00Z", [10, 0]))
    job, changed = save_job(acme, _running(60, "2026-01-01T10:01:00Z", [100, 20]))
    assert changed and job.version == 2 and job.progress == 60
    assert list(Task.objects.filter(job=job).values_list("progress", flat=True)) == [100, 20]
    assert Task.objects.count() == 2


def test_a_sync_rewrites_only_the_tasks_that_changed_and_marks_them(acme):
    job, _ = save_job(acme, _running(10, "2026-01-01T10:00:00Z", [10, 0, 0]))
    # A row that is not rewritten keeps what is stored, even this.
    Task.objects.filter(job=job, pixxel_id="t2").update(state_msg="left alone")
    job, _ = save_job(acme, _running(40, "2026-01-01T10:01:00Z", [100, 20, 0]))
    rows = {t.pixxel_id: t for t in Task.objects.filter(job=job)}
    assert rows["t2"].state_msg == "left alone" and rows["t2"].changed_in == 1
    assert (rows["t0"].changed_in, rows["t1"].changed_in) == (2, 2)
    assert (rows["t0"].progress, rows["t1"].progress) == (100, 20)


def test_the_same_answer_again_changes_nothing(acme):
    save_job(acme, _running(10, "2026-01-01T10:00:00Z", [10]))
    job, changed = save_job(acme, _running(10, "2026-01-01T10:00:00Z", [10]))
    assert not changed and job.version == 1


def test_an_older_answer_never_overwrites_a_newer_one(acme):
    save_job(acme, _running(60, "2026-01-01T10:01:00Z", [100]))
    job, changed = save_job(acme, _running(10, "2026-01-01T10:00:00Z", [10]))
    assert not changed
    assert Job.objects.get().progress == 60


def test_jobs_are_kept_per_organization(acme, globex):
    save_job(acme, _running(10, "2026-01-01T10:00:00Z", [10]))
    save_job(globex, _running(10, "2026-01-01T10:00:00Z", [10]))
    assert Job.objects.filter(pixxel_id="job-1").count() == 2


def test_a_summary_without_tasks_keeps_the_tasks_already_known(acme):
    save_job(acme, _running(10, "2026-01-01T10:00:00Z", [10, 0]))
    summary = parsing.parse_job(
        {
            "id": "job-1",
            "workflow_id": "wf-1",
            "status": "running",
            "progress": "50%",
            "updated_at": "2026-01-01T10:02:00Z",
        }
    )
    job, changed = save_job(acme, summary)
    assert changed and job.progress == 50
    assert Task.objects.filter(job=job).count() == 2
    assert len(Job.objects.get().raw["tasks"]) == 2


def test_a_large_job_reporting_nonsense_everywhere_gets_a_bounded_warning(acme):
    tasks = [{"id": f"t{i}", "name": f"task {i}", "progress": 200} for i in range(30)]
    job, _ = save_job(acme, parsing.parse_job({"id": "job-1", "workflow_id": "wf", "tasks": tasks}))
    notes = Job.objects.get(pk=job.pk).reported_notes
    assert notes[0] == "Task task 0: Pixxel reported progress 200: shown as 100 %."
    assert len(notes) == 21 and notes[-1] == "… and 10 more about other tasks."


def _answer(status, updated, progress=100):
    return parsing.parse_job(
        {"id": "job-1", "status": status, "progress": f"{progress}%", "updated_at": updated}
    )


def test_other_apps_hear_once_that_a_job_finished(acme):
    heard = []

    def listener(job, previous_status, **kwargs):
        heard.append((job.pixxel_id, previous_status, job.status))

    events.job_finished.connect(listener)
    try:
        save_job(acme, _answer("running", "2026-01-01T10:00:00Z", 40))
        assert heard == []
        save_job(acme, _answer("succeeded", "2026-01-01T10:05:00Z"))
        assert heard == [("job-1", "running", "succeeded")]
        # Synced again, or a later answer that changes something else: no second word.
        save_job(acme, _answer("succeeded", "2026-01-01T10:05:00Z"))
        save_job(acme, _answer("succeeded", "2026-01-01T10:06:00Z", 100))
        save_job(acme, parsing.parse_job({"id": "job-2", "status": "failed"}))
        assert heard == [("job-1", "running", "succeeded"), ("job-2", None, "failed")]
    finally:
        events.job_finished.disconnect(listener)
