"""Jobs Pixxel describes oddly: ids we did not send, ids that are not ids, impossible values, links we
will not open, and create calls answered badly. Over real HTTP against the sandbox."""

import uuid

import pytest

from pixxel_dashboard.jobs.models import Job, Outcome, Submission, Workflow
from pixxel_dashboard.jobs.submission import reconcile_submission_task
from pixxel_dashboard.jobs.sync import sync_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.pixxel import PixxelClient, PixxelError
from pixxel_dashboard.pixxel.client import opens_download
from pixxel_dashboard.sandbox import ids
from tests.plugins.jobs import JOB_ROUTE, finish, mark_synced, poll_url, submit

NEW = "/o/acme/jobs/new/"
IMPORT = "/o/acme/jobs/import/"
CREATE = "/v0/workflows/{workflow_id}/jobs"
WARNING = "Pixxel's answer names workflow <code>&lt;string&gt;</code>"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Sandbox", sandbox.new_key())


def post(client, **extra):
    data = {"project": ids.PROJECT_AGRI, "workflow": ids.WF_LINEAR, "token": str(uuid.uuid4())}
    return client.post(NEW, {**data, **extra})


def paths(sandbox, method, route):
    return [r["path"] for r in sandbox.requests() if r["method"] == method and r["route"] == route]


# --- the ids we sent are authoritative ------------------------------------------------------------


def test_a_job_pixxel_files_under_another_workflow_stays_under_the_one_we_sent(
    client_for, bob, acme_key, sandbox
):
    # Every job answer (create, get, list) says "workflow_id": "<string>", like the documented sample.
    sandbox.inject("sample-workflow-id", path_contains="/jobs", times=100)
    c = client_for(bob)
    response = post(c)
    job = Job.objects.get()
    assert response.url == job.get_absolute_url()
    assert job.workflow_pixxel_id == ids.WF_LINEAR and job.workflow.pixxel_id == ids.WF_LINEAR
    assert job.reported_workflow_id == "<string>"
    assert job.raw["workflow_id"] == "<string>"  # Pixxel's answer is kept as it came

    # The sync asks where the job lives, and keeps going.
    sandbox.advance(30)
    assert sync_job(job, force=True)
    assert not job.sync_stopped and not job.last_sync_error and job.last_synced_at
    assert job.raw["workflow_id"] == "<string>"  # still answered oddly
    assert (
        paths(sandbox, "GET", JOB_ROUTE)[-1]
        == f"/v0/workflows/{ids.WF_LINEAR}/jobs/{job.pixxel_id}"
    )

    # The page says so, without making it the job's workflow.
    page = c.get(job.get_absolute_url()).content.decode()
    assert WARNING in page and f"submitted to <code>{ids.WF_LINEAR}</code>" in page
    assert "No longer updated" not in page

    # The history's workflow filter finds it.
    listing = c.get(f"/o/acme/jobs/?workflow={ids.WF_LINEAR}").content.decode()
    assert job.get_absolute_url() in listing

    # Run again targets the real workflow and adds no bogus one to the picker.
    form = c.get(f"{NEW}?repeat={job.pixxel_id}").content.decode()
    assert f'value="{ids.WF_LINEAR}" selected' in form and "&lt;string&gt;" not in form
    post(c, repeat=job.pixxel_id)
    assert paths(sandbox, "POST", CREATE) == [f"/v0/workflows/{ids.WF_LINEAR}/jobs"] * 2
    assert set(Job.objects.values_list("workflow_pixxel_id", flat=True)) == {ids.WF_LINEAR}
    assert not Workflow.objects.filter(pixxel_id="<string>").exists()


def test_an_answer_naming_our_workflow_again_clears_the_warning(client_for, bob, acme_key, sandbox):
    sandbox.inject("sample-workflow-id", path_contains="/jobs", times=1)  # the create answer only
    post(client_for(bob))
    job = Job.objects.get()
    assert job.reported_workflow_id == "<string>"
    mark_synced(job)
    # The live header (what a poll swaps in) carries the warning too.
    fragment = client_for(bob).get(poll_url(job, v="stale", s="queued"), headers=HTMX)
    assert WARNING in fragment.content.decode() and "<html" not in fragment.content.decode()
    sandbox.advance(30)
    sync_job(job, force=True)
    assert job.reported_workflow_id == ""
    assert WARNING not in client_for(bob).get(job.get_absolute_url()).content.decode()


