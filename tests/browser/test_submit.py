"""A member submits a job in a real browser: pickers, pre-flight, submit, and a failure path."""

import re

import pytest
from playwright.sync_api import Page, expect

from pixxel_dashboard.jobs.models import Job, Submission
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
from tests.plugins.browser import log_in, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CREATE = "/v0/workflows/{workflow_id}/jobs"


@pytest.fixture
def ready(acme, alice, bob, sandbox):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    return sandbox


def test_pick_check_and_submit_a_job(live_server, page: Page, ready):
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    page.get_by_label("Project", exact=True).select_option(label="Coastal Monitoring")
    # htmx fills the workflow picker for the chosen project.
    workflow = page.get_by_label("Workflow", exact=True)
    expect(workflow.locator("option", has_text="Turbidity (draft)")).to_have_count(1)
    wait_for_htmx(page)

    # A workflow with validation errors: the pre-flight panel lists them and asks to confirm.
    workflow.select_option(label="Turbidity (draft)")
    panel = page.locator("#preflight")
    expect(panel).to_contain_text("Estimated cost")
    expect(panel).to_contain_text("validation error")
    expect(panel.get_by_role("table")).to_be_visible()

    # Change to a clean workflow: estimate, no errors.
    workflow.select_option(label="Lagoon water quality")
    expect(panel).to_contain_text("No validation errors.")
    expect(panel).to_contain_text("credits")

    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(re.compile(r"/o/acme/jobs/[0-9a-f-]{36}/$"))
    job = Job.objects.get()
    assert job.workflow_pixxel_id == ids.WF_WATER and job.submitted_by.username == "bob"
    assert ready.count("POST", CREATE) == 1


def test_a_failure_is_explained_and_the_form_stays_filled_in(live_server, page: Page, ready):
    log_in(page, live_server.url, "bob")
    page.goto(
        live_server.url + f"/o/acme/jobs/new/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
    )
    ready.inject("502-html", method="POST", path_contains="/jobs")
    page.get_by_role("button", name="Submit job").click()
    alert = page.locator(".submission-error")
    expect(alert).to_contain_text("The job was not submitted.")
    expect(alert).to_contain_text("502")
    expect(page.get_by_label("Project", exact=True)).to_have_value(ids.PROJECT_AGRI)
    expect(page.get_by_label("Workflow", exact=True)).to_have_value(ids.WF_LINEAR)
    assert Submission.objects.get().outcome == "failed"
    # The member fixes nothing and simply tries again: a new, deliberate attempt succeeds.
    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(re.compile(r"/o/acme/jobs/[0-9a-f-]{36}/$"))
    assert Submission.objects.count() == 2 and Job.objects.count() == 1


def test_the_submit_button_is_disabled_while_the_request_is_in_flight(
    live_server, page: Page, ready
):
    log_in(page, live_server.url, "bob")
    page.goto(
        live_server.url + f"/o/acme/jobs/new/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
    )
    ready.server.configure(slow_seconds=1)  # well inside the 2 s read timeout
    ready.inject("slow", method="POST", path_contains="/jobs")
    button = page.get_by_role("button", name="Submit job")
    button.click()
    expect(button).to_be_disabled()
    expect(page).to_have_url(re.compile(r"/o/acme/jobs/[0-9a-f-]{36}/$"))
    assert ready.count("POST", CREATE) == 1


def test_the_form_with_validation_errors_fits_a_phone(live_server, page: Page, ready):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, "bob")
    page.goto(
        live_server.url
        + f"/o/acme/jobs/new/?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}"
    )
    expect(page.locator("#preflight")).to_contain_text("validation error")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
