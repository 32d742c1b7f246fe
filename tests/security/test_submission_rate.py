"""A burst of submissions cannot create a burst of paid jobs: per member and per organization."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from pixxel_dashboard.jobs.models import Job, Outcome, Submission
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids

NEW = "/o/acme/jobs/new/"
CREATE = "/v0/workflows/{workflow_id}/jobs"


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Sandbox", sandbox.new_key())


def submit(client):
    data = {"project": ids.PROJECT_AGRI, "workflow": ids.WF_LINEAR, "token": str(uuid.uuid4())}
    return client.post(NEW, data)


def test_a_member_over_the_rate_is_refused_and_the_attempt_recorded(
    client_for, bob, acme_key, sandbox, settings
):
    settings.SUBMISSION_RATE_PER_MEMBER = 3
    client = client_for(bob)
    assert [submit(client).status_code for _ in range(3)] == [302, 302, 302]
    refused = submit(client)
    assert refused.status_code == 429
    assert "Too many submissions: at most 3 per member per minute" in refused.content.decode()
    assert Job.objects.count() == 3
    assert sandbox.count("POST", CREATE) == 3
    failed = Submission.objects.get(outcome=Outcome.FAILED)
    assert failed.user == bob and failed.error_kind == "too_many_submissions"
    assert "Too many submissions" in failed.user_message
    listing = client.get("/o/acme/jobs/?show=failed").content.decode()
    assert "Too many submissions" in listing


def test_refused_attempts_do_not_extend_the_wait(client_for, bob, acme_key, settings):
    settings.SUBMISSION_RATE_PER_MEMBER = 2
    client = client_for(bob)
    for _ in range(5):
        submit(client)
    assert Job.objects.count() == 2
    # A minute later the member may submit again.
    Submission.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    assert submit(client).status_code == 302
    assert Job.objects.count() == 3


def test_the_organization_has_its_own_rate(client_for, alice, bob, adam, acme_key, settings):
    settings.SUBMISSION_RATE_PER_ORGANIZATION = 3
    for person in (alice, bob, adam):
        assert submit(client_for(person)).status_code == 302
    refused = submit(client_for(bob))
    assert refused.status_code == 429
    assert "at most 3 per organization per minute" in refused.content.decode()
    assert Job.objects.count() == 3


def test_another_organization_is_not_slowed_down(
    client_for, bob, charlie, globex, acme_key, sandbox, settings
):
    settings.SUBMISSION_RATE_PER_ORGANIZATION = 1
    services.add_key(globex, charlie, "Sandbox", sandbox.new_key())
    assert submit(client_for(bob)).status_code == 302
    data = {"project": ids.PROJECT_AGRI, "workflow": ids.WF_LINEAR, "token": str(uuid.uuid4())}
    assert client_for(charlie).post("/o/globex/jobs/new/", data).status_code == 302
