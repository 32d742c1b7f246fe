"""What one background sync costs the database: statements, commits, and task rows written.

Counted as the database sees them, in tests that run outside the suite's wrapping transaction
(`transaction=True`), so Django's autocommit is real: every write statement outside `atomic` is its
own transaction (on SQLite and PostgreSQL alike), and each outermost `atomic` block that wrote
commits once, whatever it holds. A commit is therefore counted as "a write statement in autocommit
mode, or the end of an outermost atomic block that wrote"; reads commit nothing worth counting (no
WAL flush on either database). Savepoints show up as statements (`SAVEPOINT …`) and are counted as
statements, never as commits. Writes to the cache table (Django's database cache, the default; a
Redis cache takes them out of the database) are counted apart, in `cache_commits`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.jobs.models import Job, Task
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.jobs.sync import schedule_sync, sync_job_task
from pixxel_dashboard.keys import services
from pixxel_dashboard.pixxel import PixxelClient, parsing
from tests.plugins.jobs import age_claim, submit

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@dataclass
class Ledger:
    """Every statement sent, and the commits they cost (see the module's docstring)."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0
    cache_commits: int = 0
    # Statements and commits when Pixxel's answer arrived (the claim and the load come before).
    at_answer: tuple[int, int] | None = None
    _block_wrote: set = field(default_factory=set)

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        if WRITE.match(sql):
            kind = "cache" if '"pixxel_dashboard_cache"' in sql else "ours"
            if connection.in_atomic_block:
                self._block_wrote.add(kind)
            else:
                self.count_commit({kind})
        return execute(sql, params, many, context)

    def count_commit(self, wrote: set) -> None:
        if "ours" in wrote:
            self.commits += 1
        elif "cache" in wrote:
            self.cache_commits += 1

    def after_answer(self) -> tuple[int, int]:
        assert self.at_answer is not None, "Pixxel was not called"
        return len(self.statements) - self.at_answer[0], self.commits - self.at_answer[1]

    def touched(self, table: str) -> bool:
        return any(f'"{table}"' in sql for sql in self.statements)


@pytest.fixture
def ledger(monkeypatch):
    """Counts from the moment it is entered: `with ledger: …`."""
    book = Ledger()
    real_commit = connection.commit

    def commit():
        book.count_commit(book._block_wrote)
        book._block_wrote = set()
        real_commit()

    real_get_job = PixxelClient.get_job

    def get_job(self, *args, **kwargs):
        answer = real_get_job(self, *args, **kwargs)
        book.at_answer = (len(book.statements), book.commits)
        return answer

    monkeypatch.setattr(connection, "commit", commit)
    monkeypatch.setattr(PixxelClient, "get_job", get_job)

    class Entered:
        def __enter__(self):
            self._wrapper = connection.execute_wrapper(book)
            self._wrapper.__enter__()
            return book

        def __exit__(self, *exc):
            self._wrapper.__exit__(*exc)

    return Entered()


def queued_run(job: Job) -> DBTaskResult:
    return DBTaskResult.objects.get(status="READY", args_kwargs__args__0=job.pk)


def take_queued(job: Job) -> list:
    """Take the job's queued sync off the queue, as the worker would; its arguments (they name
    the chain it belongs to). The worker's own bookkeeping of its queue is not ours to count."""
    run = queued_run(job)
    DBTaskResult.objects.filter(pk=run.pk).update(status="SUCCESSFUL")
    return run.args_kwargs["args"]


def run_queued(job: Job) -> None:
    sync_job_task.call(*take_queued(job))


@pytest.mark.django_db(transaction=True)
def test_an_unchanged_answer_costs_one_update_and_the_next_run_in_one_commit(
    acme, alice, pixxel, sandbox, ledger
):
    sandbox.set_speed(0)  # Pixxel's clock stands still: every answer is the same
    job = submit(acme, alice, pixxel)
    schedule_sync(job)
    run_queued(job)  # the first answer after the submission's (it stores the job as Pixxel has it)
    age_claim(job)
    version = Job.objects.get(pk=job.pk).version

    args = take_queued(job)
    with ledger as book:
        sync_job_task.call(*args)

    after_statements, after_commits = book.after_answer()
    # The answer's whole cost: the bookkeeping, one UPDATE (the target: at most 3 and 1 commit).
    assert after_statements == 1 and after_commits == 1, book.statements[book.at_answer[0] :]
    # The run as a whole: the job (with its organization and key) loaded in one statement; then,
    # in one transaction before the call, the claim, the chain's next time and the next run.
    ours = [sql for sql in book.statements if not sql.startswith("BEGIN")]  # SQLite's
    assert len(ours) == 5, ours
    assert book.commits == 2
    assert not book.touched("jobs_jobdocument") and not book.touched("jobs_task")
    assert not any(sql.startswith('UPDATE "keys_apikey"') for sql in book.statements)
    stored = Job.objects.get(pk=job.pk)
    assert stored.version == version and stored.last_synced_at is not None
    assert stored.sync_scheduled_for is not None  # the chain goes on: one run queued
    assert DBTaskResult.objects.filter(status="READY").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_changed_answer_writes_the_job_once_and_commits_once_after_the_call(
    acme, alice, pixxel, sandbox, ledger
):
    job = submit(acme, alice, pixxel)
    schedule_sync(job)
    run_queued(job)
    sandbox.advance(20)  # the job moved on at Pixxel
    age_claim(job)

    args = take_queued(job)
    with ledger as book:
        sync_job_task.call(*args)

    after_statements, after_commits = book.after_answer()
    # save_job's transaction (the row locked, the row with the bookkeeping, rollups, document,
    # changed tasks) and nothing else; a new task graph's dependency analysis goes to the cache
    # once save_job commits.
    assert after_commits == 1, book.statements
    assert book.cache_commits <= 1
    job_updates = [s for s in book.statements if s.startswith('UPDATE "jobs_job" ')]
    assert len(job_updates) == 3  # the claim, the chain's next time, the content + bookkeeping
    # The document is written, never read back (update_or_create would read MBs first).
    assert not any(s.startswith("SELECT") and '"jobs_jobdocument"' in s for s in book.statements)
    # Besides the cache and transaction control (BEGIN on SQLite): the row locked and rewritten,
    # the rollups, the document, the tasks read and the changed ones upserted, validation errors
    # replaced; once committed, the tasks read for a new graph's dependency analysis.
    ours = [
        sql
        for sql in book.statements[book.at_answer[0] :]
        if not sql.startswith(("BEGIN", "SAVEPOINT", "RELEASE")) and "dashboard_cache" not in sql
    ]
    assert len(ours) <= 8, "\n".join(sql[:70] for sql in ours)
    stored = Job.objects.get(pk=job.pk)
    assert stored.status == "running"
    assert stored.last_synced_at is not None and stored.sync_failures == 0


def _answer(tasks: list[dict]) -> parsing.px.Job:
    return parsing.parse_job(
        {"id": "job-2000", "workflow_id": "wf", "status": "running", "tasks": tasks}
    )


@pytest.mark.django_db(transaction=True)
def test_an_answer_changing_3_of_2000_tasks_writes_3_task_rows(acme, ledger):
    tasks = [
        {"id": f"t{i}", "name": f"strip {i}", "status": "queued", "progress": 0}
        for i in range(2000)
    ]
    job, _ = save_job(acme, _answer(tasks))
    # A mark the answer knows nothing of: a rewritten row loses it.
    Task.objects.filter(job=job).update(state_msg="untouched")
    moved = json.loads(json.dumps(tasks))
    for i in (7, 1000, 1999):
        moved[i].update(status="inprogress", progress=40)

    with ledger as book:
        job, changed = save_job(acme, _answer(moved))

    assert changed
    rewritten = Task.objects.filter(job=job).exclude(state_msg="untouched")
    assert sorted(rewritten.values_list("pixxel_id", flat=True)) == ["t1000", "t1999", "t7"]
    assert set(rewritten.values_list("changed_in", flat=True)) == {job.version}
    assert Task.objects.filter(job=job).count() == 2000
    # One INSERT … ON CONFLICT of the three rows, not a batch of 2,000.
    (upsert,) = [s for s in book.statements if s.startswith('INSERT INTO "jobs_task"')]
    assert upsert.count("ON CONFLICT") == 1
    assert book.commits == 1 and book.cache_commits == 1  # the dependency analysis, cached


def test_the_worker_keeps_one_client_per_key_and_replaces_it_when_the_key_rotates(
    acme, alice, pixxel, sandbox, monkeypatch
):
    made: list[PixxelClient] = []
    real_init, real_close = PixxelClient.__init__, PixxelClient.close

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.closed = False
        made.append(self)

    def close(self):
        self.closed = True
        real_close(self)

    monkeypatch.setattr(PixxelClient, "__init__", init)
    monkeypatch.setattr(PixxelClient, "close", close)
    job = submit(acme, alice, pixxel)
    schedule_sync(job)
    made.clear()

    run_queued(job)
    age_claim(job)
    run_queued(job)
    # Two syncs, one client, kept open: Pixxel's connection is reused, the key decrypted once.
    assert len(made) == 1 and not made[0].closed

    services.add_key(acme, alice, "Rotated", sandbox.new_key())
    age_claim(job)
    run_queued(job)
    # The new key's client (the sandbox gives each key its own jobs: this one answers 404).
    assert len(made) == 2 and made[0].closed and not made[1].closed
