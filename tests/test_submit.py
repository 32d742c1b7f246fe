"""Submitting jobs from the browser's forms, against the Pixxel sandbox over HTTP."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from pixxel_dashboard.accounts.models import AuditEvent, Membership
from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.forms import ID_HELP
from pixxel_dashboard.jobs.models import Job, JobValidationError, Outcome, Status, Submission
from pixxel_dashboard.jobs.submission import RECONCILE_ATTEMPTS
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
from tests.plugins.waiting import wait_until

NEW = "/o/acme/jobs/new/"
CREATE = "/v0/workflows/{workflow_id}/jobs"


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Sandbox", sandbox.new_key())


def form_data(workflow=ids.WF_LINEAR, project=ids.PROJECT_AGRI, **extra):
    return {"project": project, "workflow": workflow, "token": str(uuid.uuid4()), **extra}


def post(client, **extra):
    return client.post(NEW, form_data(**extra))


def shown(user, estimate, workflow=ids.WF_LINEAR, project=ids.PROJECT_AGRI):
    """The estimate as a pre-flight panel shows it to `user` (signed by the server)."""
    membership = Membership.objects.get(user=user)
    return catalog.sign_estimate(membership, project, workflow, Decimal(estimate))


# --- the form -----------------------------------------------------------------------------------


def test_a_member_sees_the_organizations_projects(client_for, bob, acme_key):
    page = client_for(bob).get(NEW).content.decode()
    for name in ("Agricultural Health", "Coastal Monitoring", "Urban Heat Islands", "Archive"):
        assert name in page
    assert '<label for="id_project">Project</label>' in page
    assert '<label for="id_workflow">Workflow</label>' in page
    assert ">Submit job</button>" in page


def test_projects_are_cached_briefly_and_refreshed_on_demand(client_for, bob, acme_key, sandbox):
    client = client_for(bob)
    client.get(NEW)
    client.get(NEW)
    assert sandbox.count("GET", "/v0/projects") == 1
    client.get(NEW + "?refresh=1")
    assert sandbox.count("GET", "/v0/projects") == 2


def test_viewers_may_not_submit(client_for, vera, acme_key):
    client = client_for(vera)
    assert client.get(NEW).status_code == 403
    assert post(client).status_code == 403
    assert not Submission.objects.exists()


def test_another_organization_gets_404(client_for, charlie, acme_key, sandbox):
    client = client_for(charlie)
    assert client.get(NEW).status_code == 404
    assert post(client).status_code == 404
    assert sandbox.count("POST", CREATE) == 0


def test_anonymous_visitors_must_log_in(client, acme_key):
    assert client.get(NEW).url.startswith("/accounts/login/")
    assert client.post(NEW, form_data()).url.startswith("/accounts/login/")


def test_the_workflow_picker_follows_the_project_and_pages_through_all_workflows(
    client_for, bob, acme_key
):
    response = client_for(bob).get(
        f"/o/acme/jobs/new/workflows/?project={ids.PROJECT_ARCHIVE}", headers={"HX-Request": "true"}
    )
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert fragment.count("Field survey ") == 120
    assert "120 workflows" in fragment


def test_the_workflow_picker_searches_by_name(client_for, bob, acme_key):
    response = client_for(bob).get(
        f"/o/acme/jobs/new/workflows/?project={ids.PROJECT_ARCHIVE}&q=survey+11",
        headers={"HX-Request": "true"},
    )
    fragment = response.content.decode()
    assert "Field survey 110" in fragment and "Field survey 119" in fragment
    assert "Field survey 001" not in fragment
    assert "10 workflows matching" in fragment


def test_the_preflight_panel_shows_estimate_and_validation_errors(client_for, bob, acme_key):
    client = client_for(bob)
    fragment = client.get(
        f"/o/acme/jobs/new/preflight/?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}",
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "<html" not in fragment
    assert "credits" in fragment
    assert "validation error" in fragment
    assert "Submit anyway: I have read the validation errors" in fragment
    clean = client.get(
        f"/o/acme/jobs/new/preflight/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}",
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "No validation errors." in clean


def test_the_typed_id_fields_say_when_to_use_them_and_the_checkbox_is_labelled_once(
    client_for, bob, acme_key
):
    client = client_for(bob)
    page = client.get(f"{NEW}?project_id=typed-project").content.decode()
    assert page.count(ID_HELP) == 2
    assert 'aria-describedby="id_project_id_helptext"' in page
    assert 'id="id_project_id_helptext"' in page and 'id="id_workflow_id_helptext"' in page
    assert 'value="typed-project"' in page
    fragment = client.get(
        f"/o/acme/jobs/new/preflight/?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}",
        headers={"HX-Request": "true"},
    ).content.decode()
    assert fragment.count("Submit anyway: I have read the validation errors") == 1
    assert fragment.count('for="id_confirm_validation_errors"') == 1
    assert 'type="checkbox" name="confirm_validation_errors"' in fragment


def test_the_form_asks_a_constant_number_of_queries_for_2_or_120_workflows(
    client_for, bob, acme_key, django_assert_max_num_queries, django_assert_num_queries
):
    client = client_for(bob)
    few, many = f"{NEW}?project={ids.PROJECT_AGRI}", f"{NEW}?project={ids.PROJECT_ARCHIVE}"
    client.get(few)  # fills the catalog from Pixxel (one bulk write)
    with django_assert_max_num_queries(12) as queries:
        assert client.get(few).status_code == 200
    two_workflows = len(queries)  # taken now: the next request clears the connection's log
    client.get(many)
    with django_assert_num_queries(two_workflows):
        assert client.get(many).status_code == 200


def test_refreshing_the_catalog_writes_in_bulk(
    client_for, bob, acme_key, sandbox, django_assert_max_num_queries
):
    client = client_for(bob)
    with django_assert_max_num_queries(29):  # not one (or two) per workflow
        client.get(f"{NEW}?project={ids.PROJECT_ARCHIVE}&refresh=1")


def test_a_submission_costs_a_fixed_number_of_statements(
    client_for, bob, acme_key, django_assert_max_num_queries
):
    # Issue 15's submission overhead is mostly statements (each a round trip on PostgreSQL): the
    # catalog looked up once, both rate counts in one, nothing read or deleted for a new job.
    client = client_for(bob)
    assert post(client).status_code == 302  # the catalog and the pre-flight cached
    # 26 statements and 4 savepoint statements (SAVEPOINT/RELEASE, 0.1 ms each: the abandonment
    # check's and the first sync's, which may fail alone): the writes share two transactions, see
    # the next test.
    with django_assert_max_num_queries(30):
        assert post(client).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_submission_commits_twice_the_claim_and_then_the_job_with_its_outcome(
    client_for, bob, acme_key, monkeypatch
):
    # A commit waits for the WAL flush (~4 ms on PostgreSQL, 40 times a round trip): the claim
    # with its abandonment check before the call; after it the job, its rollups, the outcome,
    # the audit event and the first sync, together. (The dependency analysis goes to the cache.)
    client = client_for(bob)
    assert post(client).status_code == 302  # the catalog, the pre-flight and the key's use noted
    commits: list[list[str]] = []
    writes: list[str] = []
    real_commit = connection.commit

    def commit():
        commits.append(list(writes))
        writes.clear()
        real_commit()

    def note(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            table = sql.split('"')[1]
            if connection.in_atomic_block:
                writes.append(table)
            else:
                commits.append([table])
        return execute(sql, params, many, context)

    monkeypatch.setattr(connection, "commit", commit)
    with connection.execute_wrapper(note):
        assert post(client).status_code == 302
    ours = [c for c in commits if c and c != ["pixxel_dashboard_cache"]]
    assert len(ours) == 2, ours
    claim, outcome = ours
    assert claim == ["jobs_submission", "django_tasks_database_dbtaskresult"]
    assert {"jobs_job", "jobs_submission", "accounts_auditevent"} <= set(outcome)
    assert outcome.count("django_tasks_database_dbtaskresult") == 1  # the first sync
    assert Submission.objects.filter(outcome="succeeded", job__isnull=False).count() == 2


def test_the_whole_form_works_without_javascript(client_for, bob, acme_key):
    page = (
        client_for(bob)
        .get(f"{NEW}?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}")
        .content.decode()
    )
    assert "<html" in page
    assert f'value="{ids.WF_LINEAR}" selected' in page
    assert "Estimated cost" in page


# --- the happy path ---------------------------------------------------------------------------


def test_submitting_persists_the_job_its_tasks_and_the_submission(
    client_for, bob, acme, acme_key, sandbox
):
    client = client_for(bob)
    response = post(client, estimate_seen=shown(bob, "42"))
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == f"/o/acme/jobs/{job.pixxel_id}/"
    assert sandbox.count("POST", CREATE) == 1

    assert job.organization == acme and job.submitted_by == bob and job.api_key == acme_key
    assert job.workflow_pixxel_id == ids.WF_LINEAR
    assert job.project.pixxel_id == ids.PROJECT_AGRI and job.project.name == "Agricultural Health"
    assert job.workflow.pixxel_id == ids.WF_LINEAR and job.workflow.name
    assert job.status in (Status.QUEUED, Status.RUNNING)
    assert job.status_raw and job.raw["id"] == job.pixxel_id
    assert job.estimated_cost == Decimal("42")  # the estimate the member saw
    assert job.pixxel_created_at is not None

    tasks = list(job.tasks.all())
    assert len(tasks) == len(job.raw["tasks"]) == 5  # the linear workflow's five steps
    first, second = tasks[0], tasks[1]
    assert first.depends_on == [] and second.depends_on == [first.name]
    assert first.block_name and first.block_version
    assert first.pixxel_id == job.raw["tasks"][0]["id"]

    submission = Submission.objects.get()
    assert submission.outcome == Outcome.SUCCEEDED and submission.job == job
    assert submission.http_status == 200 and submission.latency_ms is not None
    assert submission.user == bob and submission.estimated_cost == Decimal("42")
    assert AuditEvent.objects.filter(action="job.submitted", target=job.pixxel_id).exists()


def test_without_a_seen_estimate_the_fresh_one_is_kept(client_for, bob, acme_key):
    post(client_for(bob))
    job = Job.objects.get()
    assert job.estimated_cost is not None and job.estimated_cost > 0


def test_a_typed_project_and_workflow_id_work_too(client_for, bob, acme_key, sandbox):
    response = client_for(bob).post(
        NEW,
        {"project_id": ids.PROJECT_URBAN, "workflow_id": ids.WF_FAILING, "token": uuid.uuid4()},
    )
    assert response.status_code == 302
    assert Job.objects.get().workflow_pixxel_id == ids.WF_FAILING


def test_missing_choices_are_explained_and_nothing_is_sent(client_for, bob, acme_key, sandbox):
    response = client_for(bob).post(NEW, {"token": uuid.uuid4()})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose a project (or type its id)." in page
    assert "Choose a workflow (or type its id)." in page
    assert sandbox.count("POST", CREATE) == 0


def test_a_failed_submission_of_an_unknown_workflow_adds_nothing_to_the_pickers(
    client_for, bob, acme_key, sandbox
):
    client = client_for(bob)
    unknown = str(uuid.uuid4())
    response = post(client, workflow_id=unknown)
    assert response.status_code in (400, 502)
    assert Submission.objects.get().outcome == Outcome.FAILED  # the attempt is still recorded
    # The pickers list what Pixxel lists: the typed id is not offered as a workflow.
    page = client.get(f"{NEW}?project={ids.PROJECT_AGRI}").content.decode()
    assert f'<option value="{unknown}"' not in page
    assert f'<option value="{ids.WF_LINEAR}"' in page


def test_htmx_submission_redirects_the_browser_to_the_job(client_for, bob, acme_key):
    response = client_for(bob).post(NEW, form_data(), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == Job.objects.get().get_absolute_url()


# --- validation errors ---------------------------------------------------------------------------


def test_a_workflow_with_validation_errors_needs_an_explicit_confirmation(
    client_for, bob, acme_key, sandbox
):
    client = client_for(bob)
    data = form_data(workflow=ids.WF_VALIDATION, project=ids.PROJECT_COASTAL)
    response = client.post(NEW, data)
    assert response.status_code == 400
    assert "Tick the box to submit anyway" in response.content.decode()
    assert sandbox.count("POST", CREATE) == 0
    assert not Submission.objects.exists()

    response = client.post(NEW, {**data, "confirm_validation_errors": "on"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == Status.FAILED
    errors = list(JobValidationError.objects.filter(job=job))
    assert errors and all(e.component_name and e.err for e in errors)
    assert {e.from_component for e in errors} and {e.to_component for e in errors}
    assert Submission.objects.get().confirmed_validation_errors is True


# --- failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "status", "says"),
    [
        ("500", "server_error", 500, "Pixxel"),
        ("502-html", "server_error", 502, "Pixxel"),
        ("429", "rate_limited", 429, "Pixxel"),
    ],
)
def test_an_upstream_failure_is_explained_recorded_and_keeps_the_input(
    client_for, bob, acme_key, sandbox, fault, kind, status, says
):
    sandbox.inject(fault, method="POST", path_contains="/jobs")
    response = post(client_for(bob))
    assert response.status_code in (400, 502)
    page = response.content.decode()
    assert "The job was not submitted." in page
    assert says in page
    # The member's choices are still selected.
    assert f'value="{ids.PROJECT_AGRI}" selected' in page
    assert f'value="{ids.WF_LINEAR}" selected' in page
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.FAILED
    assert submission.error_kind == kind and submission.http_status == status
    assert submission.user_message
    assert sandbox.count("POST", CREATE) == 1  # never retried
    assert not Job.objects.exists()


def test_pixxels_error_code_message_and_details_are_shown(client_for, bob, acme_key, sandbox):
    response = client_for(bob).post(
        NEW,
        {"project_id": ids.PROJECT_AGRI, "workflow_id": "no-such-workflow", "token": uuid.uuid4()},
    )
    page = response.content.decode()
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.FAILED and submission.http_status == 400
    assert submission.error_code and submission.error_code in page
    assert submission.error_message in page
    assert 'value="no-such-workflow"' in page  # typed id kept


def test_a_rejected_key_is_explained(client_for, bob, acme, alice, sandbox):
    services.add_key(acme, alice, "Wrong", "not-a-sandbox-key-0000")
    response = post(client_for(bob))
    page = response.content.decode()
    assert "The job was not submitted." in page
    assert "API key" in page
    submission = Submission.objects.get()
    assert submission.http_status == 403 and submission.error_kind == "forbidden"


def test_connection_refused_is_explained(client_for, bob, acme_key, settings):
    settings.PIXXEL_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = post(client_for(bob))
    assert response.status_code == 502
    assert "could not reach" in response.content.decode().lower()
    assert Submission.objects.get().error_kind == "connection"


def test_a_create_that_never_left_is_not_reconciled(client_for, bob, acme_key, sandbox, settings):
    from django_tasks_db.models import DBTaskResult

    from pixxel_dashboard.jobs.submission import reconcile_submission_task

    client = client_for(bob)
    client.get(f"{NEW}?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}")  # pre-flight cached
    settings.PIXXEL_API_BASE_URL = "http://127.0.0.1:9"  # then the create is refused
    response = post(client)
    assert "could not reach" in response.content.decode().lower()
    submission = Submission.objects.get()
    assert submission.error_kind == "connection" and submission.latency_ms is not None
    # The request never left: nothing to look for, now or later.
    assert not DBTaskResult.objects.filter(task_path=reconcile_submission_task.module_path).exists()


def test_a_connection_cut_after_sending_is_reconciled(client_for, bob, acme_key, sandbox):
    from django_tasks_db.models import DBTaskResult

    from pixxel_dashboard.jobs.submission import reconcile_submission_task

    sandbox.inject("reset", method="POST", path_contains="/jobs")  # no job: reset answers first
    response = post(client_for(bob))
    assert "may have been created" in response.content.decode()
    assert Submission.objects.get().error_kind == "connection"
    # It looked, as many times as it may, and found nothing: no job was made.
    assert sandbox.count("GET", CREATE) == RECONCILE_ATTEMPTS
    assert DBTaskResult.objects.filter(task_path=reconcile_submission_task.module_path).exists()


def test_a_late_check_queued_before_the_task_moved_module_still_runs(
    client_for, bob, acme_key, sandbox
):
    import importlib

    from django.apps import apps
    from django_tasks_db.models import DBTaskResult

    from pixxel_dashboard.jobs.submission import reconcile_submission_task

    moved = importlib.import_module("pixxel_dashboard.jobs.migrations.0005_reconcile_task_moved")
    sandbox.inject("reset", method="POST", path_contains="/jobs")
    post(client_for(bob))
    # As queued by the previous release: the worker finds a task by the path stored with it.
    queued = DBTaskResult.objects.get(task_path__endswith=".reconcile_submission_task")
    DBTaskResult.objects.filter(pk=queued.pk).update(task_path=moved.OLD_PATH)
    queued.refresh_from_db()
    with pytest.raises(ImportError):
        _ = queued.task  # the lookup the worker makes
    moved.rename_queued(apps, schema_editor=None)
    queued.refresh_from_db()
    assert queued.task.func is reconcile_submission_task.func


def test_without_a_key_the_attempt_is_recorded_with_what_to_do(client_for, bob, acme):
    response = post(client_for(bob))
    page = response.content.decode()
    assert "has no Pixxel API key yet" in page
    assert Submission.objects.get().error_kind == "no_key"


def test_a_failed_submission_appears_in_the_team_history(client_for, bob, vera, acme_key, sandbox):
    sandbox.inject("500", method="POST", path_contains="/jobs")
    post(client_for(bob))
    page = client_for(vera).get("/o/acme/jobs/?show=failed").content.decode()
    assert "Failed submissions" in page and "HTTP 500" in page and "bob" in page


def test_after_a_failure_the_form_has_a_fresh_token_so_a_retry_is_deliberate(
    client_for, bob, acme_key, sandbox
):
    client = client_for(bob)
    sandbox.inject("500", method="POST", path_contains="/jobs")
    data = form_data()
    page = client.post(NEW, data).content.decode()
    assert data["token"] not in page
    # Replaying the failed POST shows the failure again without calling Pixxel.
    again = client.post(NEW, data).content.decode()
    assert "The job was not submitted." in again
    assert sandbox.count("POST", CREATE) == 1


# --- idempotency and reconciliation ----------------------------------------------------------------


def test_a_replayed_post_shows_the_first_job_and_creates_nothing(
    client_for, bob, acme_key, sandbox
):
    client = client_for(bob)
    data = form_data()
    first = client.post(NEW, data)
    second = client.post(NEW, data, follow=True)
    assert second.redirect_chain[0][0] == first.url
    assert "already submitted" in second.content.decode()
    assert sandbox.count("POST", CREATE) == 1
    assert Job.objects.count() == 1 and Submission.objects.count() == 1


def test_the_database_holds_one_submission_per_token_within_an_organization(acme, globex):
    from django.db import IntegrityError, transaction

    token = uuid.uuid4()
    Submission.objects.create(organization=acme, token=token)
    with pytest.raises(IntegrityError), transaction.atomic():
        Submission.objects.create(organization=acme, token=token)
    # Tokens are per organization: another one's equal token is no conflict.
    Submission.objects.create(organization=globex, token=token)
    assert Submission.objects.filter(token=token).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_with_one_token_create_one_job(bob, acme, alice, sandbox):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    sandbox.inject("slow", method="POST", path_contains="/jobs")  # keep the first one in flight
    data = form_data()
    answers = []

    def submit_once():
        client = Client()
        client.force_login(bob)
        answers.append(client.post(NEW, data))
        connection.close()

    threads = [threading.Thread(target=submit_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [a.status_code for a in answers] == [302, 302]
    job = Job.objects.get()
    assert {a.url for a in answers} == {job.get_absolute_url()}
    assert sandbox.count("POST", CREATE) == 1
    assert Submission.objects.count() == 1


def test_a_timeout_on_create_adopts_the_job_pixxel_made(client_for, bob, acme_key, sandbox):
    sandbox.inject("timeout", method="POST", path_contains="/jobs")
    response = post(client_for(bob))
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.RECONCILED and submission.job == job
    assert sandbox.count("POST", CREATE) == 1
    assert job.tasks.exists()


def test_a_job_created_just_after_the_timeout_is_still_adopted(client_for, bob, acme_key, sandbox):
    # The sandbox sleeps 2.5 s *before* creating: our 2 s read timeout fires first.
    sandbox.server.configure(slow_seconds=2.5)
    sandbox.inject("slow", method="POST", path_contains="/jobs")
    response = post(client_for(bob))
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert Submission.objects.get().outcome == Outcome.RECONCILED
    assert sandbox.count("POST", CREATE) == 1


def test_a_job_created_much_later_is_adopted_by_the_background_check(
    client_for, bob, acme, acme_key, sandbox
):
    from django_tasks_db.models import DBTaskResult

    from pixxel_dashboard.jobs.submission import reconcile_submission_task

    sandbox.server.configure(slow_seconds=4.5)  # after the in-request looks (~2, 3, 4 s)
    sandbox.inject("slow", method="POST", path_contains="/jobs")
    response = post(client_for(bob))
    assert response.status_code == 502
    assert "may have been created" in response.content.decode()
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.FAILED and submission.error_kind == "timeout"
    queued = DBTaskResult.objects.get(task_path=reconcile_submission_task.module_path)
    assert queued.run_after > submission.created_at

    client, _ = services.client_for_organization(acme)
    with client:
        wait_until(lambda: client.list_jobs(ids.WF_LINEAR), what="the slow create to finish")
    reconcile_submission_task.call(submission.pk)
    submission.refresh_from_db()
    assert submission.outcome == Outcome.RECONCILED
    assert submission.job == Job.objects.get()
    assert submission.job.submitted_by == bob
    assert sandbox.count("POST", CREATE) == 1


def test_the_background_check_leaves_a_definite_failure_alone(
    client_for, bob, acme, acme_key, sandbox
):
    from pixxel_dashboard.jobs.submission import reconcile_submission_task

    sandbox.inject("429", method="POST", path_contains="/jobs")  # a definite "not now"
    post(client_for(bob))
    submission = Submission.objects.get()
    # Someone creates a job of the same workflow elsewhere: it is not this submission's.
    client, _ = services.client_for_organization(acme)
    client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)
    reconcile_submission_task.call(submission.pk)
    submission.refresh_from_db()
    assert submission.outcome == Outcome.FAILED and submission.job is None


def test_a_garbled_answer_to_create_still_finds_the_job(client_for, bob, acme_key, sandbox):
    sandbox.inject("malformed-json", method="POST", path_contains="/jobs")
    response = post(client_for(bob), estimate_seen=shown(bob, "7"))
    assert response.status_code == 302
    assert Submission.objects.get().outcome == Outcome.RECONCILED
    assert Job.objects.get().estimated_cost == Decimal("7")


def test_reconciliation_never_adopts_a_job_created_before_the_attempt(
    client_for, bob, acme, acme_key, sandbox
):
    from pixxel_dashboard.jobs.submission import reconcile_submission_task

    # Someone made a job of this workflow an hour ago, outside the dashboard.
    client, _ = services.client_for_organization(acme)
    older = client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)
    sandbox.backdate_job(older.id, 3600)
    # Our create goes unanswered and creates nothing: the older job is all Pixxel lists.
    sandbox.inject("reset", method="POST", path_contains="/jobs")
    response = post(client_for(bob))
    assert "may have been created" in response.content.decode()
    assert sandbox.count("GET", CREATE) == 3  # it looked, three times
    reconcile_submission_task.call(Submission.objects.get().pk)  # and once more, later

    submission = Submission.objects.get()
    assert submission.outcome == Outcome.FAILED and submission.job is None
    assert not Job.objects.exists()


def test_reconciliation_ignores_jobs_already_known(client_for, bob, acme_key, sandbox):
    client = client_for(bob)
    post(client)  # a job of this workflow the dashboard knows
    sandbox.inject("500", method="POST", path_contains="/jobs")
    post(client)
    assert Job.objects.count() == 1
    assert Submission.objects.filter(outcome=Outcome.FAILED).count() == 1


# --- run again --------------------------------------------------------------------------------------


def test_run_again_prefills_the_form_and_links_the_new_job(client_for, bob, acme_key, sandbox):
    client = client_for(bob)
    post(client)
    original = Job.objects.get()
    page = client.get(f"{NEW}?repeat={original.pixxel_id}").content.decode()
    assert "Running again" in page
    assert f'value="{ids.WF_LINEAR}" selected' in page and "Estimated cost" in page
    response = post(client, repeat=original.pixxel_id)
    repeat = Job.objects.exclude(pk=original.pk).get()
    assert response.url == repeat.get_absolute_url()
    assert repeat.repeat_of == original
    assert sandbox.count("POST", CREATE) == 2


def test_run_again_of_another_organizations_job_is_404(client_for, charlie, bob, acme_key):
    post(client_for(bob))
    job = Job.objects.get()
    assert client_for(charlie).get(f"/o/globex/jobs/new/?repeat={job.pixxel_id}").status_code == 404


def test_every_post_needs_the_csrf_token(bob, acme_key, sandbox):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(NEW, form_data()).status_code == 403
    assert sandbox.count("POST", CREATE) == 0


# --- the service and the client's lifetime ----------------------------------------------------------


def order_for(user, **extra):
    from pixxel_dashboard.jobs.submission import Order

    membership = Membership.objects.select_related("organization").get(user=user)
    choice = {"project_id": ids.PROJECT_AGRI, "workflow_id": ids.WF_LINEAR, **extra}
    return Order(membership=membership, user=user, token=uuid.uuid4(), **choice)


def test_the_service_answers_with_a_typed_outcome_and_a_replay_gets_the_same_job(
    bob, acme, acme_key, sandbox
):
    from pixxel_dashboard.jobs.submission import Result, submit

    order = order_for(bob)
    with catalog.Connection(acme) as pixxel:
        first = submit(pixxel, order)
    with catalog.Connection(acme) as pixxel:
        again = submit(pixxel, order)
    assert first.result == Result.CREATED and first.job == Job.objects.get()
    assert again.result == Result.ALREADY_SUBMITTED and again.job == first.job
    assert sandbox.count("POST", CREATE) == 1


def test_the_service_stops_at_unconfirmed_validation_errors_and_records_nothing(
    bob, acme, acme_key, sandbox
):
    from pixxel_dashboard.jobs.submission import Result, submit

    order = order_for(bob, project_id=ids.PROJECT_COASTAL, workflow_id=ids.WF_VALIDATION)
    with catalog.Connection(acme) as pixxel:
        outcome = submit(pixxel, order)
    assert outcome.result == Result.NEEDS_CONFIRMATION and outcome.submission is None
    assert outcome.checks is not None and outcome.checks.val_errors
    assert not Submission.objects.exists() and sandbox.count("POST", CREATE) == 0


def test_asking_to_confirm_validation_errors_keeps_the_forms_token(client_for, bob, acme_key):
    data = form_data(workflow=ids.WF_VALIDATION, project=ids.PROJECT_COASTAL)
    page = client_for(bob).post(NEW, data).content.decode()
    assert "Tick the box to submit anyway" in page
    assert f'value="{data["token"]}"' in page  # nothing was attempted: the same attempt goes on


def test_every_page_of_the_form_closes_the_client_it_opened(
    client_for, bob, acme_key, sandbox, monkeypatch
):
    from pixxel_dashboard.pixxel import PixxelClient

    opened, closed = [], []
    init = PixxelClient.__init__

    def open_(self, *args, **kwargs):
        init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(PixxelClient, "__init__", open_)
    monkeypatch.setattr(PixxelClient, "close", lambda self: closed.append(self))
    client = client_for(bob)
    query = f"?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
    client.get(NEW + query)
    client.get("/o/acme/jobs/new/workflows/" + query, headers={"HX-Request": "true"})
    client.get("/o/acme/jobs/new/preflight/" + query, headers={"HX-Request": "true"})
    client.post(NEW, form_data(action="search"))
    assert post(client).status_code == 302
    # The workflow search, served from the fresh local catalog, opens none.
    assert len(opened) == 4 and {id(c) for c in closed} == {id(c) for c in opened}


def test_a_page_served_from_the_local_catalog_leaves_the_key_alone(client_for, bob, acme_key):
    client = client_for(bob)
    search = f"{NEW}workflows/?project={ids.PROJECT_AGRI}&q=ndvi"
    client.get(NEW)  # lists the projects from Pixxel: the key is used
    client.get(search, headers={"HX-Request": "true"})  # and the project's workflows
    acme_key.refresh_from_db()
    used = acme_key.last_used_at
    for _ in range(2):  # fresh now: no call to Pixxel, no write
        assert "Crop vigour" in client.get(search, headers={"HX-Request": "true"}).content.decode()
        assert client.get(NEW).status_code == 200
    acme_key.refresh_from_db()
    assert acme_key.last_used_at == used


def test_a_replayed_form_never_opens_the_organizations_key(client_for, bob, acme_key):
    client = client_for(bob)
    data = form_data()
    client.post(NEW, data)
    acme_key.refresh_from_db()
    used = acme_key.last_used_at
    assert client.post(NEW, data).status_code == 302
    acme_key.refresh_from_db()
    assert acme_key.last_used_at == used
