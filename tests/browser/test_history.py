"""The team history in a real browser: filters and sorts swap the results in place and the address
bar carries the view (a new tab shows the same), back and forward, the pager, the one live poll
for the running rows, keyboard-only filtering, and the plain GET form without JavaScript."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template.defaultfilters import floatformat
from playwright.sync_api import Page, expect

from pixxel_dashboard.jobs.models import Job, Status
from pixxel_dashboard.jobs.sync import sync_job
from tests.plugins.browser import advance, log_in, wait_for_htmx
from tests.plugins.jobs import finish, submit
from tests.plugins.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOBS = "/o/acme/jobs/"


def row_ids(page: Page) -> list[str]:
    """The job ids of the rows the page shows, in order."""
    return page.locator("#history-results tbody tr[id^='job-row-']").evaluate_all(
        "rows => rows.map(row => row.id.slice('job-row-'.length))"
    )


def wait_for_rows(page: Page, expected: list[str]) -> None:
    """Until the page shows exactly these rows, in this order (a restore from the server is
    asynchronous and sets no htmx request class to wait for)."""
    wait_until(lambda: row_ids(page) == expected, what=f"rows {expected}, saw {row_ids(page)}")


def query_of(url: str) -> dict[str, list[str]]:
    """The non-empty values of a URL's query string (a GET form also sends its empty fields)."""
    return parse_qs(urlsplit(url).query)


def controls(page: Page) -> dict:
    """What the filter form says is chosen."""
    form = page.locator("form.history-filters")
    return {
        "statuses": form.locator("input[name=status]:checked").evaluate_all(
            "boxes => boxes.map(box => box.value)"
        ),
        "project": form.get_by_label("Project", exact=True).input_value(),
        "sort": form.get_by_label("Sort").input_value(),
    }


def open_history(page: Page, base: str) -> None:
    page.goto(base + JOBS)
    # Set on the window: a full page load would lose it, a swap in place keeps it.
    page.evaluate("window.notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.notReloaded === true")


def test_filters_and_sort_swap_in_place_and_the_url_opens_the_same_view_in_a_new_tab(
    live_server, page: Page, alice, team
):
    cheap_ok = team.job(minutes_ago=0, status=Status.SUCCEEDED, cost=Decimal("12"))
    dear_failed = team.job(minutes_ago=1, status=Status.FAILED, cost=Decimal("40"))
    unpriced_ok = team.job(minutes_ago=2, status=Status.SUCCEEDED)
    cheap_failed = team.job(minutes_ago=3, status=Status.FAILED, cost=Decimal("7"))
    team.job(minutes_ago=4, status=Status.SUCCEEDED, workflow=team.shore, cost=Decimal("99"))
    team.job(minutes_ago=5, status=Status.QUEUED, cost=Decimal("98"))
    log_in(page, live_server.url, "alice")
    open_history(page, live_server.url)
    assert len(row_ids(page)) == 6

    page.get_by_label("Succeeded").check()
    wait_for_htmx(page)
    page.get_by_label("Failed", exact=True).check()
    wait_for_htmx(page)
    page.get_by_label("Project", exact=True).select_option(label="Farmland")
    wait_for_htmx(page)
    page.get_by_label("Sort").select_option(label="Most credits")
    wait_for_htmx(page)

    expected = [j.pixxel_id for j in (dear_failed, cheap_ok, cheap_failed, unpriced_ok)]
    assert row_ids(page) == expected
    assert not_reloaded(page), "the results must swap in place, not load a new page"
    url = page.url
    assert query_of(url) == {
        "status": ["succeeded", "failed"],
        "project": ["p-agri"],
        "sort": ["-credits"],
    }
    chosen = controls(page)
    assert chosen == {"statuses": ["succeeded", "failed"], "project": "p-agri", "sort": "-credits"}

    # Shared: the URL alone opens the same view, in another tab.
    other = page.context.new_page()
    other.goto(url)
    assert row_ids(other) == expected
    assert controls(other) == chosen
    expect(other.locator(".history-summary")).to_contain_text("4 jobs match the filters")
    other.close()


