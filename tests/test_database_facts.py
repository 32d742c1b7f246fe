"""What must hold of the jobs' rows is held by the database, whatever writes them (a bulk update,
the admin, a migration, a bug): it refuses the row, on SQLite and on PostgreSQL alike."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from pixxel_dashboard.jobs.models import FailureKind, Job, Outcome, Submission, Task, Workflow

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


@pytest.fixture
def job(acme):
    return Job.objects.create(organization=acme, pixxel_id="job-1", workflow_pixxel_id="wf-1")


CREDITS = [(Job, "cost"), (Job, "estimated_cost"), (Submission, "estimated_cost")]
CREDITS += [(Workflow, "estimated_cost")]


def new_row(model, acme, n, **values):
    ids = (
        {"project_pixxel_id": "p"}
        if model is Submission
        else {"pixxel_id": f"{model.__name__}-{n}"}
    )
    if model is Job:
        ids["workflow_pixxel_id"] = "wf-1"
    return model.objects.create(organization=acme, **ids, **values)


@pytest.mark.parametrize("model, field", CREDITS)
def test_the_database_refuses_a_negative_amount_of_credits(acme, model, field):
    refused(lambda: new_row(model, acme, 1, **{field: Decimal("-0.01")}))
    row = new_row(model, acme, 2, **{field: Decimal(0)})
    new_row(model, acme, 3, **{field: None})
    refused(lambda: model.objects.filter(pk=row.pk).update(**{field: Decimal(-5)}))
    row.refresh_from_db()
    assert getattr(row, field) == 0


@pytest.mark.parametrize("progress", [-1, -0.001, 100.5, 1000])
def test_the_database_refuses_a_progress_outside_0_to_100(job, progress):
    refused(lambda: Job.objects.filter(pk=job.pk).update(progress=progress))
    refused(lambda: Task.objects.create(job=job, pixxel_id="t", progress=progress))


@pytest.mark.parametrize("progress", [None, 0, 45.5, 100])
def test_a_progress_from_0_to_100_or_unknown_is_stored(job, progress):
    Job.objects.filter(pk=job.pk).update(progress=progress)
    Task.objects.create(job=job, pixxel_id="t", progress=progress)
    job.refresh_from_db()
    assert job.progress == progress == job.tasks.get().progress


def test_the_database_refuses_a_failed_submission_that_does_not_say_how(acme):
    refused(lambda: Submission.objects.create(organization=acme, outcome=Outcome.FAILED))
    failed = Submission.objects.create(
        organization=acme, outcome=Outcome.FAILED, error_kind=FailureKind.TIMEOUT
    )
    refused(lambda: Submission.objects.filter(pk=failed.pk).update(error_kind=""))


@pytest.mark.parametrize("outcome", [Outcome.PENDING, Outcome.FAILED])
def test_the_database_refuses_a_job_on_a_submission_that_was_not_submitted(acme, job, outcome):
    refused(
        lambda: Submission.objects.create(
            organization=acme, outcome=outcome, error_kind=FailureKind.TIMEOUT, job=job
        )
    )


@pytest.mark.parametrize("outcome", [Outcome.SUCCEEDED, Outcome.RECONCILED])
def test_a_submitted_attempt_keeps_its_record_when_its_job_is_deleted(acme, job, outcome):
    submission = Submission.objects.create(organization=acme, outcome=outcome, job=job)
    job.delete()
    submission.refresh_from_db()
    assert submission.job is None and submission.outcome == outcome
