"""Background sync: the django.tasks task, the claim, the back-off, and stopping for good."""

import threading
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.jobs import sync
from pixxel_dashboard.jobs.models import Job, Task
from pixxel_dashboard.jobs.sync import schedule_sync, sync_interval, sync_job, sync_job_task
from pixxel_dashboard.keys.models import ApiKey
from pixxel_dashboard.sandbox.ids import PROJECT_COASTAL, WF_FANOUT
from tests.plugins.jobs import JOB_ROUTE, age_claim, mark_synced, poll_url, submit
from tests.plugins.worker import run_worker

pytestmark = pytest.mark.usefixtures("worker_keeps_test_connection")


def make_pending_due() -> None:
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def run_chain_until_it_ends(job, sandbox, rounds: int = 20) -> set[str]:
    """Pixxel's time moves on and the worker runs the job's queued syncs, round after round, until
    the job ends (or `rounds` run out); the statuses the job was seen in."""
    statuses = set()
    for _ in range(rounds):
        sandbox.advance(10)
        age_claim(job)
        make_pending_due()
        run_worker()
        job.refresh_from_db()
        statuses.add(job.status)
        if job.is_terminal:
            break
    return statuses


def test_a_job_goes_from_queued_through_running_to_succeeded(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    assert job.status == "queued"
    seen = [job.status]
    for _ in range(12):
        sandbox.advance(6)
        age_claim(job)
        assert sync_job(job)
        if job.status != seen[-1]:
            seen.append(job.status)
        if job.is_terminal:
            break
    assert seen == ["queued", "running", "succeeded"]
    assert job.progress == 100 and job.cost == 40 + 15 + 35 + 10 + 20  # the workflow's cost
    tasks = list(Task.objects.filter(job=job))
    assert len(tasks) == 5
    assert all(t.status == "succeeded" and t.progress == 100 for t in tasks)
    assert job.last_synced_at is not None and job.sync_failures == 0


def test_the_worker_syncs_and_reschedules_until_the_job_is_terminal(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    schedule_sync(job)
    schedule_sync(job)  # a second call while one is queued adds nothing
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    run_worker()
    job.refresh_from_db()
    assert job.last_synced_at is not None
    # It queued the next sync a few seconds out, not now.
    pending = DBTaskResult.objects.get(status="READY")
    assert pending.run_after > timezone.now()
    assert pending.task_path == sync_job_task.module_path

    statuses = run_chain_until_it_ends(job, sandbox)
    assert "running" in statuses and job.status == "succeeded"
    assert not DBTaskResult.objects.filter(status="READY").exists()  # the chain ended
    assert job.tasks.filter(status="succeeded").count() == 5


def test_the_task_can_be_called_directly(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    sync_job_task.call(job.pk)
    job.refresh_from_db()
    assert job.last_synced_at is not None
    assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_one_upstream_call_per_interval_however_often_it_is_asked(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    assert sync_job(job) is True
    assert sync_job(Job.objects.get(pk=job.pk)) is False
    assert sync_job(Job.objects.get(pk=job.pk)) is False
    assert sandbox.count("GET", JOB_ROUTE) == 1


def test_of_two_callers_holding_the_same_stale_job_only_one_calls_upstream(
    acme, alice, pixxel, sandbox
):
    # Both loaded the job before either claimed it: only the database can tell them apart
    # (the race of two workers or two viewers, made deterministic; runs on both databases).
    job = submit(acme, alice, pixxel)
    age_claim(job)
    first, second = Job.objects.get(pk=job.pk), Job.objects.get(pk=job.pk)
    assert sync_job(first) is True
    assert sync_job(second) is False
    assert sandbox.count("GET", JOB_ROUTE) == 1


def test_a_stale_copy_cannot_claim_a_job_whose_sync_stopped(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    age_claim(job)
    stale = Job.objects.get(pk=job.pk)
    Job.objects.filter(pk=job.pk).update(sync_stopped=True)  # another process stopped it
    assert sync_job(stale) is False
    assert sandbox.count("GET", JOB_ROUTE) == 0


def test_twenty_polls_within_an_interval_make_exactly_one_upstream_call(
    acme, alice, client_for, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    age_claim(job)
    c = client_for(alice)
    for i in range(20):
        c.get(poll_url(job, v=f"old{i}", s="queued"))
    # Exactly one: the first poll refreshes the stale job, the other nineteen find it claimed.
    assert sandbox.count("GET", JOB_ROUTE) == 1


def test_it_backs_off_as_the_job_ages(acme, alice, pixxel):
    job = submit(acme, alice, pixxel)
    now = timezone.now()
    job.pixxel_created_at = now
    assert sync_interval(job, now) == 5
    job.pixxel_created_at = now - timedelta(minutes=30)
    assert sync_interval(job, now) == 60
    job.pixxel_created_at = now - timedelta(days=2)
    assert sync_interval(job, now) == sync.OLDEST_INTERVAL


def test_transient_faults_are_counted_and_retried_later(acme, alice, pixxel, sandbox, settings):
    settings.PIXXEL_MAX_RETRIES = 0
    job = submit(acme, alice, pixxel)
    sandbox.inject("500", method="GET", times=1)
    assert sync_job(job) is True
    assert job.sync_failures == 1 and not job.sync_stopped
    assert "Pixxel had a problem" in job.last_sync_error
    assert sync_interval(job) == 10  # doubled
    age_claim(job)
    assert sync_job(job) is True
    assert job.sync_failures == 0 and job.last_sync_error == ""


@pytest.mark.parametrize(
    ("problem", "says"),
    [("revoked", "no Pixxel API key yet"), ("unreadable", "can no longer be read")],
)
def test_a_key_problem_is_recorded_and_retried_later(
    acme, alice, pixxel, sandbox, settings, problem, says
):
    job = submit(acme, alice, pixxel)
    if problem == "revoked":
        ApiKey.objects.filter(organization=acme).update(revoked_at=timezone.now())
    else:
        settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    assert sync_job(job) is False
    assert job.sync_failures == 1 and not job.sync_stopped
    assert says in job.last_sync_error
    assert sandbox.count("GET", JOB_ROUTE) == 0


def test_it_stops_for_good_when_pixxel_no_longer_knows_the_job(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    Job.objects.filter(pk=job.pk).update(pixxel_id="00000000-0000-4000-8000-000000000000")
    job.refresh_from_db()
    assert sync_job(job) is True
    assert job.sync_stopped
    schedule_sync(job)
    assert not DBTaskResult.objects.filter(status="READY").exists()
    age_claim(job)
    assert sync_job(job) is False
    assert sandbox.count("GET", JOB_ROUTE) == 1


def test_a_terminal_job_synced_once_is_left_alone(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    sandbox.advance(600)
    assert sync_job(job, force=True)
    assert job.is_terminal
    age_claim(job)
    assert sync_job(job) is False
    schedule_sync(job)
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_the_page_refreshes_a_stale_job_inline_without_a_worker(
    acme, alice, client_for, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    sandbox.advance(20)
    age_claim(job)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert "Running" in body
    mark_synced(job)
    client_for(alice).get(job.get_absolute_url())
    assert sandbox.count("GET", JOB_ROUTE) == 1


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_syncs_store_one_row_per_task(acme, alice, pixxel, sandbox):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; row-level concurrency is tested on PostgreSQL")
    job = submit(acme, alice, pixxel, WF_FANOUT, PROJECT_COASTAL)
    sandbox.advance(600)
    barrier = threading.Barrier(10)
    errors = []

    def worker():
        try:
            mine = Job.objects.select_related("organization").get(pk=job.pk)
            barrier.wait()
            sync_job(mine, force=True)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 100
    assert Task.objects.filter(job=job).count() == 56
    assert Task.objects.filter(job=job, status="succeeded").count() == 56
    assert sandbox.count("GET", JOB_ROUTE) == 10


def test_schedule_sync_never_raises_and_a_failed_queueing_blocks_no_later_one(
    acme, alice, pixxel, monkeypatch
):
    job = submit(acme, alice, pixxel)

    class QueueDown:
        def using(self, **kwargs):
            return self

        def enqueue(self, *args):
            raise RuntimeError("queue down")

    with monkeypatch.context() as patched:
        patched.setattr(sync, "sync_job_task", QueueDown())
        schedule_sync(job)  # logged, not raised
    assert not DBTaskResult.objects.exists()

    schedule_sync(job)
    assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_a_sooner_sync_queued_beside_a_later_one_still_leaves_one_chain(
    acme, alice, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    schedule_sync(job, delay_seconds=60)
    schedule_sync(job)  # wanted sooner than the queued one: queued too
    assert DBTaskResult.objects.filter(status="READY").count() == 2

    make_pending_due()
    run_worker()

    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 2


def test_a_chain_whose_queued_run_was_lost_with_its_worker_is_resumed(
    acme, alice, pixxel, sandbox, capsys
):
    job = submit(acme, alice, pixxel)
    schedule_sync(job)
    # A worker takes the run and is killed before its claim commits: the task row says RUNNING
    # for ever, the job still names the run, and nothing else is queued.
    DBTaskResult.objects.filter(status="READY").update(status="RUNNING")
    Job.objects.filter(pk=job.pk).update(
        sync_scheduled_for=timezone.now() - sync.STALLED_AFTER - timedelta(seconds=5)
    )
    schedule_sync(job)  # a later submission's or import's request does not queue over the mark
    assert not DBTaskResult.objects.filter(status="READY").exists()

    call_command("resume_stalled_syncs")
    assert capsys.readouterr().out == "Resumed 1 job sync.\n"
    assert sync.resume_stalled_syncs() == 0  # one new chain, not one per sweep
    run_chain_until_it_ends(job, sandbox)
    assert job.status == "succeeded"


def test_a_run_that_is_only_late_is_not_queued_twice(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    schedule_sync(job)
    # The workers are far behind: the run waits in the queue, past its time.
    late = timezone.now() - sync.STALLED_AFTER * 5
    Job.objects.filter(pk=job.pk).update(sync_scheduled_for=late)
    DBTaskResult.objects.filter(status="READY").update(
        args_kwargs={"args": [job.pk, late.isoformat()], "kwargs": {}}
    )
    assert sync.resume_stalled_syncs() == 0
    assert DBTaskResult.objects.filter(status="READY").count() == 1
