"""The team's job list (first cut of the history: filters in the query string)."""

import pytest

from pixxel_dashboard.jobs.models import FailureKind, Job, Outcome, Submission
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids

JOBS = "/o/acme/jobs/"


@pytest.fixture
def make_jobs(acme, alice, bob, sandbox):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())

    def make(n, workflow=ids.WF_LINEAR, project=ids.PROJECT_AGRI, user=bob):
        client, key = services.client_for_organization(acme)
        jobs = []
        for _ in range(n):
            job, _ = save_job(
                acme, client.create_job(workflow, project), submitted_by=user, api_key=key
            )
            jobs.append(job)
        return jobs

    return make


def test_every_member_sees_the_teams_jobs(client_for, vera, make_jobs):
    jobs = make_jobs(2)
    page = client_for(vera).get(JOBS).content.decode()
    for job in jobs:
        assert job.get_absolute_url() in page
    assert "Jobs of Acme Imaging (2)" in page


def test_viewers_are_not_offered_submission(client_for, vera, bob, make_jobs):
    submit = 'href="/o/acme/jobs/new/"'
    as_viewer = client_for(vera).get(JOBS).content.decode()
    assert "Submit a job" not in as_viewer and submit not in as_viewer
    as_member = client_for(bob).get(JOBS).content.decode()
    assert "Submit a job" in as_member
    # The top bar's "Submit", the page's button and the empty list's "Submit the first one".
    assert as_member.count(submit) == 3


def test_filters_in_the_query_string(client_for, bob, make_jobs):
    linear = make_jobs(1)[0]
    failing = make_jobs(1, workflow=ids.WF_FAILING, project=ids.PROJECT_URBAN)[0]
    page = client_for(bob).get(f"{JOBS}?workflow={ids.WF_FAILING}").content.decode()
    assert failing.get_absolute_url() in page and linear.get_absolute_url() not in page


def test_another_organization_gets_404(client_for, charlie, make_jobs):
    make_jobs(1)
    assert client_for(charlie).get(JOBS).status_code == 404


def test_anonymous_visitors_must_log_in(client, acme):
    assert client.get(JOBS).url.startswith("/accounts/login/")


def test_the_list_asks_the_same_number_of_queries_for_3_or_30_jobs(
    client_for, bob, make_jobs, django_assert_max_num_queries, django_assert_num_queries
):
    make_jobs(3)
    client = client_for(bob)
    client.get(JOBS)
    with django_assert_max_num_queries(10) as queries:
        assert client.get(JOBS).status_code == 200
    few = len(queries)
    make_jobs(27)
    with django_assert_num_queries(few):
        assert client.get(JOBS).status_code == 200


def test_another_organizations_jobs_and_failures_are_neither_listed_nor_counted(
    client_for, bob, charlie, globex, sandbox, make_jobs
):
    ours = make_jobs(1)[0]
    services.add_key(globex, charlie, "Globex", sandbox.new_key())
    theirs_client, theirs_key = services.client_for_organization(globex)
    theirs, _ = save_job(
        globex,
        theirs_client.create_job(ids.WF_FAILING, ids.PROJECT_URBAN),
        submitted_by=charlie,
        api_key=theirs_key,
    )
    Submission.objects.create(
        organization=globex,
        user=charlie,
        project_pixxel_id=ids.PROJECT_URBAN,
        workflow_pixxel_id="globex-secret-workflow",
        outcome=Outcome.FAILED,
        error_kind=FailureKind.SERVER_ERROR,
        user_message="Globex's failure",
    )

    for query in ("", f"?workflow={ids.WF_FAILING}", f"?project={ids.PROJECT_URBAN}"):
        page = client_for(bob).get(JOBS + query).content.decode()
        assert theirs.get_absolute_url().replace("globex", "acme") not in page
        assert theirs.pixxel_id not in page
        assert "globex-secret-workflow" not in page and "Globex's failure" not in page
    page = client_for(bob).get(JOBS).content.decode()
    assert ours.get_absolute_url() in page
    assert "Jobs of Acme Imaging (1)" in page


def test_the_pager_keeps_the_filters(client_for, bob, acme):
    Job.objects.bulk_create(
        Job(organization=acme, pixxel_id=f"job-{i}", workflow_pixxel_id="wf-a") for i in range(51)
    )
    page = client_for(bob).get(f"{JOBS}?workflow=wf-a&page=1").content.decode()
    assert 'href="?workflow=wf-a&amp;page=2">Older' in page
    page = client_for(bob).get(f"{JOBS}?workflow=wf-a&page=2").content.decode()
    assert 'href="?workflow=wf-a&amp;page=1">← Newer' in page
