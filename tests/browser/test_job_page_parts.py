"""The job page's parts in a real browser: a task opens on demand, polls update single rows out
of band (the rest of the page, and what the person opened, stay as they were), and "Updated from
Pixxel N ago" keeps counting while nothing changes."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from pixxel_dashboard.jobs.models import Job
from tests.plugins.browser import log_in, wait_for_htmx
from tests.plugins.jobs import finish, mark_synced, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_task_opens_on_demand(live_server, page: Page, acme, alice, pixxel, sandbox):
    job = finish(submit(acme, alice, pixxel), sandbox)
    task = job.tasks.get(name="NDVI")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/tasks/" in r.url else None)
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + job.get_absolute_url())
    details = page.locator("details.task-detail", has_text="NDVI").first
    expect(details).not_to_contain_text("pixels_processed")
    assert fetched == [], "nothing is loaded before a task is opened"

    details.locator(":scope > summary").click()
    expect(details).to_contain_text("pixels_processed", timeout=5_000)
    expect(details.get_by_role("button", name="Download NDVI output")).to_be_visible()
    assert [u for u in fetched if u.endswith(f"/tasks/{task.pixxel_id}/")] == [fetched[0]]
    # Closing and reopening does not fetch again.
    details.locator(":scope > summary").click()
    details.locator(":scope > summary").click()
    wait_for_htmx(page)
    assert len(fetched) == 1


def test_without_javascript_a_task_is_its_own_page(
    live_server, browser, acme, alice, pixxel, sandbox
):
    job = finish(submit(acme, alice, pixxel), sandbox)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + job.get_absolute_url())
    details = page.locator("details.task-detail", has_text="NDVI").first
    details.locator(":scope > summary").click()
    details.get_by_role("link", name=re.compile("Open NDVI")).click()
    expect(page.get_by_role("heading", name="Task NDVI")).to_be_visible()
    expect(page.locator("main")).to_contain_text("pixels_processed")
    context.close()


def test_polls_update_single_rows_and_leave_the_rest_alone(
    live_server, page: Page, acme, alice, pixxel, sandbox
):
    sandbox.set_speed(6)  # the 55 s linear workflow finishes in about 9 s
    job = submit(acme, alice, pixxel)
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + job.get_absolute_url())
    # Mark the task list and open a task: a poll that re-sent the list would lose both.
    page.evaluate("document.getElementById('job-tasks').dataset.mark = 'kept'")
    export = page.locator("details.task-detail", has_text="Export GeoTIFF").first
    export.locator(":scope > summary").click()
    expect(export).to_contain_text("Inputs")
    first_row = page.locator("#task-1")
    expect(first_row).to_contain_text("Succeeded", timeout=15_000)
    expect(page.locator("#task-5")).to_contain_text("Succeeded", timeout=25_000)
    expect(page.locator("#job-header")).to_contain_text("Succeeded")
    assert page.evaluate("document.getElementById('job-tasks').dataset.mark") == "kept"
    assert export.evaluate("el => el.open") is True
    ids = page.locator(".tasks-table > tbody > tr").evaluate_all("rows => rows.map(r => r.id)")
    assert ids == [f"task-{n}" for n in range(1, 6)]
    assert Job.objects.get(pk=job.pk).status == "succeeded"


def test_updated_from_pixxel_keeps_counting_while_nothing_changes(
    live_server, page: Page, acme, alice, pixxel, sandbox
):
    sandbox.set_speed(0)  # Pixxel's clock stands still: every poll finds nothing new (204)
    job = submit(acme, alice, pixxel)
    mark_synced(job)
    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status) if "/live/" in r.url else None)
    log_in(page, live_server.url, "alice")
    # The page's clock is ours to move: seconds pass in the page without waiting for them.
    page.clock.install()
    page.goto(live_server.url + job.get_absolute_url())
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=2))
    page.clock.run_for(1_000)  # the words are re-worded once a second
    ago = page.locator("#job-sync time[data-ago]")

    def seconds() -> int:
        text = ago.inner_text()
        match = re.fullmatch(r"(?:(\d+)m)?(\d+)s ago", text)
        assert match, text
        return int(match.group(1) or 0) * 60 + int(match.group(2))

    first = seconds()
    with page.expect_response(lambda r: "/live/" in r.url):  # a poll falls within these seconds
        page.clock.run_for(4_000)
    assert seconds() == first + 4
    assert polls and set(polls) == {204}, polls
