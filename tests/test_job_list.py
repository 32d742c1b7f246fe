"""The team's job history: rows, filters, search, sorts, keyset pages, failed submissions, CSV.

Most tests build jobs straight into the database (many, fast, with chosen values); the tests that
are about what Pixxel says (a failure reason, a job page link) create them in the sandbox.
"""

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone

from pixxel_dashboard.costs import rollups
from pixxel_dashboard.costs.models import MEASURES
from pixxel_dashboard.jobs import history
from pixxel_dashboard.jobs.models import (
    FailureKind,
    Job,
    Outcome,
    Source,
    Status,
    Submission,
)
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.notifications.models import JobFollow
from pixxel_dashboard.sandbox import ids
from tests.plugins.jobs import finish

JOBS = "/o/acme/jobs/"
CSV = "/o/acme/jobs/export.csv"
LIVE = "/o/acme/jobs/live/"


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


def ids_on(page: str) -> list[str]:
    """The job ids of the rows a history page shows, in order."""
    return re.findall(r'id="job-row-([^"]+)"', page)


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return unescape(found.group(1)) if found else None


# --- what a row says -------------------------------------------------------------------------


def test_a_row_names_the_workflow_links_the_job_and_says_how_it_went(client_for, bob, team):
    job = team.job(
        minutes_ago=180,
        submitted_by=bob,
        status=Status.FAILED,
        progress=40,
        cost=Decimal("12.5"),
        estimated_cost=Decimal("10"),
        time_taken_seconds=83,
        failure_reason="RuntimeError: band B11 missing",
    )
    page = get(client_for(bob), JOBS)
    row = page[page.index(f'id="job-row-{job.pixxel_id}"') :].split("</tr>")[0]
    assert f'href="/o/acme/jobs/{job.pixxel_id}/"' in row
    assert ">NDVI mosaic</a>" in row
    assert f'<code class="short-id" title="{job.pixxel_id}">{job.pixxel_id[:8]}</code>' in row
    assert "✖</span> Failed" in row
    assert "Farmland" in row and "bob" in row
    assert "1m23s" in row
    assert "40%" in row
    assert "12.50 credits" in row and "(est. 10)" in row and "over estimate" in row
    assert "RuntimeError: band B11 missing" in row
    assert re.search(r'<time datetime="[^"]+"[^>]*>3 h ago</time>', row)


def test_a_job_within_its_estimate_is_not_marked_over(client_for, bob, team):
    team.job(cost=Decimal("9"), estimated_cost=Decimal("10"))
    assert "over estimate" not in get(client_for(bob), JOBS)


def test_a_failed_sandbox_job_shows_its_first_failed_tasks_error(
    client_for, bob, make_jobs, sandbox
):
    job = make_jobs(1, workflow=ids.WF_FAILING, project=ids.PROJECT_URBAN)[0]
    assert job.failure_reason == ""
    finish(job, sandbox)
    assert job.status == Status.FAILED
    assert job.failure_reason.startswith("RuntimeError: aerosol optical thickness lookup failed")
    assert job.failure_reason in unescape(get(client_for(bob), JOBS))


def test_a_rejected_job_shows_its_first_validation_error(client_for, bob, make_jobs):
    job = make_jobs(1, workflow=ids.WF_VALIDATION, project=ids.PROJECT_COASTAL)[0]
    assert job.failure_reason.startswith("Water quality index: incompatible data types — ")
    assert job.failure_reason in unescape(get(client_for(bob), JOBS))


# --- filters, search and sort ----------------------------------------------------------------


def test_every_member_sees_the_teams_jobs_viewers_included(client_for, vera, bob, team):
    jobs = [team.job(submitted_by=bob), team.job(minutes_ago=5)]
    page = get(client_for(vera), JOBS)
    assert set(ids_on(page)) == {j.pixxel_id for j in jobs}
    assert "2 jobs." in page
    assert "Submit a job" not in page


