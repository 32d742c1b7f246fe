"""Keyboard only, and where focus goes: the submit flow and the job page driven by keys alone,
focus kept where the person left it while live updates replace the parts of the page around it,
and moved to the error summary when a form comes back with errors."""

import re

import pytest
from playwright.sync_api import Page, expect

from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
from tests.plugins.browser import log_in, wait_for_htmx
from tests.plugins.jobs import age_claim, mark_synced, submit

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
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {matches})(document.activeElement)"):
            return presses
    raise AssertionError(f"not reached in {most} Tab presses; focus is on {focused(page)}")


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
