"""Everything is in the Django admin, and its pages work with data in them."""

import pytest

from pixxel_dashboard.jobs.models import Outcome, Submission
from tests.plugins.jobs import submit


@pytest.fixture
def admin_client_with_data(admin_client, acme, alice, pixxel):
    job = submit(acme, alice, pixxel)
    Submission.objects.create(
        organization=acme,
        user=alice,
        project_pixxel_id="p",
        workflow_pixxel_id="w",
        job=job,
        outcome=Outcome.SUCCEEDED,
    )
    return admin_client, job


@pytest.mark.parametrize(
    "model",
    [
        "accounts/organization",
        "accounts/membership",
        "accounts/invitation",
        "accounts/auditevent",
        "accounts/emailverification",
        "keys/apikey",
        "jobs/job",
        "jobs/task",
        "jobs/submission",
        "jobs/project",
        "jobs/workflow",
        "notifications/jobemail",
        "notifications/jobfollow",
        "notifications/memberjobemails",
        "notifications/organizationjobemails",
    ],
)
def test_every_model_has_a_working_admin_list(admin_client_with_data, model):
    client, _ = admin_client_with_data
    assert client.get(f"/admin/{model}/").status_code == 200


def test_a_jobs_admin_page_shows_its_tasks(admin_client_with_data):
    client, job = admin_client_with_data
    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert job.pixxel_id in page and job.tasks.first().name in page
    # Pixxel's document as stored, read only (it lives in a table of its own).
    assert "Pixxel&#x27;s job document" in page
    assert "&quot;status&quot;: &quot;queued&quot;" in page
    assert 'name="document-0-raw"' not in page