def test_an_adopted_job_is_filed_under_the_workflow_we_sent(client_for, bob, acme_key, sandbox):
    sandbox.inject("malformed-json", method="POST", path_contains="/jobs")
    sandbox.inject("sample-workflow-id", method="GET", path_contains="/jobs", times=10)
    post(client_for(bob))
    assert Submission.objects.get().outcome == Outcome.RECONCILED
    job = Job.objects.get()
    assert job.workflow_pixxel_id == ids.WF_LINEAR and job.reported_workflow_id == "<string>"


def test_imported_jobs_are_filed_under_the_workflow_asked_for(client_for, alice, acme, sandbox):
    secret = sandbox.new_key()
    services.add_key(acme, alice, "Sandbox", secret)
    PixxelClient(secret).create_job(ids.WF_DIAMOND, ids.PROJECT_AGRI)
    sandbox.inject("sample-workflow-id", path_contains="/jobs", times=10)
    client_for(alice).post(IMPORT, {"workflow_id": ids.WF_DIAMOND})
    job = Job.objects.get()
    assert job.workflow_pixxel_id == ids.WF_DIAMOND and job.reported_workflow_id == "<string>"
    assert job.workflow.pixxel_id == ids.WF_DIAMOND


# --- ids in URL paths -------------------------------------------------------------------------------

BAD_IDS = ["..", ".", "", "a/b", "../../v0/projects", "a\\b", "with space", "x" * 101]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_id_that_could_change_the_path_is_refused_before_any_request(pixxel, sandbox, bad):
    client, _key = pixxel
    before = sandbox.stats()["total"]
    for call in (
        lambda: client.get_job(bad, "job-1"),
        lambda: client.get_job(ids.WF_LINEAR, bad),
        lambda: client.create_job(bad, ids.PROJECT_AGRI),
        lambda: client.download_task(ids.WF_LINEAR, "job-1", bad),
    ):
        with pytest.raises(PixxelError) as caught:
            call()
        assert caught.value.kind == "bad_request"
        assert "is not a valid Pixxel id" in caught.value.user_message
    assert sandbox.stats()["total"] == before  # nothing was sent


def test_other_characters_are_percent_encoded_into_their_one_segment(pixxel, sandbox):
    client, _key = pixxel
    with pytest.raises(PixxelError) as caught:
        client.list_jobs("a?b#c%2F..")
    assert caught.value.code == "workflow_not_found"  # the jobs route, asked about that odd id
    (request,) = [r for r in sandbox.requests() if r["path"].startswith("/v0/workflows/a")]
    assert request["route"] == CREATE and request["path"] == "/v0/workflows/a?b#c%2F../jobs"
    assert request["query"] == {}


@pytest.mark.parametrize("field", ["workflow_id", "project_id", "workflow", "project"])
def test_a_typed_id_that_is_not_an_id_is_a_form_error(client_for, bob, acme_key, sandbox, field):
    response = post(client_for(bob), **{field: "../../v0/projects"})
    assert response.status_code == 400
    assert "is not a Pixxel id" in response.content.decode()
    assert not Submission.objects.exists()
    assert sandbox.count("POST", CREATE) == 0
    assert not any(".." in r["path"] for r in sandbox.requests())


def test_importing_an_id_that_is_not_an_id_says_so(client_for, alice, acme_key, sandbox):
    response = client_for(alice).post(IMPORT, {"workflow_id": "../projects"}, follow=True)
    assert "Nothing imported. “../projects” is not a Pixxel id" in response.content.decode()
    assert not any(".." in r["path"] for r in sandbox.requests())


# --- impossible values ------------------------------------------------------------------------------


