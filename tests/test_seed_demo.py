"""`seed_demo`'s sample history: a year of a small team's jobs, which the sandbox knows too."""

import io
import json
import shutil
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.accounts.models import Membership, Organization, Role
from pixxel_dashboard.core.management.commands.seed_demo import DEMO_SANDBOX_KEY
from pixxel_dashboard.core.management.demo_history import PEOPLE
from pixxel_dashboard.costs.models import CostRollup, Grain, ProjectBudget
from pixxel_dashboard.jobs.models import Job, Outcome, Status, Submission, Task
from pixxel_dashboard.jobs.sync import needs_sync
from pixxel_dashboard.pixxel import PixxelClient
from pixxel_dashboard.sandbox import ids, simulation
from pixxel_dashboard.sandbox.server import SandboxServer

pytestmark = pytest.mark.django_db

JOB_ROUTE = "/v0/workflows/{workflow_id}/jobs/{job_id}"


def seed_demo(state=None) -> str:
    out = io.StringIO()
    call_command("seed_demo", *(["--sandbox-state", str(state)] if state else []), stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded_state(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seeded once for the module (a few seconds), removed after it; each test works on it
    inside its own transaction, with its own copy of the state file."""
    state = tmp_path_factory.mktemp("demo") / "sandbox-jobs.jsonl"
    with django_db_blocker.unblock():
        queued_before = set(DBTaskResult.objects.values_list("pk", flat=True))
        seed_demo(state)
    yield state
    with django_db_blocker.unblock():
        # The demo's budgets queue their alert email: not a task for the other modules' tests.
        DBTaskResult.objects.exclude(pk__in=queued_before).delete()
        Organization.objects.filter(slug="demo").delete()
        usernames = ["demo", *(person.username for person in PEOPLE)]
        get_user_model().objects.filter(username__in=usernames).delete()


@pytest.fixture
def state(seeded_state, tmp_path):
    copy = tmp_path / "sandbox-jobs.jsonl"
    shutil.copy(seeded_state, copy)
    return copy


@pytest.fixture
def demo(db, state):
    return Organization.objects.get(slug="demo")


def counts() -> dict[str, int]:
    return {
        "jobs": Job.objects.count(),
        "tasks": Task.objects.count(),
        "submissions": Submission.objects.count(),
        "users": get_user_model().objects.count(),
        "memberships": Membership.objects.count(),
    }


def test_the_demo_organization_has_a_year_of_a_small_teams_jobs(demo):
    jobs = Job.objects.filter(organization=demo)
    assert 250 <= jobs.count() <= 400
    now = timezone.now()
    times = sorted(jobs.values_list("created_at", flat=True))
    assert now - timedelta(days=366) <= times[0] and times[-1] < now - timedelta(hours=2)
    # Spread over the year, the recent half busier than the older half.
    assert len({(t.year, t.month) for t in times}) >= 12
    half = now - timedelta(days=182)
    assert sum(t >= half for t in times) > 1.3 * sum(t < half for t in times)

    team = Membership.objects.filter(organization=demo).exclude(user__username="demo")
    assert team.count() >= 4
    assert {Role.ADMIN, Role.MEMBER, Role.VIEWER} <= set(team.values_list("role", flat=True))
    assert not any(m.user.has_usable_password() for m in team.select_related("user"))
    submitters = jobs.exclude(submitted_by=None).values("submitted_by").distinct().count()
    assert submitters >= 4

    statuses = dict(jobs.values_list("status").annotate(n=Count("id")))
    assert set(statuses) == {Status.SUCCEEDED, Status.FAILED}
    assert statuses[Status.FAILED] >= 20 and statuses[Status.SUCCEEDED] > statuses[Status.FAILED]
    assert all(
        reason
        for reason in jobs.filter(status=Status.FAILED).values_list("failure_reason", flat=True)
    )
    costs = set(jobs.filter(status=Status.SUCCEEDED).values_list("cost", flat=True))
    assert len(costs) >= 5 and min(costs) > 0
    assert jobs.filter(project=None).count() == jobs.filter(workflow=None).count() == 0
    # Terminal and synced: the worker does not fetch three hundred jobs again at start-up.
    assert not any(needs_sync(job) for job in jobs)

    failed = Submission.objects.filter(organization=demo, outcome=Outcome.FAILED)
    assert failed.count() >= 10
    assert len(set(failed.values_list("error_kind", flat=True))) >= 3
    assert all(failed.values_list("user_message", flat=True))
    assert failed.filter(created_at__lt=now - timedelta(days=30)).exists()


def test_the_demo_costs_add_up_and_two_projects_have_budgets(demo):
    # The year's history was dated after it was saved: its cost rollups were rebuilt to match.
    jobs = Job.objects.filter(organization=demo)
    per_month = Counter()
    for created, cost in jobs.values_list("created_at", "cost"):
        per_month[created.date().replace(day=1)] += int(cost * 100)  # the demo's zone is UTC
    rolled = Counter()
    for day, credits in CostRollup.objects.filter(
        organization=demo, grain=Grain.PROJECT
    ).values_list("day", "credits"):
        rolled[day.replace(day=1)] += credits
    assert len(per_month) >= 12 and +rolled == per_month
    budgets = ProjectBudget.objects.filter(organization=demo).select_related("project")
    assert {b.project.pixxel_id for b in budgets} == {ids.PROJECT_AGRI, ids.PROJECT_COASTAL}
    assert all(b.monthly_credits > 0 for b in budgets)


def test_running_it_again_adds_nothing(demo, state):
    before, lines = counts(), state.read_text()
    assert len(lines.splitlines()) == Job.objects.count()

    output = seed_demo(state)

    assert counts() == before
    assert state.read_text() == lines
    assert "Seeded" not in output


def test_a_fresh_state_file_gets_the_stored_jobs_again(demo, state):
    lines = set(state.read_text().splitlines())
    state.unlink()

    output = seed_demo(state)

    assert set(state.read_text().splitlines()) == lines
    assert f"{len(lines)} jobs" in output and Job.objects.count() == len(lines)


def test_an_older_line_for_a_seeded_job_is_superseded_by_the_stored_one(demo, state):
    # A state file left from another database: the same ids, other times. The last line wins.
    stale = json.loads(state.read_text().splitlines()[0]) | {"created_at": 1_700_000_000}
    state.write_text(json.dumps(stale) + "\n")
    seed_demo(state)
    sim = simulation.Simulation(state_path=state)
    job = Job.objects.get(pixxel_id=stale["id"])
    view = sim.get_job(stale["world"], stale["workflow_id"], stale["id"])
    assert view is not None and view["created_at"] == job.pixxel_created_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_without_a_state_file_no_history_is_seeded_and_it_says_so(demo):
    demo.delete()  # a first `seed_demo` (undone with this test's transaction)
    output = seed_demo()
    assert "No sample history seeded" in output
    assert Job.objects.count() == Submission.objects.count() == 0


@pytest.fixture
def demo_sandbox(demo, state, settings):
    """The sandbox as `make run` starts it: after seed_demo, on the same state file."""
    server = SandboxServer(port=0, state_file=str(state)).start()
    settings.PIXXEL_API_BASE_URL = server.base_url
    yield server
    server.stop()


def test_the_sandbox_on_the_state_file_answers_for_seeded_jobs_as_the_dashboard_stored_them(
    demo, demo_sandbox
):
    jobs = Job.objects.filter(organization=demo)
    picked = [
        jobs.filter(workflow_pixxel_id=ids.WF_EXPENSIVE).first(),  # succeeded, 5,000 credits
        jobs.filter(workflow_pixxel_id=ids.WF_FAILING).first(),  # a task failed
        jobs.filter(workflow_pixxel_id=ids.WF_VALIDATION).first(),  # rejected at once
        jobs.earliest("created_at"),
    ]
    with PixxelClient(DEMO_SANDBOX_KEY) as pixxel:
        for job in picked:
            assert job is not None
            answer = pixxel.get_job(job.workflow_pixxel_id, job.pixxel_id)
            assert (answer.status, answer.cost) == (job.status, job.cost)
            assert (answer.created_at, answer.finished_at) == (
                job.pixxel_created_at,
                job.finished_at,
            )
            stored = list(job.tasks.values_list("name", "status"))
            assert [(t.name, t.status) for t in answer.tasks] == stored
    assert picked[0].cost == 5000 and picked[1].status == Status.FAILED


def test_a_seeded_jobs_page_shows_its_tasks_and_its_results_download_from_the_sandbox(
    client, demo, demo_sandbox
):
    job = Job.objects.filter(organization=demo, workflow_pixxel_id=ids.WF_LINEAR).first()
    assert job is not None and job.status == Status.SUCCEEDED
    client.force_login(get_user_model().objects.get(username="demo"))

    page = client.get(job.get_absolute_url())

    assert page.status_code == 200
    html = page.content.decode()
    assert all(name in html for name in job.tasks.values_list("name", flat=True))
    assert job.tasks.count() == 5
    # Synced already: the page did not need to ask the sandbox.
    assert demo_sandbox.stats()["by_route"].get(f"GET {JOB_ROUTE}", 0) == 0

    download = client.post(job.get_absolute_url() + "download/")
    assert download.status_code == 200 and "/_sandbox/files/" in download.content.decode()

    again = client.get(f"/o/demo/jobs/new/?repeat={job.pixxel_id}").content.decode()
    assert "Running again" in again and f'value="{ids.WF_LINEAR}" selected' in again