def test_status_filter_takes_several_statuses_at_once(client_for, bob, team):
    ok = team.job(status=Status.SUCCEEDED)
    bad = team.job(minutes_ago=1, status=Status.FAILED)
    running = team.job(minutes_ago=2, status=Status.RUNNING)
    page = get(client_for(bob), JOBS + "?status=failed&status=running")
    assert ids_on(page) == [bad.pixxel_id, running.pixxel_id]
    assert ok.pixxel_id not in page
    assert 'value="failed" checked' in page and 'value="running" checked' in page


def test_project_workflow_and_submitter_filters(client_for, alice, bob, team):
    mine = team.job(submitted_by=bob)
    shore = team.job(minutes_ago=1, workflow=team.shore, submitted_by=alice)
    client = client_for(bob)
    assert ids_on(get(client, JOBS + "?project=p-coast")) == [shore.pixxel_id]
    assert ids_on(get(client, JOBS + "?workflow=wf-ndvi")) == [mine.pixxel_id]
    assert ids_on(get(client, JOBS + "?by=alice")) == [shore.pixxel_id]
    assert ids_on(get(client, JOBS + "?by=bob&project=p-coast")) == []


def test_a_former_members_jobs_stay_findable_by_their_name(
    client_for, alice, bob, charlie, team, django_assert_max_num_queries
):
    """The cost pages link a former member's spending to `by=<name>`: it lists their jobs."""
    theirs = team.job(submitted_by=bob)
    team.job(minutes_ago=1, submitted_by=alice)
    bob.memberships.all().delete()
    client = client_for(alice)
    page = get(client, JOBS + "?by=bob")
    assert ids_on(page) == [theirs.pixxel_id]
    assert '<option value="bob" selected>bob (not a member now)</option>' in page
    # Someone of another organization, or no one: no rows, the same page either way.
    assert ids_on(get(client, JOBS + "?by=charlie")) == []
    assert ids_on(get(client, JOBS + "?by=nobody-at-all")) == []
    with django_assert_max_num_queries(11):  # the page's 10, and the name looked up once
        client.get(JOBS + "?by=bob")


def test_the_jobs_a_member_follows_are_one_filter_away(client_for, alice, bob, team):
    followed = team.job(submitted_by=alice)
    team.job(minutes_ago=1, submitted_by=alice)
    team.job(minutes_ago=2, submitted_by=bob)
    JobFollow.objects.create(job=followed, user=bob)
    JobFollow.objects.create(job=team.job(minutes_ago=3), user=alice)  # alice's own follow
    client = client_for(bob)
    assert '<input type="checkbox" name="followed_by" value="bob"> Jobs I follow' in get(
        client, JOBS
    )
    page = get(client, JOBS + "?followed_by=bob")
    assert ids_on(page) == [followed.pixxel_id]
    assert 'value="bob" checked> Jobs I follow' in page
    assert "Clear filters" in page
    exported = read_csv(client.get(CSV + "?followed_by=bob"))
    assert [r["job_id"] for r in exported] == [followed.pixxel_id]
    # The link shared with alice shows what bob follows, and says so.
    page = get(client_for(alice), JOBS + "?followed_by=bob")
    assert ids_on(page) == [followed.pixxel_id]
    assert 'value="bob" checked> Followed by bob' in page
    # No failed submission made a job, so none is followed.
    failed_submission(team.org, bob)
    assert "Pixxel refused the job" in get(client, JOBS + "?show=failed")
    assert "Pixxel refused the job" not in get(client, JOBS + "?followed_by=bob&show=failed")


def test_jobs_without_a_project_and_jobs_nobody_here_submitted_have_filters(
    client_for, alice, bob, team
):
    """The cost pages' "No project" and imported rows drill down to exactly their jobs."""
    loose = team.job(project=None, submitted_by=bob)
    imported = team.job(minutes_ago=1, submitted_by=None, source=Source.IMPORTED)
    team.job(minutes_ago=2, submitted_by=alice)
    client = client_for(bob)
    page = get(client, JOBS + "?project=~none")
    assert ids_on(page) == [loose.pixxel_id]
    assert '<option value="~none" selected>No project</option>' in page  # the active filter
    page = get(client, JOBS + "?by=~none")
    assert ids_on(page) == [imported.pixxel_id]
    assert '<option value="~none" selected>Nobody here (imported)</option>' in page
    assert ids_on(get(client, JOBS + "?by=~none&project=~none")) == []
    assert "Clear filters" in page