def test_impossible_values_are_flagged_not_shown_as_facts(acme, alice, client_for, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    sandbox.advance(30)
    sandbox.inject("impossible-values", method="GET", path_contains="/jobs/")
    assert sync_job(job, force=True)
    mark_synced(job)
    # Clamped or unknown, never as reported; Pixxel's own values stay in the stored document.
    assert job.progress == 100 and job.cost is None
    assert job.time_taken == "" and job.pixxel_created_at is None
    assert (job.raw["progress"], job.raw["cost"], job.raw["time_taken"]) == ("150%", -5, "<string>")
    for task in job.tasks.all():
        assert task.progress == 100 and task.time_taken == "" and task.finished_at is None
        assert task.raw["progress"] == 250 and task.raw["time_taken"] == "-3s"

    page = client_for(alice).get(job.get_absolute_url()).content.decode()
    for note in (
        "Pixxel reported progress “150%”: shown as 100 %.",
        "Pixxel reported a cost of -5 credits: shown as unknown.",
        "Pixxel reported “&lt;string&gt;” as the creation time: shown as unknown.",
        "Pixxel reported “&lt;string&gt;” as the time taken: shown as unknown.",
        "Task NDVI: Pixxel reported progress 250: shown as 100 %.",
        "Task NDVI: Pixxel reported “-3s” as the time taken: shown as unknown.",
    ):
        assert note in page
    assert "-5 credits so far" not in page and "-5.00" not in page
    assert "<td>-3s</td>" not in page and "<dd>&lt;string&gt;" not in page

    # Once Pixxel answers sensibly again, the notes go.
    sandbox.advance(30)
    sync_job(job, force=True)
    assert job.reported_notes == []
    assert "Pixxel reported" not in client_for(alice).get(job.get_absolute_url()).content.decode()


# --- download links ---------------------------------------------------------------------------------


def test_a_download_link_that_is_not_https_is_refused_with_its_own_message(
    acme, alice, client_for, pixxel, sandbox
):
    job = finish(submit(acme, alice, pixxel), sandbox)
    mark_synced(job)
    sandbox.inject("insecure-link", method="PUT")
    response = client_for(alice).post(job.get_absolute_url() + "download/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == job.get_absolute_url()
    assert "Pixxel returned a link the dashboard will not open" in page
    assert "Try again in a minute" not in page
    assert "downloads.example.invalid" not in page


@pytest.mark.parametrize(
    ("url", "api", "opens"),
    [
        ("https://storage.example/f.tif?sig=1", "https://api.pixxel.space", True),
        ("http://storage.example/f.tif", "https://api.pixxel.space", False),
        ("http://127.0.0.1:8001/_sandbox/files/t/f.tif", "http://127.0.0.1:8001", True),
        ("http://elsewhere:8001/f.tif", "http://127.0.0.1:8001", False),
        ("javascript:alert(1)", "https://api.pixxel.space", False),
        ("data:text/html,hi", "https://api.pixxel.space", False),
        ("ftp://storage.example/f.tif", "https://api.pixxel.space", False),
        ("//storage.example/f.tif", "https://api.pixxel.space", False),
        ("https:///f.tif", "https://api.pixxel.space", False),
    ],
)
def test_only_https_links_open_plain_http_only_from_a_plain_http_api_itself(url, api, opens):
    assert opens_download(url, api) is opens


# --- create calls answered badly ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "502-html"])
def test_after_a_5xx_to_create_it_looks_three_times_then_once_more_in_the_background(
    client_for, bob, acme, acme_key, sandbox, fault
):
    from django_tasks_db.models import DBTaskResult

    sandbox.inject(fault, method="POST", path_contains="/jobs")
    post(client_for(bob))
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.FAILED and submission.error_kind == "server_error"
    assert sandbox.count("GET", CREATE) == 3  # three looks, none found a job
    assert DBTaskResult.objects.filter(task_path=reconcile_submission_task.module_path).exists()

    # The server made the job after all: the background look adopts it.
    client, _key = services.client_for_organization(acme)
    client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)
    reconcile_submission_task.call(submission.pk)
    submission.refresh_from_db()
    assert submission.outcome == Outcome.RECONCILED and submission.job == Job.objects.get()
    assert submission.job.submitted_by == bob


def test_a_server_that_created_the_job_then_failed_is_adopted_at_once(
    client_for, bob, acme_key, sandbox
):
    sandbox.inject("created-then-500", method="POST", path_contains="/jobs")
    response = post(client_for(bob))
    job = Job.objects.get()
    assert response.url == job.get_absolute_url()
    assert Submission.objects.get().outcome == Outcome.RECONCILED
    assert sandbox.count("POST", CREATE) == 1


def test_a_garbled_answer_reads_the_same_in_failed_submissions_whatever_its_status(
    client_for, bob, vera, acme, acme_key, sandbox
):
    # A truncated 200 (the job is made, but the looks for it fail too) …
    sandbox.inject("malformed-json", method="POST", path_contains="/jobs")
    sandbox.inject("500", method="GET", path_contains="/jobs", times=3)
    post(client_for(bob))
    garbled = Submission.objects.get()
    assert garbled.error_kind == "invalid_response" and garbled.http_status == 200
    # … and a well-formed answer of the wrong shape (no HTTP status recorded).
    Submission.objects.create(
        organization=acme,
        user=bob,
        project_pixxel_id=ids.PROJECT_AGRI,
        workflow_pixxel_id=ids.WF_DIAMOND,
        outcome=Outcome.FAILED,
        error_kind="invalid_response",
    )
    # A server error reads as such, with its status (another workflow: nothing there to adopt).
    sandbox.inject("500", method="POST", path_contains="/jobs")
    post(client_for(bob), workflow=ids.WF_DIAMOND)

    page = client_for(vera).get("/o/acme/jobs/?show=failed").content.decode()
    failures = page.split('id="failures-caption"')[1]
    assert failures.count("Garbled answer") == 2
    assert "HTTP 200" not in failures and "invalid_response" not in failures
    assert "Pixxel error · HTTP 500" in failures


# --- jobs filed wrongly before this fix ---------------------------------------------------------------


def test_jobs_filed_under_pixxels_workflow_id_are_refiled_and_synced_again(
    client_for, bob, acme_key, sandbox
):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "pixxel_dashboard.jobs.migrations.0002_pixxel_reported_values"
    )
    post(client_for(bob))
    job = Job.objects.get()
    # As the old code stored it: under the id Pixxel's answer named, its sync stopped by a 404.
    Job.objects.filter(pk=job.pk).update(
        workflow_pixxel_id="<string>", workflow=None, sync_stopped=True, last_sync_error="gone"
    )
    migration.refile_jobs_under_the_workflow_we_sent(apps, None)
    job.refresh_from_db()
    assert job.workflow_pixxel_id == ids.WF_LINEAR and job.workflow.pixxel_id == ids.WF_LINEAR
    assert job.reported_workflow_id == "<string>"
    assert not job.sync_stopped and not job.last_sync_error
    sandbox.advance(30)
    assert sync_job(job, force=True) and job.last_synced_at and not job.sync_stopped


def test_a_stored_id_the_client_refuses_stops_the_sync_without_a_request(
    acme, alice, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    Job.objects.filter(pk=job.pk).update(workflow_pixxel_id="a/b")
    job.refresh_from_db()
    before = sandbox.stats()["total"]
    sync_job(job, force=True)
    assert job.sync_stopped and "not a valid Pixxel id" in job.last_sync_error
    assert sandbox.stats()["total"] == before


def test_a_job_answer_without_its_id_is_a_failed_sync_not_another_job(acme, alice, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    sandbox.advance(30)
    sandbox.inject("job-without-id", method="GET", path_contains="/jobs/")
    assert sync_job(job, force=True)
    assert Job.objects.count() == 1
    assert job.sync_failures == 1 and not job.sync_stopped
    assert job.last_sync_error == (
        "Pixxel sent a response the dashboard could not understand. Try again later; if it keeps "
        "happening, tell the dashboard's administrators."
    )
    # The next whole answer is stored as usual.
    sandbox.advance(30)
    assert sync_job(job, force=True)
    assert job.sync_failures == 0 and job.last_sync_error == "" and job.last_synced_at
