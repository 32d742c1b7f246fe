"""A job's raw Pixxel document and workflow spec live in a table of their own (JobDocument), out of
the job row every poll reads; jobs stored before keep theirs."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from pixxel_dashboard.jobs.models import Job, JobDocument
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.jobs.sync import sync_job
from pixxel_dashboard.pixxel import parsing
from pixxel_dashboard.sandbox.ids import PROJECT_COASTAL, WF_VALIDATION
from tests.plugins.jobs import mark_synced, submit

MIGRATION = importlib.import_module("pixxel_dashboard.jobs.migrations.0008_job_document_table")


def migrate(target):
    executor = MigrationExecutor(connection)  # a fresh graph: what is applied changes each time
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_jobs_stored_before_keep_their_document_and_spec_when_they_move_out(
    acme, alice, client_for, pixxel, sandbox
):
    previous = [("jobs", MIGRATION.Migration.dependencies[0][1])]
    this = [("jobs", MIGRATION.__name__.rsplit(".", 1)[1])]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    # A job Pixxel refused (validation errors placed on its spec's graph), and a running one.
    refused = submit(acme, alice, pixxel, WF_VALIDATION, PROJECT_COASTAL)
    running = submit(acme, alice, pixxel)
    sync_job(refused, force=True)  # stored as a sync stores it
    documents = {job.pk: (job.raw, job.spec) for job in (refused, running)}
    assert refused.spec["components"] and running.raw["tasks"]
    # More jobs than one batch of the data migration.
    for n in range(MIGRATION.BATCH + 3):
        save_job(acme, parsing.parse_job({"id": f"job-{n}", "workflow_id": "wf", "cost": n}))
    try:
        # Back to where the document sat in the job row: it goes back there...
        OldJob = migrate(previous).get_model("jobs", "Job")
        old = OldJob.objects.in_bulk(documents)
        assert {pk: (job.raw, job.spec) for pk, job in old.items()} == documents
        assert OldJob.objects.get(pixxel_id="job-7").raw["cost"] == 7
        # ...and forward again, out to its own table, every job's.
        migrate(this)
    finally:
        migrate(latest)
    assert JobDocument.objects.count() == Job.objects.count() == MIGRATION.BATCH + 5
    assert Job.objects.get(pixxel_id="job-7").raw["cost"] == 7
    moved = Job.objects.in_bulk(documents)
    assert {pk: (job.raw, job.spec) for pk, job in moved.items()} == documents

    # The page draws the refused job's spec with its validation errors, as before.
    mark_synced(refused)
    page = client_for(alice).get(refused.get_absolute_url()).content.decode()
    assert 'class="node node-component" data-node="AOI"' in page
    assert "incompatible data types" in page
    # A sync that brings the same answer is no change: it is compared with the moved document.
    version = refused.version
    assert sync_job(refused, force=True)
    assert refused.version == version
    # One that brings news is.
    running = Job.objects.get(pk=running.pk)
    version = running.version
    sandbox.advance(60)
    assert sync_job(running, force=True)
    assert running.version == version + 1 and running.raw != documents[running.pk][0]