@pytest.mark.parametrize(
    ("status", "estimate", "cost", "over"),
    [
        (Status.SUCCEEDED, "10.00", "12.01", True),
        (Status.SUCCEEDED, "10.00", "12.00", False),  # exactly 20 % over is not "more than"
        (Status.FAILED, "0.10", "0.13", True),
        (Status.FAILED, "33.33", "39.99", False),  # 39.996 would be 20 %
        (Status.RUNNING, "10.00", "50.00", False),  # not finished: not compared yet
        (Status.SUCCEEDED, None, "50.00", False),  # no estimate shown
    ],
)
def test_the_over_estimate_filter_follows_the_cost_pages_rule(
    client_for, bob, team, status, estimate, cost, over
):
    job = team.job(
        status=status,
        cost=Decimal(cost),
        estimated_cost=None if estimate is None else Decimal(estimate),
    )
    page = get(client_for(bob), JOBS + "?over=1")
    assert ids_on(page) == ([job.pixxel_id] if over else [])
    assert 'name="over" value="1" checked' in page  # shown as an active filter
    contribution = rollups.contribution(job, UTC)
    assert contribution.measures[MEASURES.index("over_estimate_jobs")] == int(over)


def test_the_none_filters_survive_the_pager_and_the_csv(client_for, bob, team):
    team.many(history.PAGE_SIZE + 1, project=None)
    team.job(minutes_ago=500)
    client = client_for(bob)
    page = get(client, JOBS + "?project=~none")
    older = unescape(re.search(r'<a rel="next" href="([^"]+)"', page).group(1))
    assert "project=%7Enone" in older or "project=~none" in older
    assert len(ids_on(get(client, older))) == 1
    rows = list(
        csv.DictReader(
            io.StringIO(b"".join(client.get(CSV + "?project=~none").streaming_content).decode())
        )
    )
    assert len(rows) == history.PAGE_SIZE + 1 and {r["project_id"] for r in rows} == {""}


def test_a_date_whose_day_after_does_not_exist_is_dropped_not_a_500(client_for, bob, team):
    page = get(client_for(bob), JOBS + "?to=9999-12-31&from=0001-01-01")
    assert "give a year from 1900 to 2999" in page


def test_the_workflow_filter_lists_workflows_by_name(client_for, bob, team):
    page = get(client_for(bob), JOBS + "?workflow=wf-shore")
    assert '<option value="wf-shore" selected>Shoreline change</option>' in page
    assert '<option value="wf-ndvi">NDVI mosaic</option>' in page


def test_only_mine_is_one_click_away(client_for, alice, bob, team):
    mine = team.job(submitted_by=bob)
    team.job(minutes_ago=1, submitted_by=alice)
    client = client_for(bob)
    page = get(client, JOBS)
    only_mine = unescape(re.search(r'<a href="([^"]+)">Only mine</a>', page).group(1))
    assert only_mine == JOBS + "?by=bob"
    assert ids_on(get(client, only_mine)) == [mine.pixxel_id]


def test_date_range_is_inclusive_of_both_days(client_for, bob, team):
    today = timezone.localdate()
    inside = team.job(minutes_ago=60 * 24 * 2)
    team.job(minutes_ago=60 * 24 * 40)
    start = (today - timedelta(days=3)).isoformat()
    page = get(client_for(bob), f"{JOBS}?from={start}&to={today.isoformat()}")
    assert inside.pixxel_id in ids_on(page) and len(ids_on(page)) == 1


