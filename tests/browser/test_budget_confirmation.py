"""Submitting over a project's budget in a real browser: the panel says so beside the estimate, an
owner confirms (with and without JavaScript), a member is refused."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from pixxel_dashboard.accounts.models import AuditEvent
from pixxel_dashboard.costs.budgets import set_budget
from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.models import Job
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
from tests.plugins.browser import log_in, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CREATE = "/v0/workflows/{workflow_id}/jobs"
JOB_URL = re.compile(r"/o/acme/jobs/[0-9a-f-]{36}/$")
CHECKBOX = "Submit anyway, over the budget"


@pytest.fixture
def over_budget(acme, alice, bob, sandbox):
    """Agricultural Health with a 100-credit budget: the linear workflow's 120 would cross it."""
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    agri = catalog.ensure_project(acme, ids.PROJECT_AGRI, "Agricultural Health")
    set_budget(acme, agri, Decimal("100"), alice)
    return sandbox


def choose_the_linear_workflow(page: Page) -> None:
    page.get_by_label("Project", exact=True).select_option(label="Agricultural Health")
    workflow = page.get_by_label("Workflow", exact=True)
    expect(workflow.locator(f'option[value="{ids.WF_LINEAR}"]')).to_have_count(1)
    wait_for_htmx(page)
    workflow.select_option(value=ids.WF_LINEAR)


def test_an_owner_confirms_an_overspend_with_htmx(live_server, page: Page, over_budget):
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    choose_the_linear_workflow(page)
    panel = page.locator("#preflight")
    expect(panel).to_contain_text("Estimated cost")
    expect(panel.locator(".budget-check")).to_contain_text("Budget100 credits")
    expect(panel).to_contain_text("This job would take the project over its budget")
    page.evaluate("window.notReloaded = true")

    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("#error-summary")).to_contain_text("Tick “Submit anyway, over the budget”")
    expect(page.locator("#error-summary")).to_be_focused()
    assert page.evaluate("window.notReloaded") is True  # the panel was swapped, not the page
    assert over_budget.count("POST", CREATE) == 0
    expect(page.get_by_label("Workflow", exact=True)).to_have_value(ids.WF_LINEAR)

    page.get_by_label(CHECKBOX).check()
    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(JOB_URL)
    assert over_budget.count("POST", CREATE) == 1
    assert AuditEvent.objects.filter(action="budget.overspend_confirmed").count() == 1


def test_an_owner_confirms_an_overspend_without_javascript(live_server, browser, over_budget):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    page.get_by_label("Project", exact=True).select_option(label="Agricultural Health")
    page.get_by_role("button", name="Show workflows").click()
    page.get_by_label("Workflow", exact=True).select_option(value=ids.WF_LINEAR)
    page.get_by_role("button", name="Check workflow").click()
    expect(page.locator("#preflight")).to_contain_text("over its budget")

    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("#error-summary")).to_contain_text("Tick “Submit anyway, over the budget”")
    page.get_by_label(CHECKBOX).check()
    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(JOB_URL)
    assert Job.objects.get().submitted_by.username == "alice"
    context.close()


def test_a_member_is_refused_with_who_may_submit_it(live_server, page: Page, over_budget):
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    choose_the_linear_workflow(page)
    panel = page.locator("#preflight")
    expect(panel).to_contain_text("Only owners and admins may submit a job over the budget.")
    expect(page.get_by_label(CHECKBOX)).to_have_count(0)

    page.get_by_role("button", name="Submit job").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Ask alice to submit it or to raise the budget.")
    assert over_budget.count("POST", CREATE) == 0
    assert not Job.objects.exists()
