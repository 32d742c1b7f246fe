"""Crash safety: a worker killed in the middle of a sync, or a web process killed in the middle
of a submission, loses nothing.

Real processes (`manage.py db_worker`, gunicorn) on the test database (committed data:
`transaction=True`), against the sandbox; killed with SIGKILL (no clean-up of any kind) while
Pixxel is slow to answer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.jobs.models import Job, Outcome, Submission, Task
from pixxel_dashboard.jobs.submission import abandoned_after, rescue_abandoned_submission_task
from pixxel_dashboard.jobs.sync import schedule_sync
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
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


# A web process killed in the middle of a submission --------------------------------------------

NEW_JOB = "/o/acme/jobs/new/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_web(sandbox, port: int) -> subprocess.Popen:
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "pixxel_dashboard.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env={**worker_environment(sandbox), "PIXXEL_READ_TIMEOUT": "30"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes master and worker alike
    )
    wait_until(lambda: answers(port), 20, "gunicorn answers")
    return web


def answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def kill_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def signed_in_session(user):
    """A browser session of `user`: the cookie of a session signed in on the server."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


CREATE_ROUTE = "/v0/workflows/{workflow_id}/jobs"


def kill_the_web_process_mid_submission(
    acme, alice, bob, sandbox
) -> tuple[requests.Session, dict, int]:
    """Bob submits; Pixxel creates the job, then takes 20 s to say so, and the web process dies
    meanwhile. Returns bob's browser session, the form he sent and the port."""
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    sandbox.server.configure(stall_seconds=20)
    sandbox.inject("timeout", method="POST", path_contains="/jobs", times=1)
    port = free_port()
    browser = signed_in_session(bob)
    web = start_web(sandbox, port)
    try:
        page = browser.get(f"http://127.0.0.1:{port}{NEW_JOB}", timeout=10)
        assert page.status_code == 200
        form = {
            "project": ids.PROJECT_AGRI,
            "workflow": ids.WF_LINEAR,
            "token": "6d3c4f9e-8a51-4c47-9a57-0d8d2c1f7a10",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        }

        def post_in_background():
            # The server dies under it: the browser sees an error page, or nothing.
            with contextlib.suppress(requests.RequestException):
                browser.post(f"http://127.0.0.1:{port}{NEW_JOB}", data=form, timeout=30)

        posting = threading.Thread(target=post_in_background)
        posting.start()
        wait_until(lambda: sandbox.count("POST", CREATE_ROUTE) == 1, 20, "Pixxel gets the create")
        kill_group(web)
        posting.join(10)
    finally:
        kill_group(web)
    # What the dead process left: a pending submission, and a job at Pixxel we do not know yet.
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.PENDING and not Job.objects.exists()
    return browser, form, port


@pytest.mark.django_db(transaction=True)
def test_a_web_process_killed_in_the_middle_of_a_submission_loses_nothing(
    acme, alice, bob, sandbox
):
    browser, form, port = kill_the_web_process_mid_submission(acme, alice, bob, sandbox)
    submission = Submission.objects.get()

    # Minutes later (no live request can still be working on it), the member sends the form
    # again (the browser's retry: the same one-time token).
    Submission.objects.filter(pk=submission.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    web = start_web(sandbox, port)
    try:
        again = browser.post(
            f"http://127.0.0.1:{port}{NEW_JOB}", data=form, timeout=30, allow_redirects=False
        )
    finally:
        kill_group(web)

    job = Job.objects.get()  # once, never twice
    assert again.status_code == 302 and again.headers["Location"] == job.get_absolute_url()
    submission.refresh_from_db()
    assert submission.outcome == Outcome.RECONCILED and submission.job == job
    assert sandbox.count("POST", CREATE_ROUTE) == 1  # Pixxel was never asked twice


@pytest.mark.django_db(transaction=True)
def test_a_submission_whose_web_process_died_is_taken_over_even_if_nobody_sends_it_again(
    acme, alice, bob, sandbox
):
    kill_the_web_process_mid_submission(acme, alice, bob, sandbox)
    submission = Submission.objects.get()
    # Before calling Pixxel, the request queued a look at the submission for when no live
    # request could still be sending it.
    watch = DBTaskResult.objects.get(task_path__endswith="rescue_abandoned_submission_task")
    assert watch.args_kwargs["args"] == [submission.pk]
    assert watch.run_after >= submission.created_at + abandoned_after()

    # That time comes: the worker runs it (nobody sent the form again).
    Submission.objects.filter(pk=submission.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    rescue_abandoned_submission_task.call(submission.pk)

    submission.refresh_from_db()
    job = Job.objects.get()
    assert submission.outcome == Outcome.RECONCILED and submission.job == job
    assert sandbox.count("POST", CREATE_ROUTE) == 1
