"""Crash safety: a worker killed in the middle of a sync loses nothing.

A real `manage.py db_worker` process, on the test database (committed data: `transaction=True`),
against the sandbox; killed with SIGKILL (no clean-up of any kind) while Pixxel is slow to answer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.jobs.models import Job, Task
from pixxel_dashboard.jobs.sync import schedule_sync
from tests.plugins.jobs import JOB_ROUTE, submit

ROOT = Path(__file__).resolve().parent.parent


def worker_environment(sandbox) -> dict[str, str]:
    """The product's settings, pointed at the test database and the sandbox."""
    env = {
        **os.environ,
        "DEBUG": "true",
        "PIXXEL_API_BASE_URL": sandbox.base_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS": ",".join(settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS),
        "PIXXEL_DASHBOARD_DERIVED_KEY_WARNED": "1",
        "PIXXEL_MAX_RETRIES": "0",
    }
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = db["NAME"]
        env.pop("DATABASE_URL", None)
    else:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    return env


def start_worker(sandbox, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload", *args],
        cwd=ROOT,
        env=worker_environment(sandbox),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_sync_loses_nothing(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    schedule_sync(job)
    # Pixxel will take 20 s to answer the worker's call: time enough to kill it mid-call.
    sandbox.server.configure(slow_seconds=20)
    sandbox.inject("slow", method="GET", path_contains=job.pixxel_id, times=1)

    worker = start_worker(sandbox, "--interval", "0.05")
    try:
        wait_until(lambda: sandbox.count("GET", JOB_ROUTE) == 1, 20, "the worker calls Pixxel")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL

    # The killed run never finished (its row says RUNNING for good) and stored nothing; the
    # next run was queued with the claim, before the call.
    assert DBTaskResult.objects.filter(status="RUNNING").count() == 1
    assert Job.objects.get(pk=job.pk).last_synced_at is None
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    # Later: the job has finished at Pixxel; the dead worker's claim is older than the interval.
    sandbox.advance(600)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(sync_claimed_at=an_hour_ago)
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    sandbox.server.configure(slow_seconds=0.5)

    # A new worker runs what is due, then exits (`--batch`).
    replacement = start_worker(sandbox, "--batch")
    try:
        _out, err = replacement.communicate(timeout=25)
    finally:
        if replacement.poll() is None:
            replacement.kill()
    assert replacement.returncode == 0, err.decode()[-2000:]

    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 100
    assert job.last_synced_at is not None and job.sync_failures == 0
    tasks = list(Task.objects.filter(job=job).values_list("pixxel_id", "status"))
    assert len(tasks) == 5 and len({pixxel_id for pixxel_id, _ in tasks}) == 5
    assert {status for _, status in tasks} == {"succeeded"}
    assert sandbox.count("GET", JOB_ROUTE) == 2  # the lost call, and the one that replaced it
    # The chain ended with the job: nothing more queued.
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert job.sync_scheduled_for is None
