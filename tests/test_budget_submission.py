"""The submit form against the project's budget: shown beside the estimate; a job that would cross
it needs an owner's or admin's confirmation (audited); members are refused. Real HTTP against the
Pixxel sandbox (the linear workflow's estimate is 120 credits)."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pixxel_dashboard.accounts.models import AuditEvent, Membership
from pixxel_dashboard.costs import rollups
from pixxel_dashboard.costs.budgets import check_estimate, set_budget
from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.forms import CONFIRM_OVER_BUDGET
from pixxel_dashboard.jobs.models import Job, Status, Submission
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids

NEW = "/o/acme/jobs/new/"
PREFLIGHT = f"/o/acme/jobs/new/preflight/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
CREATE = "/v0/workflows/{workflow_id}/jobs"
ESTIMATE = Decimal("120")
CHECKBOX = "Submit anyway, over the budget"


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Sandbox", sandbox.new_key())


@pytest.fixture
def agri(acme):
    return catalog.ensure_project(acme, ids.PROJECT_AGRI, "Agricultural Health")


def spend(org, project, cost, status=Status.SUCCEEDED, estimate=None):
    """A job of this month in the project's history (straight into the table, then the rollups)."""
    Job.objects.create(
        organization=org,
        project=project,
        pixxel_id=str(uuid.uuid4()),
        workflow_pixxel_id=ids.WF_LINEAR,
        status=status,
        cost=Decimal(cost),
        estimated_cost=None if estimate is None else Decimal(estimate),
    )
    rollups.rebuild(org)


def budget(org, project, credits, actor):
    set_budget(org, project, Decimal(credits), actor)


def form_data(**extra):
    return {
        "project": ids.PROJECT_AGRI,
        "workflow": ids.WF_LINEAR,
        "token": str(uuid.uuid4()),
        **extra,
    }


def overspends():
    return AuditEvent.objects.filter(action="budget.overspend_confirmed")


# --- what the form shows ------------------------------------------------------------------------


