"""The submit form's Search and Refresh lists buttons, with and without JavaScript, and the panel
while a submission is in flight."""

import re

import pytest
from playwright.sync_api import Page, expect

from pixxel_dashboard.jobs.models import Job
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
from tests.plugins.browser import log_in, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CREATE = "/v0/workflows/{workflow_id}/jobs"
JOB_URL = re.compile(r"/o/acme/jobs/[0-9a-f-]{36}/$")


@pytest.fixture
def ready(acme, alice, bob, sandbox):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    return sandbox


def record_urls(page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def assert_no_token_in(urls: list[str]) -> None:
    leaked = [u for u in urls if "csrfmiddlewaretoken" in u or "token=" in u]
    assert not leaked, f"a token went into a URL: {leaked}"


def assert_form_whole(page, project: str, workflow: str) -> None:
    """One form, the project and workflow still chosen, the pre-flight panel and Submit there."""
    expect(page.locator("form.submit-form")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_label("Project", exact=True)).to_have_value(project)
    expect(page.get_by_label("Workflow", exact=True)).to_have_value(workflow)
    expect(page.locator("#preflight")).to_contain_text("Estimated cost")
    expect(page.get_by_role("button", name="Submit job")).to_be_visible()


def test_search_and_refresh_swap_only_their_part_with_javascript(live_server, page: Page, ready):
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    urls = record_urls(page)
    page.get_by_label("Project", exact=True).select_option(label="Coastal Monitoring")
    workflow = page.get_by_label("Workflow", exact=True)
    expect(workflow.locator("option", has_text="Lagoon water quality")).to_have_count(1)
    wait_for_htmx(page)
    workflow.select_option(label="Lagoon water quality")
    expect(page.locator("#preflight")).to_contain_text("No validation errors.")
    wait_for_htmx(page)
    page.evaluate("window.notReloaded = true")

    page.get_by_role("searchbox").fill("shore")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(workflow.locator("option", has_text="Hyperspectral shoreline survey")).to_have_count(1)
    expect(workflow.locator("option", has_text="Coastline tiles")).to_have_count(0)
    wait_for_htmx(page)
    assert_form_whole(page, ids.PROJECT_COASTAL, ids.WF_WATER)  # the choice survives the filter

    before = ready.count("GET", "/v0/projects")
    page.get_by_role("button", name="Refresh lists").click()
    wait_for_htmx(page)
    assert ready.count("GET", "/v0/projects") == before + 1
    assert_form_whole(page, ids.PROJECT_COASTAL, ids.WF_WATER)
    expect(page.get_by_role("searchbox")).to_have_value("shore")
    assert page.evaluate("window.notReloaded") is True
    assert_no_token_in(urls)

    # Enter in the search box updates the lists; it never submits the job.
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("searchbox").press("Enter")
    assert answer.value.headers.get("hx-retarget") == "#pickers"
    wait_for_htmx(page)
    assert_form_whole(page, ids.PROJECT_COASTAL, ids.WF_WATER)
    assert ready.count("POST", CREATE) == 0 and not Job.objects.exists()

    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(JOB_URL)
    assert Job.objects.get().workflow_pixxel_id == ids.WF_WATER
    assert ready.count("POST", CREATE) == 1


def test_search_and_refresh_keep_every_choice_without_javascript(live_server, browser, ready):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    urls = record_urls(page)
    page.get_by_label("Project", exact=True).select_option(label="Coastal Monitoring")
    page.get_by_role("button", name="Show workflows").click()
    page.get_by_label("Workflow", exact=True).select_option(label="Lagoon water quality")
    page.get_by_role("button", name="Check workflow").click()
    assert_form_whole(page, ids.PROJECT_COASTAL, ids.WF_WATER)

    page.get_by_role("searchbox").fill("shore")
    page.get_by_role("button", name="Search", exact=True).click()
    assert_form_whole(page, ids.PROJECT_COASTAL, ids.WF_WATER)
    workflow = page.get_by_label("Workflow", exact=True)
    expect(workflow.locator("option", has_text="Coastline tiles")).to_have_count(0)

    page.get_by_role("button", name="Refresh lists").click()
    assert_form_whole(page, ids.PROJECT_COASTAL, ids.WF_WATER)
    expect(page.get_by_role("searchbox")).to_have_value("shore")
    assert_no_token_in(urls + [page.url])
    assert ready.count("POST", CREATE) == 0

    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(JOB_URL)
    assert Job.objects.get().workflow_pixxel_id == ids.WF_WATER
    context.close()


def test_while_submitting_the_panel_counts_and_every_button_waits(
    live_server, page: Page, ready, settings
):
    settings.PIXXEL_READ_TIMEOUT = 10  # Pixxel takes its time, within the timeout
    log_in(page, live_server.url, "bob")
    page.goto(
        live_server.url + f"/o/acme/jobs/new/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
    )
    expect(page.locator("#preflight")).to_contain_text("Estimated cost")
    ready.server.configure(slow_seconds=2.5)
    ready.inject("slow", method="POST", path_contains="/jobs")
    progress = page.locator("#submit-progress")
    expect(progress).to_be_hidden()

    page.get_by_role("button", name="Submit job").click()
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("Submitting to Pixxel…")
    for name in ("Submit job", "Refresh lists", "Search"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_disabled()
    expect(progress).to_contain_text(re.compile(r"\b[12] s\b"))  # the seconds go by

    expect(page).to_have_url(JOB_URL, timeout=10_000)
    assert ready.count("POST", CREATE) == 1
