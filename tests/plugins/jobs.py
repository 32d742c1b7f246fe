"""Jobs for tests: a Pixxel client on Acme's sandbox key, helpers to create and age jobs, and
`team` (Acme's catalog, with jobs of chosen values put straight into its history)."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pixxel_dashboard.jobs.models import Job, Project, Status, Workflow
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.jobs.sync import sync_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.keys.services import client_for_organization
from pixxel_dashboard.pixxel import parsing
from pixxel_dashboard.sandbox.ids import PROJECT_AGRI, WF_LINEAR

JOB_ROUTE = "/v0/workflows/{workflow_id}/jobs/{job_id}"


@pytest.fixture
def pixxel(acme, alice, sandbox):
    """A Pixxel client on Acme's (sandbox) key."""
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    client, key = client_for_organization(acme)
    yield client, key
    client.close()


def submit(org, user, pixxel, workflow=WF_LINEAR, project=PROJECT_AGRI) -> Job:
    client, key = pixxel
    parsed = client.create_job(workflow, project)
    job, _ = save_job(org, parsed, submitted_by=user, api_key=key, estimated_cost=125)
    return job


def report(
    org, job_id, status="running", *, estimate=None, project=None, by=None, source=None, **answer
) -> Job:
    """What Pixxel says about a job of workflow wf-ndvi (`answer`: the document's other fields —
    cost, progress, errors…), saved as a sync saves it; the first time, as a submission saves it
    (the estimate, project, submitter and source count only then)."""
    parsed = parsing.parse_job({"id": job_id, "workflow_id": "wf-ndvi", "status": status, **answer})
    local = {"source": source} if source else {}
    job, _ = save_job(
        org,
        parsed,
        workflow_pixxel_id="wf-ndvi",
        project=project,
        submitted_by=by,
        estimated_cost=None if estimate is None else Decimal(estimate),
        **local,
    )
    return job


def report_ending(org, job_id="job-1", status="failed", **kwargs) -> Job:
    """The job seen running, then ending with `status`, as two syncs save it."""
    report(org, job_id, "running", **kwargs)
    return report(org, job_id, status, **kwargs)


def mark_synced(job: Job) -> None:
    """As if a sync just happened: neither the page nor the poll calls upstream now."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(last_synced_at=now, sync_claimed_at=now)
    job.refresh_from_db()


def age_claim(job: Job, seconds: float = 3600) -> None:
    """Move the last sync attempt into the past, so the next one is due."""
    then = timezone.now() - timedelta(seconds=seconds)
    Job.objects.filter(pk=job.pk).update(sync_claimed_at=then)
    job.refresh_from_db()


def finish(job: Job, sandbox, seconds: float = 900) -> Job:
    sandbox.advance(seconds)
    assert sync_job(job, force=True)
    return job


def poll_url(job: Job, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return job.get_absolute_url() + "live/" + (f"?{query}" if query else "")


def token(job: Job) -> str:
    return f"{job.version}.{job.sync_failures}.{int(job.sync_stopped)}"


class Team:
    """Acme's catalog and a way to put jobs into its history with chosen values."""

    def __init__(self, org, people):
        self.org = org
        self.people = people
        self.agri = Project.objects.create(organization=org, pixxel_id="p-agri", name="Farmland")
        self.coast = Project.objects.create(organization=org, pixxel_id="p-coast", name="Coast")
        self.ndvi = Workflow.objects.create(
            organization=org, project=self.agri, pixxel_id="wf-ndvi", name="NDVI mosaic"
        )
        self.shore = Workflow.objects.create(
            organization=org, project=self.coast, pixxel_id="wf-shore", name="Shoreline change"
        )
        self.now = timezone.now().replace(microsecond=0)

    def job(self, minutes_ago=0, **values) -> Job:
        workflow = values.pop("workflow", self.ndvi)
        values.setdefault("project", workflow.project)
        values.setdefault("status", Status.SUCCEEDED)
        values.setdefault("pixxel_id", str(uuid.uuid4()))
        job = Job.objects.create(
            organization=self.org,
            workflow=workflow,
            workflow_pixxel_id=workflow.pixxel_id,
            **values,
        )
        Job.objects.filter(pk=job.pk).update(created_at=self.now - timedelta(minutes=minutes_ago))
        job.refresh_from_db()
        return job

    def many(self, n, **values) -> list[Job]:
        return [self.job(minutes_ago=i, **values) for i in range(n)]


@pytest.fixture
def team(acme, alice, bob, vera):
    return Team(acme, {"alice": alice, "bob": bob, "vera": vera})


# The page -------------------------------------------------------------------------------------


def page_poll_url(body: str) -> str:
    """The poll URL a job page carries (what the browser will ask next), from the page's HTML."""
    import html
    import re

    return html.unescape(re.search(r'data-job-poll hx-get="([^"]+)"', body).group(1))