def test_the_panel_shows_the_budget_beside_the_estimate(
    client_for, bob, acme, alice, agri, acme_key
):
    budget(acme, agri, "500", alice)
    spend(acme, agri, "100")
    panel = client_for(bob).get(PREFLIGHT, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in panel
    assert "Project budget this month" in panel
    assert "<dt>Budget</dt><dd>500 credits</dd>" in panel
    assert "<dt>Spent this month</dt><dd>100 credits (20 %)</dd>" in panel
    assert "<dt>Balance</dt><dd>400.00 left</dd>" in panel
    assert (
        "Within budget: spent + still to come + this job's estimate = 220 of 500 credits." in panel
    )
    assert CHECKBOX not in panel


def test_a_budget_already_spent_says_by_how_much_never_a_negative_remaining(
    client_for, bob, acme, alice, agri, acme_key
):
    budget(acme, agri, "80", alice)
    spend(acme, agri, "100")
    panel = client_for(bob).get(PREFLIGHT, headers={"HX-Request": "true"}).content.decode()
    assert "<dt>Balance</dt><dd>20.00 over</dd>" in panel
    assert "-20" not in panel


def test_a_job_that_would_cross_says_so_in_words(client_for, alice, acme, agri, acme_key):
    budget(acme, agri, "200", alice)
    spend(acme, agri, "100")
    page = client_for(alice).get(PREFLIGHT).content.decode()  # the whole page, without htmx
    assert "<html" in page
    assert (
        "This job would take the project over its budget:</strong> spent 100 + still to come 0 + "
        "this job's estimate 120 = 220 credits, more than the budget of 200 (over by 20)."
    ) in page
    assert CHECKBOX in page


def test_without_a_budget_nothing_is_shown(client_for, bob, acme, agri, acme_key):
    spend(acme, agri, "100000")
    panel = client_for(bob).get(PREFLIGHT, headers={"HX-Request": "true"}).content.decode()
    assert "Estimated cost" in panel
    assert "budget" not in panel.lower()


def test_running_jobs_still_to_come_count_towards_the_crossing(acme, alice, agri):
    budget(acme, agri, "200", alice)
    assert not check_estimate(acme, ids.PROJECT_AGRI, ESTIMATE).would_cross
    spend(acme, agri, "10", status=Status.RUNNING, estimate="80")  # 70 still to come
    check = check_estimate(acme, ids.PROJECT_AGRI, ESTIMATE)
    assert (check.position.spent, check.position.still_to_come) == (10, 70)
    assert check.after_job == 200 and not check.would_cross  # exactly the budget: not over
    spend(acme, agri, "0.01")
    assert check_estimate(acme, ids.PROJECT_AGRI, ESTIMATE).would_cross


def test_another_organizations_budget_is_not_this_ones(acme, alice, globex, charlie, agri):
    theirs = catalog.ensure_project(globex, ids.PROJECT_AGRI, "Their farmland")
    budget(globex, theirs, "1", charlie)
    assert check_estimate(acme, ids.PROJECT_AGRI, ESTIMATE) is None


def test_the_budget_costs_a_constant_number_of_queries(
    client_for, bob, acme, alice, agri, acme_key, django_assert_num_queries
):
    client = client_for(bob)
    client.get(PREFLIGHT)  # fills the catalog and the pre-flight cache
    with CaptureQueriesContext(connection) as without_budget:
        client.get(PREFLIGHT)
    unbudgeted = len(without_budget)
    budget(acme, agri, "500", alice)
    for _ in range(3):
        spend(acme, agri, "1", status=Status.RUNNING, estimate="5")
    client.get(PREFLIGHT)
    with django_assert_num_queries(unbudgeted + 3):  # the month's rollups, open jobs, budgets
        client.get(PREFLIGHT)


# --- submitting ---------------------------------------------------------------------------------


def test_a_job_within_the_budget_needs_no_confirmation(
    client_for, bob, acme, alice, agri, acme_key, sandbox
):
    budget(acme, agri, "220", alice)
    spend(acme, agri, "100")
    response = client_for(bob).post(NEW, form_data())
    assert response.status_code == 302
    assert sandbox.count("POST", CREATE) == 1
    assert not overspends().exists()


@pytest.mark.parametrize("who", ["alice", "adam"])
def test_crossing_needs_an_owners_or_admins_confirmation_which_is_audited(
    request, client_for, acme, alice, adam, agri, acme_key, sandbox, who
):
    user = request.getfixturevalue(who)
    budget(acme, agri, "200", alice)
    spend(acme, agri, "100")
    client = client_for(user)
    data = form_data()
    response = client.post(NEW, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert CONFIRM_OVER_BUDGET in page
    # Nothing called upstream, nothing recorded; every choice and the same token kept.
    assert sandbox.count("POST", CREATE) == 0
    assert not Submission.objects.exists() and not overspends().exists()
    assert f'value="{ids.PROJECT_AGRI}" selected' in page
    assert f'value="{ids.WF_LINEAR}" selected' in page
    assert data["token"] in page

    response = client.post(NEW, {**data, "confirm_over_budget": "on"})
    assert response.status_code == 302
    assert sandbox.count("POST", CREATE) == 1
    job = Job.objects.exclude(submitted_by=None).get()
    assert job.submitted_by == user
    event = overspends().get()
    assert event.actor == user and event.target == ids.PROJECT_AGRI
    assert event.details == {
        "workflow": ids.WF_LINEAR,
        "estimate": "120",
        "budget": "200.00",
        "spent": "100.00",
        "still_to_come": "0.00",
    }


def test_a_confirmed_job_under_the_budget_is_not_an_overspend(
    client_for, alice, acme, agri, acme_key
):
    budget(acme, agri, "1000", alice)
    response = client_for(alice).post(NEW, form_data(confirm_over_budget="on"))
    assert response.status_code == 302
    assert not overspends().exists()


def test_a_member_is_refused_and_told_who_may_submit_over_the_budget(
    client_for, bob, acme, alice, adam, agri, acme_key, sandbox
):
    budget(acme, agri, "200", alice)
    spend(acme, agri, "100")
    client = client_for(bob)
    panel = client.get(PREFLIGHT, headers={"HX-Request": "true"}).content.decode()
    assert "Only owners and admins may submit a job over the budget." in panel
    assert CHECKBOX not in panel
    # Ticking a box the form never offered changes nothing.
    response = client.post(NEW, form_data(confirm_over_budget="on"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "only owners and admins may submit over the budget" in page
    assert "Ask alice, adam to submit it or to raise the budget." in page
    assert sandbox.count("POST", CREATE) == 0
    # It never reached Pixxel: not a failed submission in the team's history, nor an overspend.
    assert not Submission.objects.exists()
    assert not overspends().exists()


def test_a_number_from_the_browser_cannot_lower_the_estimate_below_the_budget(
    client_for, alice, acme, agri, acme_key, sandbox
):
    budget(acme, agri, "200", alice)
    spend(acme, agri, "100")
    response = client_for(alice).post(NEW, form_data(estimate_seen="1"))
    assert response.status_code == 400
    assert CONFIRM_OVER_BUDGET in response.content.decode()
    assert sandbox.count("POST", CREATE) == 0


def test_the_estimate_kept_is_the_one_the_form_showed(client_for, alice, acme, agri, acme_key):
    budget(acme, agri, "200", alice)
    spend(acme, agri, "100")
    membership = Membership.objects.get(user=alice)
    seen = catalog.sign_estimate(membership, ids.PROJECT_AGRI, ids.WF_LINEAR, Decimal("99"))
    # 100 + 99 is within 200: the signed estimate the member saw is the one checked.
    response = client_for(alice).post(NEW, form_data(estimate_seen=seen))
    assert response.status_code == 302


def test_with_htmx_the_panel_comes_back_with_the_confirmation(
    client_for, alice, acme, agri, acme_key, sandbox
):
    budget(acme, agri, "200", alice)
    spend(acme, agri, "100")
    data = form_data()
    response = client_for(alice).post(NEW, data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    fragment = response.content.decode()
    assert "<html" not in fragment and 'class="submit-form"' in fragment
    assert CONFIRM_OVER_BUDGET in fragment and CHECKBOX in fragment
    assert 'href="#id_confirm_over_budget"' in fragment  # the summary links to the box
    response = client_for(alice).post(
        NEW, {**data, "confirm_over_budget": "on"}, headers={"HX-Request": "true"}
    )
    submitted = Job.objects.exclude(submitted_by=None).get()
    assert response["HX-Redirect"] == submitted.get_absolute_url()


def test_validation_errors_and_the_budget_are_both_asked_at_once(
    client_for, alice, acme, acme_key, sandbox
):
    coastal = catalog.ensure_project(acme, ids.PROJECT_COASTAL, "Coastal Monitoring")
    budget(acme, coastal, "1", alice)
    data = form_data(project=ids.PROJECT_COASTAL, workflow=ids.WF_VALIDATION)
    page = client_for(alice).post(NEW, data).content.decode()
    assert "Tick the box to submit anyway" in page and CONFIRM_OVER_BUDGET in page
    only_one = {**data, "confirm_validation_errors": "on"}
    page = client_for(alice).post(NEW, only_one).content.decode()
    assert CONFIRM_OVER_BUDGET in page and "Tick the box to submit anyway" not in page
    response = client_for(alice).post(NEW, {**only_one, "confirm_over_budget": "on"})
    assert response.status_code == 302
    assert sandbox.count("POST", CREATE) == 1