def test_search_finds_workflow_and_project_names_and_job_id_prefixes(client_for, bob, team):
    ndvi = team.job()
    shore = team.job(minutes_ago=1, workflow=team.shore)
    client = client_for(bob)
    assert ids_on(get(client, JOBS + "?q=shoreline")) == [shore.pixxel_id]
    assert ids_on(get(client, JOBS + "?q=FARM")) == [ndvi.pixxel_id]
    assert ids_on(get(client, JOBS + f"?q={shore.pixxel_id[:8]}")) == [shore.pixxel_id]
    assert ids_on(get(client, JOBS + f"?q={shore.pixxel_id}")) == [shore.pixxel_id]
    assert "No jobs match these filters" in get(client, JOBS + "?q=nothing-like-this")


def test_each_sort_in_both_directions_with_unknown_values_last(client_for, bob, team):
    cheap = team.job(cost=Decimal("1"), time_taken_seconds=300)
    dear = team.job(minutes_ago=1, cost=Decimal("50"), time_taken_seconds=10)
    unknown = team.job(minutes_ago=2, status=Status.RUNNING)
    client = client_for(bob)
    expected = {
        "": [cheap, dear, unknown],
        "created": [unknown, dear, cheap],
        "-credits": [dear, cheap, unknown],
        "credits": [cheap, dear, unknown],
        "-duration": [cheap, dear, unknown],
        "duration": [dear, cheap, unknown],
    }
    for sort, jobs in expected.items():
        assert ids_on(get(client, f"{JOBS}?sort={sort}")) == [j.pixxel_id for j in jobs], sort


# --- pages -----------------------------------------------------------------------------------


def walk(client, url, rel):
    """Every row met following `rel` links from `url`, page by page."""
    seen = []
    while url:
        page = get(client, url)
        seen.append(ids_on(page))
        url = link(page, rel)
        assert len(seen) < 20, "the pages never end"
    return seen