def test_back_and_forward_walk_through_the_filter_changes(live_server, page: Page, alice, team):
    newest_failed = team.job(minutes_ago=0, status=Status.FAILED)
    team.job(minutes_ago=1, status=Status.SUCCEEDED)
    oldest_failed = team.job(minutes_ago=2, status=Status.FAILED)
    log_in(page, live_server.url, "alice")
    open_history(page, live_server.url)
    everything = row_ids(page)
    assert len(everything) == 3

    page.get_by_label("Failed", exact=True).check()
    wait_for_htmx(page)
    failed_url = page.url
    newest_first = [newest_failed.pixxel_id, oldest_failed.pixxel_id]
    assert row_ids(page) == newest_first
    page.get_by_label("Sort").select_option(label="Oldest first")
    wait_for_htmx(page)
    sorted_url = page.url
    assert row_ids(page) == newest_first[::-1]
    assert query_of(sorted_url) == {"status": ["failed"], "sort": ["created"]}

    page.go_back()
    expect(page).to_have_url(failed_url)
    wait_for_rows(page, newest_first)
    # The form shows the view the URL names: a change now must build on it.
    assert controls(page) == {"statuses": ["failed"], "project": "", "sort": "-created"}

    page.go_forward()
    expect(page).to_have_url(sorted_url)
    wait_for_rows(page, newest_first[::-1])
    assert controls(page) == {"statuses": ["failed"], "project": "", "sort": "created"}

    page.go_back()
    wait_for_rows(page, newest_first)
    page.go_back()
    expect(page).to_have_url(live_server.url + JOBS)
    wait_for_rows(page, everything)
    assert controls(page) == {"statuses": [], "project": "", "sort": "-created"}


def test_the_pager_swaps_older_jobs_in_and_goes_back_to_the_newest(
    live_server, page: Page, alice, team
):
    jobs = team.many(60)  # newest first
    log_in(page, live_server.url, "alice")
    open_history(page, live_server.url)
    first_page = [j.pixxel_id for j in jobs[:50]]
    assert row_ids(page) == first_page

    page.get_by_role("link", name="Older ›").click()
    expect(page).to_have_url(f"{live_server.url}{JOBS}?after={jobs[49].pixxel_id}")
    wait_for_htmx(page)
    assert row_ids(page) == [j.pixxel_id for j in jobs[50:]]
    expect(page.get_by_role("link", name="Older ›")).to_have_count(0)

    page.get_by_role("link", name="« Newest").click()
    expect(page).to_have_url(live_server.url + JOBS)
    wait_for_htmx(page)
    assert row_ids(page) == first_page
    assert not_reloaded(page), "the pager must swap pages in place"


def record_polls(page: Page) -> None:
    """Keep the page's time (its own, movable clock) of each request of the list's live poll."""
    page.evaluate(
        """() => {
            window.pollTimes = [];
            document.addEventListener("htmx:beforeRequest", (event) => {
                if (event.detail.pathInfo.requestPath.includes("/jobs/live/"))
                    window.pollTimes.push(Date.now());
            });
        }"""
    )


def test_running_rows_advance_in_place_with_one_poll_per_interval_until_none_runs(
    live_server, page: Page, acme, alice, pixxel, sandbox, team
):
    job = submit(acme, alice, pixxel)  # the sandbox's linear workflow: 55 s
    sandbox.advance(10)
    sync_job(job, force=True)
    others = [team.job(minutes_ago=m, status=Status.RUNNING, progress=10 * m) for m in (1, 2)]
    team.job(minutes_ago=3, status=Status.SUCCEEDED, progress=100)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/jobs/live/" in r.url else None)
    log_in(page, live_server.url, "alice")
    page.clock.install()  # the page's time is ours to move on: no waiting for poll intervals
    open_history(page, live_server.url)
    record_polls(page)
    row = page.locator(f"#job-row-{job.pixxel_id}")
    before = row.inner_text()

    advance(page, 5)  # one interval: nothing changed (204)
    assert page.evaluate("window.pollTimes.length") == 1
    assert len(sent) == 1
    assert sorted(v.split(".")[0] for v in query_of(sent[0])["job"]) == sorted(
        [job.pixxel_id, *(o.pixxel_id for o in others)]
    ), "the one poll asks for every running row"

    # A worker syncs the job: the next poll brings its row, changed, in place.
    sandbox.advance(20)
    sync_job(job, force=True)
    assert job.progress and job.progress > 0
    advance(page, 5)
    expect(row).to_contain_text(f"{floatformat(job.progress, 0)}%")
    assert row.inner_text() != before

    # Every running row ends: the poll says so, the rows show it, and polling stops.
    finish(job, sandbox)
    for other in others:
        Job.objects.filter(pk=other.pk).update(
            status=Status.SUCCEEDED, progress=100, version=other.version + 1
        )
    advance(page, 5)
    expect(row).to_contain_text("Succeeded")
    for other in others:
        expect(page.locator(f"#job-row-{other.pixxel_id}")).to_contain_text("Succeeded")
    stopped_at = len(sent)
    advance(page, 15)  # three intervals more
    assert len(sent) == stopped_at, "no row runs any more: no more polls"
    assert not_reloaded(page)

    # One request per interval, never one per running row.
    times = page.evaluate("window.pollTimes")
    assert len(times) == len(sent) == 3
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert all(gap >= 4_900 for gap in gaps), gaps


