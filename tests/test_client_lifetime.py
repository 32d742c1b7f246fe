"""Every Pixxel client the dashboard opens outside a page request is closed again.

An unclosed client keeps its pooled connections open until garbage collection: a long-running
worker or a command that loops would pile up sockets to Pixxel.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from pixxel_dashboard.jobs.models import Outcome, Submission
from pixxel_dashboard.jobs.submission import reconcile_submission_task
from pixxel_dashboard.jobs.sync import sync_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.pixxel import PixxelClient
from pixxel_dashboard.sandbox import ids
from tests.plugins.jobs import submit


@pytest.fixture
def opened(monkeypatch):
    """The clients created during the test, each with `closed` telling whether it was closed."""
    made: list[PixxelClient] = []
    original_init, original_close = PixxelClient.__init__, PixxelClient.close

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.closed = False
        made.append(self)

    def close(self):
        self.closed = True
        original_close(self)

    monkeypatch.setattr(PixxelClient, "__init__", init)
    monkeypatch.setattr(PixxelClient, "close", close)
    return made


def assert_all_closed(opened):
    assert opened, "the code under test opened no client"
    assert all(client.closed for client in opened)


def test_testing_a_key_closes_its_client(acme, alice, sandbox, opened):
    key = services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    assert services.test_key(key, alice).ok
    assert_all_closed(opened)


def test_a_background_sync_closes_its_client(acme, alice, pixxel, sandbox, opened):
    job = submit(acme, alice, pixxel)
    opened.clear()  # the fixture's own client is the test's to close
    assert sync_job(job, force=True)
    assert_all_closed(opened)


def test_the_late_reconciliation_closes_its_client(acme, alice, sandbox, opened):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    submission = Submission.objects.create(
        organization=acme,
        user=alice,
        project_pixxel_id=ids.PROJECT_AGRI,
        workflow_pixxel_id=ids.WF_LINEAR,
        outcome=Outcome.FAILED,
        error_kind="timeout",
    )
    reconcile_submission_task.call(submission.pk)
    assert sandbox.count("GET", "/v0/workflows/{workflow_id}/jobs") == 1
    assert_all_closed(opened)


def test_the_import_command_closes_its_client(acme, alice, sandbox, opened):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    call_command("import_jobs", org="acme", workflow=ids.WF_DIAMOND, stdout=StringIO())
    assert_all_closed(opened)
