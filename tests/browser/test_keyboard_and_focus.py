"""Keyboard only, and where focus goes: the submit flow and the job page driven by keys alone,
focus kept where the person left it while live updates replace the parts of the page around it,
and moved to the error summary when a form comes back with errors."""

import re

import pytest
from django.db.models import F
from playwright.sync_api import Page, expect

from pixxel_dashboard.jobs.models import Job
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
from tests.plugins.browser import log_in, wait_for_htmx
from tests.plugins.jobs import age_claim, finish, mark_synced, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
JOB_URL = re.compile(r"/o/acme/jobs/[0-9a-f-]{36}/$")

# What has focus, said so that the same control re-rendered by a poll reads the same (a link by
# where it goes: a graph box's text says its task's status, which the poll changes).
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "body";
    const href = el.getAttribute("href");
    const text = href ? "" : el.textContent.replace(/\\s+/g, " ").trim().slice(0, 60);
    return [el.localName, el.id, href, text].join("|");
}"""


def focused(page: Page) -> str:
    return page.evaluate(FOCUSED)


def press_tab_until(page: Page, matches, most: int) -> int:
    """Press Tab until the focused element matches (a JS predicate over `el`); the presses."""
    seen = []
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {matches})(document.activeElement)"):
            return presses
        seen.append(focused(page))
    raise AssertionError(f"not reached in {most} Tab presses; focus went {seen}")


def changed_poll(page: Page, sandbox, job, seconds: float, redrawn: str) -> int:
    """Pixxel moves on by `seconds`, and the page's next poll brings the change in (out of band);
    `redrawn`: the id of an element the poll must have replaced."""
    page.evaluate("id => { document.getElementById(id).dataset.old = 'yes'; }", redrawn)
    with page.expect_response(lambda r: "/live/" in r.url and r.status != 204) as answer:
        sandbox.advance(seconds)
        age_claim(job)  # the poll refreshes the job from Pixxel at once
        page.clock.run_for(3_000)
    wait_for_htmx(page)
    assert page.evaluate("id => !document.getElementById(id).dataset.old", redrawn), (
        f"the poll did not replace #{redrawn}"
    )
    return answer.value.status


# Live updates ---------------------------------------------------------------------------------


def test_focus_stays_where_it_was_across_polls_of_a_running_job(
    live_server, page: Page, acme, alice, pixxel, sandbox
):
    sandbox.set_speed(0)  # Pixxel's clock moves only when the test says so
    job = submit(acme, alice, pixxel, ids.WF_FAILING, ids.PROJECT_URBAN)
    mark_synced(job)
    log_in(page, live_server.url, "alice")
    page.clock.install()
    page.goto(live_server.url + job.get_absolute_url())
    header = page.locator("#job-header")
    # What the polite live region says, each time it changes.
    page.evaluate("""() => {
        window.heard = [];
        const region = document.getElementById("job-announce");
        new MutationObserver(() => window.heard.push(region.textContent.trim()))
            .observe(region, {childList: true, characterData: true, subtree: true});
    }""")

    # Run again, in the header every poll replaces.
    run_again = page.get_by_role("link", name="Run again")
    run_again.focus()
    before = focused(page)
    assert changed_poll(page, sandbox, job, 4, "job-header") == 200
    assert focused(page) == before

    # A task's link in a table row the poll replaces.
    row = page.locator("#task-1")
    row.get_by_role("link", name="Scene fetch").focus()
    before = focused(page)
    assert changed_poll(page, sandbox, job, 10, "task-1") == 200
    assert focused(page) == before

    # A box of the dependency graph (a link), redrawn by every poll.
    graph_link = page.locator('#job-graph a:has([data-node="Cloud mask"])')
    graph_link.focus()
    before = focused(page)
    assert changed_poll(page, sandbox, job, 10, "job-graph") == 200
    assert focused(page) == before

    # A task the person opened, with its logs: the failure re-sends the whole task list.
    opened = page.locator("details.task-detail", has_text="Scene fetch").first
    summary = opened.locator(":scope > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(opened).to_contain_text("Inputs")
    opened.locator("details.logs > summary").click()
    summary.focus()
    before = focused(page)
    assert changed_poll(page, sandbox, job, 60, "job-tasks") == 286  # failed: the last poll
    expect(header).to_contain_text("Failed")
    expect(page.locator("#job-tasks")).to_contain_text("Skipped")
    assert focused(page) == before
    assert opened.evaluate("el => el.open") is True
    # Its body loads again (in its own request); the logs the person opened stay open.
    expect(opened.locator("details.logs")).to_have_attribute("open", "")

    # Heard along the way: each change of status once, progress in steps of 10 % at least.
    heard = page.evaluate("window.heard")
    assert heard[-1] == "Job failed." and len(heard) == len(set(heard)), heard
    steps = [int(m.group(1)) for m in map(re.compile(r"running, (\d+)% done").search, heard) if m]
    assert all(b - a >= 10 for a, b in zip(steps, steps[1:], strict=False)), heard


def test_a_focused_link_in_a_live_history_row_keeps_focus(
    live_server, page: Page, acme, alice, pixxel, sandbox
):
    sandbox.set_speed(0)
    job = submit(acme, alice, pixxel)
    Job.objects.filter(pk=job.pk).update(status="running", progress=10)
    log_in(page, live_server.url, "alice")
    page.clock.install()
    page.goto(live_server.url + "/o/acme/jobs/")
    row = page.locator(f"#job-row-{job.pixxel_id}")
    row.get_by_role("link").focus()
    before = focused(page)
    row.evaluate("el => { el.dataset.old = 'yes'; }")

    Job.objects.filter(pk=job.pk).update(progress=60, version=F("version") + 1)
    with page.expect_response(lambda r: "/jobs/live/" in r.url and r.status == 200):
        page.clock.run_for(5_000)
    wait_for_htmx(page)
    expect(row).to_contain_text("60%")
    assert row.evaluate("el => !el.dataset.old"), "the poll did not replace the row"
    assert focused(page) == before


# Keyboard only ---------------------------------------------------------------------------------


@pytest.fixture
def ready(acme, alice, bob, sandbox):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    return sandbox


def test_the_submit_flow_with_the_keyboard_only(live_server, page: Page, ready):
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    press_tab_until(page, "el.id === 'id_project'", most=15)
    page.keyboard.type("Coastal")  # a closed <select> picks the option typed
    expect(page.get_by_label("Project", exact=True)).to_have_value(ids.PROJECT_COASTAL)
    workflow = page.get_by_label("Workflow", exact=True)
    expect(workflow.locator("option", has_text="Lagoon water quality")).to_have_count(1)
    wait_for_htmx(page)

    press_tab_until(page, "el.id === 'id_workflow'", most=5)
    page.keyboard.type("Lagoon")
    expect(workflow).to_have_value(ids.WF_WATER)
    expect(page.locator("#preflight")).to_contain_text("No validation errors.")
    wait_for_htmx(page)

    press_tab_until(page, "el.id === 'submit-job'", most=10)
    page.keyboard.press("Enter")
    expect(page).to_have_url(JOB_URL)
    assert Job.objects.get().workflow_pixxel_id == ids.WF_WATER


def test_the_job_page_with_the_keyboard_only(live_server, page: Page, acme, alice, pixxel, sandbox):
    job = finish(submit(acme, alice, pixxel, ids.WF_FANOUT, ids.PROJECT_COASTAL), sandbox)
    assert job.tasks.count() == 56
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + job.get_absolute_url())

    # Past the graph's 56 links with one skip link, to the log search in a few presses.
    presses = press_tab_until(page, "el.textContent === 'Skip the graph'", most=15)
    skip = page.get_by_role("link", name="Skip the graph").bounding_box()
    graph = page.locator("#job-graph").bounding_box()
    assert skip and graph and 0 < graph["y"] - skip["y"] < 100, (
        "shown where it stands, once focused"
    )
    page.keyboard.press("Enter")
    presses += 1 + press_tab_until(page, "el.id === 'log_q'", most=5)
    assert presses <= 20, presses

    page.keyboard.type("mosaic.tif")
    page.keyboard.press("Enter")
    expect(page.locator("#tasks-heading")).to_contain_text("1 of 56 with log lines matching")

    # A task from the table: its link leads to its details, Enter closes and opens them.
    press_tab_until(page, "el.closest('.tasks-table') && el.localName === 'a'", most=10)
    row = page.evaluate("document.activeElement.closest('tr').id")
    assert page.locator(f"#{row}").get_by_role("link").inner_text() == "Mosaic"
    page.keyboard.press("Enter")
    assert press_tab_until(page, f"el.id === '{row}-summary'", most=3) == 1, (
        "the next Tab after the link is its task's details"
    )
    opened = page.locator(f"#{row}-details")
    expect(opened).to_have_attribute("open", "")  # a log search opens the tasks it found
    page.keyboard.press("Enter")
    expect(opened).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")
    expect(opened).to_have_attribute("open", "")
    expect(opened).to_contain_text("wrote output mosaic.tif")


# The error summary ------------------------------------------------------------------------------


def submit_with_enter(page: Page) -> None:
    page.get_by_role("button", name="Submit job").focus()
    page.keyboard.press("Enter")
    wait_for_htmx(page)


def expect_focus_on_error_summary(page: Page, says: str) -> None:
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(says)


def test_after_an_empty_a_refused_or_a_failed_submission_focus_is_on_the_error_summary(
    live_server, page: Page, ready
):
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + "/o/acme/jobs/new/")
    submit_with_enter(page)  # nothing chosen
    expect_focus_on_error_summary(page, "Choose a project")

    page.goto(
        live_server.url
        + f"/o/acme/jobs/new/?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}"
    )
    submit_with_enter(page)  # validation errors, not confirmed
    expect_focus_on_error_summary(page, "validation errors")
    assert Job.objects.count() == 0

    page.goto(
        live_server.url + f"/o/acme/jobs/new/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
    )
    ready.inject("502-html", method="POST", path_contains="/jobs")
    submit_with_enter(page)  # Pixxel failed
    expect_focus_on_error_summary(page, "The job was not submitted.")
    assert Job.objects.count() == 0


def test_test_connection_keeps_focus_on_its_button_or_moves_it_to_the_error(
    live_server, page: Page, acme, adam, sandbox
):
    services.add_key(acme, adam, "Sandbox", sandbox.new_key())
    log_in(page, live_server.url, "adam")
    page.goto(live_server.url + "/o/acme/settings/keys/")
    button = page.get_by_role("button", name="Test connection")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#test-result")).to_contain_text("the key works")
    wait_for_htmx(page)
    expect(button).to_be_focused()

    services.add_key(acme, adam, "Typo", "refused-by-pixxel-2468")  # replaces the working key
    page.reload()
    button.focus()
    page.keyboard.press("Enter")
    wait_for_htmx(page)
    error = page.locator("#key-test-error")
    expect(error).to_be_focused()
    expect(error).to_contain_text("403")


def test_a_refused_key_puts_focus_on_the_error_summary(live_server, page: Page, adam, sandbox):
    log_in(page, live_server.url, "adam")
    page.goto(live_server.url + "/o/acme/settings/keys/")
    page.get_by_label("Label").fill("Typo")
    page.get_by_label("API key").fill("refused-by-pixxel-2468")
    page.get_by_label("API key").press("Enter")
    expect_focus_on_error_summary(page, "The key was not saved")
