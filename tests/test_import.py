"""Importing jobs created outside the dashboard (Pixxel's console, scripts)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from pixxel_dashboard.accounts.models import AuditEvent
from pixxel_dashboard.jobs.models import Job, Source
from pixxel_dashboard.keys import services
from pixxel_dashboard.pixxel import PixxelClient
from pixxel_dashboard.sandbox import ids

IMPORT = "/o/acme/jobs/import/"


@pytest.fixture
def outside_jobs(acme, alice, sandbox):
    """Two jobs created straight against Pixxel with the organization's key."""
    secret = sandbox.new_key()
    services.add_key(acme, alice, "Sandbox", secret)
    client = PixxelClient(secret)
    return [client.create_job(ids.WF_DIAMOND, ids.PROJECT_AGRI).id for _ in range(2)]


def test_an_admin_imports_a_workflows_jobs_once(client_for, alice, outside_jobs, sandbox):
    client = client_for(alice)
    response = client.post(IMPORT, {"workflow_id": ids.WF_DIAMOND, "project_id": ids.PROJECT_AGRI})
    assert response.status_code == 302
    assert response.url == f"/o/acme/jobs/?workflow={ids.WF_DIAMOND}"
    jobs = Job.objects.filter(pixxel_id__in=outside_jobs)
    assert jobs.count() == 2
    job = jobs.first()
    assert job.source == Source.IMPORTED and job.tasks.exists()
    assert job.project.pixxel_id == ids.PROJECT_AGRI
    page = client.get(response.url).content.decode()
    assert "Imported 2 jobs" in page

    # Again: deduplicated by Pixxel job id.
    client.post(IMPORT, {"workflow_id": ids.WF_DIAMOND})
    assert Job.objects.count() == 2
    assert AuditEvent.objects.filter(action="jobs.imported").count() == 2


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_cannot_import(client_for, request, who, outside_jobs):
    response = client_for(request.getfixturevalue(who)).post(
        IMPORT, {"workflow_id": ids.WF_DIAMOND}
    )
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_another_organization_gets_404(client_for, charlie, outside_jobs):
    assert client_for(charlie).post(IMPORT, {"workflow_id": ids.WF_DIAMOND}).status_code == 404


def test_an_upstream_failure_imports_nothing_and_says_why(client_for, alice, outside_jobs, sandbox):
    sandbox.inject("500", times=10)
    response = client_for(alice).post(IMPORT, {"workflow_id": ids.WF_DIAMOND}, follow=True)
    assert "Nothing imported." in response.content.decode()
    assert not Job.objects.exists()


def test_the_command_imports_too(outside_jobs):
    out = StringIO()
    call_command("import_jobs", org="acme", workflow=ids.WF_DIAMOND, stdout=out)
    assert "Imported 2 job(s); 0 already present." in out.getvalue()
    out = StringIO()
    call_command("import_jobs", org="acme", workflow=ids.WF_DIAMOND, stdout=out)
    assert "Imported 0 job(s); 2 already present." in out.getvalue()


def test_the_command_explains_a_missing_key(acme):
    with pytest.raises(CommandError, match="no Pixxel API key"):
        call_command("import_jobs", org="acme", workflow=ids.WF_DIAMOND)