@pytest.mark.parametrize(
    "view",
    [
        "sort=-created",
        "sort=created",
        "sort=-credits",
        "sort=credits",
        "sort=duration",
        # Several statuses, and a search naming a workflow and a project: each read on its own.
        "status=failed&status=succeeded&sort=credits",
        "q=a&status=failed&status=succeeded",
    ],
)
def test_pages_forward_and_back_show_every_row_once(client_for, bob, team, view):
    jobs = team.many(60)
    for i, job in enumerate(jobs):
        # Ties and unknowns on purpose: credits repeat, a third have no duration.
        Job.objects.filter(pk=job.pk).update(
            status=Status.FAILED if i % 2 else Status.SUCCEEDED,
            workflow=team.shore if i % 5 == 0 else team.ndvi,
            workflow_pixxel_id="wf-shore" if i % 5 == 0 else "wf-ndvi",
            cost=Decimal(i % 7),
            time_taken_seconds=None if i % 3 == 0 else i,
            created_at=team.now - timedelta(minutes=i // 2),
        )
    client = client_for(bob)
    forward = walk(client, f"{JOBS}?{view}", "next")
    assert [len(p) for p in forward] == [50, 10]
    every = [row for page in forward for row in page]
    assert sorted(every) == sorted(j.pixxel_id for j in jobs)
    # The same order as the CSV's (one plain ORDER BY over every row).
    exported = read_csv(client.get(f"{CSV}?{view}"))
    assert [r["job_id"] for r in exported] == every
    last = get(client, link(get(client, f"{JOBS}?{view}"), "last"))
    assert ids_on(last) == every[-50:]
    backward = walk(client, link(last, "prev") or "", "prev")
    assert [row for page in reversed(backward) for row in page] == every[:10]
    assert link(last, "next") is None and link(get(client, f"{JOBS}?{view}"), "prev") is None


def test_the_pager_keeps_the_filters(client_for, bob, team):
    team.many(51, workflow=team.shore)
    team.job(minutes_ago=500)
    page = get(client_for(bob), f"{JOBS}?workflow=wf-shore")
    older = link(page, "next")
    assert "workflow=wf-shore" in older and "after=" in older
    assert len(ids_on(get(client_for(bob), older))) == 1


def test_a_page_link_to_a_row_that_is_not_there_starts_over(client_for, bob, team, charlie):
    team.many(3)
    for cursor in ("no-such-job", str(uuid.uuid4())):
        page = get(client_for(bob), f"{JOBS}?after={cursor}")
        assert len(ids_on(page)) == 3
        assert "no longer in this view" in page


@pytest.mark.parametrize(
    "query",
    [
        "?status=exploded",
        "?from=2026-13-45&to=yesterday",
        "?page=-1",
        "?page=1000000000",
        "?sort=price",
        "?project=%2E%2E%2Fsecret",
        "?workflow=" + "x" * 500,
        "?by=nobody",
        "?after=" + "z" * 5000,
        "?before=%00",
        "?q=a%00b&show=failed",
        "?q=%00",
        "?last=yes",
        "?show=everything",
        "?q=" + "a" * 10_000,
        "?from=2026-05-01&to=2026-01-01",
    ],
)
def test_odd_query_values_give_a_sensible_page(client_for, bob, team, query):
    team.many(2)
    response = client_for(bob).get(JOBS + query)
    assert response.status_code == 200
    assert "of Acme Imaging</caption>" in response.content.decode()


def test_dropped_values_are_said_so(client_for, bob, team):
    page = get(client_for(bob), JOBS + "?status=exploded&from=13/45&q=" + "a" * 200)
    assert "Ignored an unknown status." in page
    assert "Ignored the start date: give it as YYYY-MM-DD." in page
    assert "Searched for the first 100 characters only." in page


# --- tenancy, roles, cost ----------------------------------------------------------------------


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
    client = client_for(bob)
    for query in (
        "",
        f"?workflow={ids.WF_FAILING}",
        f"?project={ids.PROJECT_URBAN}",
        f"?q={theirs.pixxel_id[:8]}",
        f"?after={theirs.pixxel_id}",
        "?by=charlie",
        "?show=failed",
        "?show=failed&q=globex",
    ):
        for url in (JOBS + query, CSV + query):
            body = b"".join(client.get(url).streaming_content if "csv" in url else [b""])
            body = body.decode() if "csv" in url else get(client, url)
            assert theirs.pixxel_id not in body
            assert "globex-secret-workflow" not in body and "Globex's failure" not in body
    page = get(client, JOBS)
    assert ids_on(page) == [ours.pixxel_id]
    assert "1 job." in page
    # The live poll does not tell another organization's job from a missing one.
    assert client.get(f"{LIVE}?job={theirs.pixxel_id}.0").status_code == 286


def test_another_organization_gets_404(client_for, charlie, team):
    for url in (JOBS, CSV, LIVE):
        assert client_for(charlie).get(url).status_code == 404


def test_anonymous_visitors_must_log_in_and_the_poll_says_403(client, acme):
    assert client.get(JOBS).url.startswith("/accounts/login/")
    assert client.get(CSV).url.startswith("/accounts/login/")
    assert client.get(LIVE).status_code == 403


def test_an_htmx_request_gets_the_results_only(client_for, bob, team):
    team.job()
    page = client_for(bob).get(JOBS + "?status=succeeded", headers={"HX-Request": "true"})
    body = page.content.decode()
    assert body.lstrip().startswith('<div id="history-results">')
    assert "<html" not in body and len(ids_on(body)) == 1
    assert "HX-Request" in page["Vary"]


def test_the_page_asks_the_same_number_of_queries_for_3_or_60_jobs(
    client_for, bob, team, django_assert_max_num_queries
):
    team.many(3, submitted_by=bob)
    client = client_for(bob)
    views = [
        "",
        "?status=failed&status=succeeded&project=p-agri",
        "?q=ndvi&sort=-credits",
        "?sort=duration&last=1",
        "?show=failed",
    ]
    counts = {}
    for view in views:
        client.get(JOBS + view)
        with django_assert_max_num_queries(10) as queries:
            assert client.get(JOBS + view).status_code == 200
        counts[view] = len(queries)
    team.many(60, submitted_by=bob)
    for view in views:
        # (A sort with unknown values may read them with a second query when a page spans both.)
        with django_assert_max_num_queries(counts[view]):
            assert client.get(JOBS + view).status_code == 200
    # A deep page costs what the first costs, plus finding the row it starts after.
    deep = link(get(client, JOBS), "next")
    with django_assert_max_num_queries(min(10, counts[""] + 1)):
        assert client.get(deep).status_code == 200


def test_the_list_never_reads_pixxels_documents(client_for, bob, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team.many(3)
    client = client_for(bob)
    with CaptureQueriesContext(connection) as queries:
        client.get(JOBS)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "jobs_jobdocument" not in sql and "jobs_task" not in sql
    assert '"raw"' not in sql


# --- failed submissions --------------------------------------------------------------------------


def failed_submission(org, user, **values):
    values.setdefault("project_pixxel_id", "p-coast")
    values.setdefault("workflow_pixxel_id", "wf-shore")
    return Submission.objects.create(
        organization=org,
        user=user,
        outcome=Outcome.FAILED,
        error_kind=values.pop("error_kind", FailureKind.BAD_REQUEST),
        http_status=values.pop("http_status", 400),
        user_message=values.pop("user_message", "Pixxel refused the job: missing input."),
        **values,
    )


def test_failed_submissions_have_their_tab_with_who_when_what_and_why(client_for, alice, bob, team):
    failed_submission(team.org, alice, workflow=team.shore, project=team.coast)
    failed_submission(
        team.org,
        bob,
        error_kind=FailureKind.TIMEOUT,
        http_status=None,
        user_message="Pixxel did not answer in time.",
    )
    page = get(client_for(bob), JOBS + "?show=failed")
    assert '<a href="/o/acme/jobs/?show=failed" aria-current="page">Failed submissions</a>' in page
    assert "2 failed submissions." in page
    assert "Shoreline change" in page and "Coast" in page and "alice" in page
    assert "Rejected · HTTP 400" in page and "missing input" in page
    assert "Timed out" in page and "did not answer in time" in page
    assert page.count("<time datetime=") >= 2
    try_again = "/o/acme/jobs/new/?project=p-coast&amp;workflow=wf-shore"
    assert f'<a href="{try_again}">Try again</a>' in page
    filtered = get(client_for(bob), JOBS + "?show=failed&by=alice")
    assert "1 failed submission" in filtered and "Timed out" not in filtered


def test_viewers_see_failed_submissions_but_are_not_offered_to_try_again(client_for, vera, team):
    failed_submission(team.org, vera)
    page = get(client_for(vera), JOBS + "?show=failed")
    assert "missing input" in page and "Try again" not in page


def test_try_again_opens_the_submit_form_with_the_same_choice(
    client_for, bob, acme, alice, sandbox
):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    failed_submission(
        acme, bob, project_pixxel_id=ids.PROJECT_COASTAL, workflow_pixxel_id=ids.WF_WATER
    )
    client = client_for(bob)
    page = get(client, JOBS + "?show=failed")
    url = unescape(re.search(r'<a href="([^"]+)">Try again</a>', page).group(1))
    form = get(client, url)
    assert re.search(rf'<option value="{ids.PROJECT_COASTAL}" selected', form)
    assert re.search(rf'value="{ids.WF_WATER}"[^>]*(checked|selected)', form)


# --- empty states ----------------------------------------------------------------------------


def test_empty_history_without_a_key_says_to_add_one(client_for, alice, bob, acme):
    assert 'href="/o/acme/settings/keys/">Add your organization' in get(client_for(alice), JOBS)
    assert "An owner or admin must add" in get(client_for(bob), JOBS)


def test_a_history_whose_key_was_removed_still_says_the_key_is_missing(client_for, bob, team):
    team.job()
    assert "has no Pixxel API key yet" in get(client_for(bob), JOBS)


def test_empty_history_with_a_key_says_to_submit(client_for, bob, acme, alice, sandbox):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    page = get(client_for(bob), JOBS)
    assert 'No jobs yet. <a href="/o/acme/jobs/new/">Submit the first one</a>' in page


def test_a_filter_without_matches_offers_to_clear_it(client_for, bob, team):
    team.job()
    page = get(client_for(bob), JOBS + "?status=running&sort=credits")
    assert "No jobs match these filters." in page
    clear = unescape(re.search(r'<a href="([^"]+)">Clear the filters</a>', page).group(1))
    assert clear == JOBS + "?sort=credits"


# --- live rows ---------------------------------------------------------------------------------


def poller_url(page: str) -> str | None:
    found = re.search(r'<div id="history-live"[^>]* hx-get="([^"]+)"', page)
    return unescape(found.group(1)) if found else None


def test_one_poll_follows_the_visible_running_rows(client_for, bob, team):
    running = team.job(status=Status.RUNNING, progress=10)
    queued = team.job(minutes_ago=1, status=Status.QUEUED)
    team.job(minutes_ago=2, status=Status.SUCCEEDED)
    client = client_for(bob)
    page = get(client, JOBS)
    url = poller_url(page)
    assert page.count('hx-get="/o/acme/jobs/live/') == 1
    assert url == f"{LIVE}?job={running.pixxel_id}.0&job={queued.pixxel_id}.0"
    assert 'hx-trigger="every 5s"' in page

    assert client.get(url).status_code == 204  # nothing changed

    Job.objects.filter(pk=running.pk).update(progress=60, version=1)
    answer = client.get(url)
    body = answer.content.decode()
    assert answer.status_code == 200
    assert f'<template><tr id="job-row-{running.pixxel_id}" hx-swap-oob="true">' in body
    assert "60%" in body and queued.pixxel_id not in ids_on(body)
    assert poller_url(body) == f"{LIVE}?job={running.pixxel_id}.1&job={queued.pixxel_id}.0"

    Job.objects.filter(pk=running.pk).update(status=Status.SUCCEEDED, progress=100, version=2)
    Job.objects.filter(pk=queued.pk).update(status=Status.FAILED, version=1)
    final = client.get(poller_url(body))
    assert final.status_code == 286  # none left running: stop polling
    assert len(ids_on(final.content.decode())) == 2
    assert poller_url(final.content.decode()) is None


def test_no_poll_when_nothing_visible_is_running(client_for, bob, team):
    team.job(status=Status.SUCCEEDED)
    team.job(status=Status.RUNNING, sync_stopped=True)
    assert poller_url(get(client_for(bob), JOBS)) is None


def test_the_poll_reads_only_the_job_rows_it_was_given(
    client_for, bob, team, django_assert_max_num_queries
):
    jobs = team.many(50, status=Status.RUNNING)
    client = client_for(bob)
    url = poller_url(get(client, JOBS))
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(version=5)
    with django_assert_max_num_queries(6):
        body = client.get(url).content.decode()
    assert len(ids_on(body)) == 50
    assert client.get(f"{LIVE}?job=" + "&job=".join(["x.1"] * 500)).status_code == 286


# --- CSV -------------------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_has_every_matching_row_not_just_the_page(client_for, bob, team):
    team.many(70, status=Status.FAILED, submitted_by=bob)
    team.job(minutes_ago=200, status=Status.SUCCEEDED)
    response = client_for(bob).get(CSV + "?status=failed")
    rows = read_csv(response)
    assert len(rows) == 70 and {r["status"] for r in rows} == {"failed"}
    assert 'attachment; filename="acme-jobs-' in response["Content-Disposition"]
    first = rows[0]
    assert (
        first["job_id"] == Job.objects.filter(status="failed").order_by("-created_at")[0].pixxel_id
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["created_at"])
    assert first["workflow"] == "NDVI mosaic" and first["project_id"] == "p-agri"
    assert first["submitted_by"] == "bob"


def test_the_export_link_carries_the_current_view(client_for, bob, team):
    page = get(client_for(bob), JOBS + "?status=failed&q=ndvi&sort=credits&after=x")
    export = unescape(re.search(r'<a href="([^"]+)" download>Export CSV</a>', page).group(1))
    assert export == CSV + "?status=failed&q=ndvi&sort=credits"


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_cells_that_would_run_as_formulas_are_neutralised(client_for, bob, team, start):
    team.shore.name = f'{start}HYPERLINK("http://evil")'
    team.shore.save()
    team.job(workflow=team.shore, failure_reason=f"{start}1+1")
    row = read_csv(client_for(bob).get(CSV))[0]
    assert row["workflow"] == f'\'{start}HYPERLINK("http://evil")'
    assert row["failure_reason"] == f"'{start}1+1"


def test_failed_submissions_export_as_their_own_csv(client_for, bob, team):
    failed_submission(team.org, bob)
    response = client_for(bob).get(CSV + "?show=failed")
    rows = read_csv(response)
    assert 'filename="acme-failed-submissions-' in response["Content-Disposition"]
    assert rows[0]["submitted_by"] == "bob" and rows[0]["failure"] == "bad_request"
    assert rows[0]["message"] == "Pixxel refused the job: missing input."


def test_the_csv_asks_a_constant_number_of_queries(
    client_for, bob, team, django_assert_max_num_queries
):
    team.many(120)
    client = client_for(bob)
    with django_assert_max_num_queries(10):
        assert len(read_csv(client.get(CSV + "?q=ndvi"))) == 120


def test_csv_cells_are_plain_text_and_whole_utc_seconds():
    moment = timezone.now().replace(microsecond=123456)
    assert history.csv_cell(moment).endswith("Z") and "." not in history.csv_cell(moment)
    assert history.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert history.csv_cell("plain") == "plain" and history.csv_cell(None) == ""


def test_an_imported_job_says_so_where_the_submitter_would_be(client_for, bob, team):
    team.job(source=Source.IMPORTED)
    assert '<span class="muted">Imported</span>' in get(client_for(bob), JOBS)


def test_times_and_date_filters_follow_the_organizations_time_zone(client_for, bob, team):
    team.org.time_zone = "Asia/Kolkata"
    team.org.save()
    job = team.job()
    late_evening_utc = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 01:30 on the 11th in India
    Job.objects.filter(pk=job.pk).update(created_at=late_evening_utc)
    client = client_for(bob)
    assert ids_on(get(client, JOBS + "?from=2026-03-11&to=2026-03-11")) == [job.pixxel_id]
    assert ids_on(get(client, JOBS + "?from=2026-03-10&to=2026-03-10")) == []
    page = get(client, JOBS)
    assert (
        '<time datetime="2026-03-10T20:00:00Z" title="2026-03-11 01:30 IST">2026-03-11</time>'
        in page
    )


def test_jobs_stored_before_the_failure_reason_column_get_one_from_their_tasks(make_jobs, sandbox):
    """Migration 0010's backfill: the first failed task's error, else the first validation error."""
    import importlib

    from django.apps import apps

    backfill = importlib.import_module(
        "pixxel_dashboard.jobs.migrations.0010_history_rows_and_indexes"
    ).fill_failure_reasons
    crashed = make_jobs(1, workflow=ids.WF_FAILING, project=ids.PROJECT_URBAN)[0]
    finish(crashed, sandbox)
    rejected = make_jobs(1, workflow=ids.WF_VALIDATION, project=ids.PROJECT_COASTAL)[0]
    fine = make_jobs(1)[0]
    expected = {job.pk: job.failure_reason for job in (crashed, rejected, fine)}
    assert expected[crashed.pk] and expected[rejected.pk] and not expected[fine.pk]
    Job.objects.update(failure_reason="")
    backfill(apps, None)
    assert dict(Job.objects.values_list("pk", "failure_reason")) == expected