def focused(page: Page) -> str:
    """What has the keyboard focus: tag, and the name or value that tells it apart."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return el ? `${el.tagName.toLowerCase()}:${el.type || ''}:${el.value || el.textContent.trim()}` : '';
        }"""
    )


def tab_to(page: Page, target: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == target:
            return
    raise AssertionError(f"Tab never reached {target}; stopped at {focused(page)}")


def test_keyboard_only_filtering_keeps_the_focus(live_server, page: Page, alice, team):
    failed = team.job(minutes_ago=0, status=Status.FAILED)
    shore_failed = team.job(minutes_ago=1, status=Status.FAILED, workflow=team.shore)
    team.job(minutes_ago=2, status=Status.SUCCEEDED)
    queued = team.job(minutes_ago=3, status=Status.QUEUED)
    log_in(page, live_server.url, "alice")
    open_history(page, live_server.url)

    tab_to(page, "input:checkbox:queued")
    page.keyboard.press("Space")
    wait_for_htmx(page)
    assert row_ids(page) == [queued.pixxel_id]
    assert focused(page) == "input:checkbox:queued"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "input:checkbox:failed"
    page.keyboard.press("Space")
    wait_for_htmx(page)
    assert row_ids(page) == [failed.pixxel_id, shore_failed.pixxel_id, queued.pixxel_id]
    assert focused(page) == "input:checkbox:failed"

    page.keyboard.press("Tab")  # unknown
    page.keyboard.press("Tab")
    assert focused(page) == "input:search:"
    page.keyboard.type("Shoreline")
    tab_to(page, "button:submit:Apply")
    page.keyboard.press("Enter")
    wait_for_htmx(page)
    assert row_ids(page) == [shore_failed.pixxel_id]
    assert query_of(page.url) == {
        "status": ["queued", "failed"],
        "q": ["Shoreline"],
        "sort": ["-created"],
    }
    assert not_reloaded(page)
    # The swap replaced the results only: the button is usable again and keeps the focus.
    expect(page.get_by_role("button", name="Apply")).to_be_enabled()
    assert focused(page) == "button:submit:Apply"
    # The count is read out from the page's own live region (the swapped one would not be).
    expect(page.locator("#history-announce[aria-live=polite]")).to_have_text(
        "1 job matches the filters."
    )


def test_without_javascript_the_filters_are_a_plain_get_form(live_server, browser, alice, team):
    running = team.job(minutes_ago=0, status=Status.RUNNING)
    shore_failed = team.job(minutes_ago=1, status=Status.FAILED, workflow=team.shore)
    team.job(minutes_ago=2, status=Status.FAILED)
    team.job(minutes_ago=3, status=Status.SUCCEEDED, workflow=team.shore)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + JOBS)

    page.get_by_label("Running").check()
    page.get_by_label("Failed", exact=True).check()
    page.get_by_label("Project", exact=True).select_option(label="Coast")
    page.get_by_label("Sort").select_option(label="Oldest first")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()

    assert query_of(page.url) == {
        "status": ["running", "failed"],
        "project": ["p-coast"],
        "sort": ["created"],
    }
    assert row_ids(page) == [shore_failed.pixxel_id]
    assert running.pixxel_id not in page.content()
    assert controls(page) == {
        "statuses": ["running", "failed"],
        "project": "p-coast",
        "sort": "created",
    }
    context.close()


def test_jobs_i_follow_is_a_checkbox_that_swaps_in_place_and_stays_in_the_url(
    live_server, page: Page, alice, bob, team
):
    from pixxel_dashboard.notifications.models import JobFollow

    followed = team.job(minutes_ago=0, submitted_by=bob)
    team.job(minutes_ago=1, submitted_by=bob)
    JobFollow.objects.create(job=followed, user=alice)
    log_in(page, live_server.url, "alice")
    open_history(page, live_server.url)
    assert len(row_ids(page)) == 2

    page.get_by_label("Jobs I follow").check()
    wait_for_htmx(page)
    wait_for_rows(page, [followed.pixxel_id])
    assert not_reloaded(page)
    assert query_of(page.url)["followed_by"] == ["alice"]

    page.get_by_label("Jobs I follow").uncheck()
    wait_for_htmx(page)
    wait_until(lambda: len(row_ids(page)) == 2, what="both jobs again")
    assert "followed_by" not in query_of(page.url)
