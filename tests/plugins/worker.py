"""The task worker in tests: one real `db_worker` pass inside the test's transaction, and
threads saving at the same moment (PostgreSQL's row locks are what those tests are about)."""

import threading
from contextlib import nullcontext

import pytest
from django.core.management import call_command
from django.db import connections, transaction


@pytest.fixture
def worker_keeps_test_connection(monkeypatch):
    """The worker closes "old" connections between tasks; the test's transaction lives on one."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def run_worker() -> None:
    """One pass of the real worker over every task that is due."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def at_once(*actions, in_transaction: bool = False) -> list:
    """Run each action in its own thread (its own database connection), all released together;
    their results in order. `in_transaction`: each opens its transaction before the release, as
    a worker's task does. The first error raised in a thread is raised here."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)
    errors: list[BaseException] = []

    def run(index, action):
        try:
            with transaction.atomic() if in_transaction else nullcontext():
                barrier.wait(timeout=30)
                results[index] = action()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
