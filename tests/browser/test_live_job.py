"""A running job's page updates by itself in a real browser, stops polling at the end, downloads."""

import pytest
from playwright.sync_api import Page, expect

from pixxel_dashboard.jobs.models import Job
from tests.plugins.browser import advance, count_polls, is_poll, log_in, polls_sent
from tests.plugins.jobs import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_running_job_updates_live_stops_polling_and_downloads(
    live_server, page: Page, acme, alice, pixxel, sandbox
):
    sandbox.set_speed(6)  # the 55 s linear workflow finishes in about 9 s
    job = submit(acme, alice, pixxel)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    log_in(page, live_server.url, "alice")
    page.clock.install()  # runs with real time; the test moves it on once polling has stopped
    page.goto(live_server.url + job.get_absolute_url())
    page.evaluate("window.notReloaded = true")
    count_polls(page)

    # Progress advances without a reload...
    expect(page.locator("#job-header")).to_contain_text("Running", timeout=15_000)
    first = int(page.locator("#job-header progress").get_attribute("value"))
    expect(page.locator("#job-header")).to_contain_text("Succeeded", timeout=25_000)
    assert int(page.locator("#job-header progress").get_attribute("value")) == 100 > first
    expect(page.locator("#job-tasks")).to_contain_text("Export GeoTIFF")
    expect(page.locator("#job-announce")).to_contain_text("Job succeeded")
    assert page.evaluate("window.notReloaded") is True

    # ...and polling stops with the terminal answer.
    assert page.locator("[data-job-poll]").count() == 0
    stopped_at = polls_sent(page)
    assert stopped_at, "the page never polled"
    advance(page, 10)  # three poll intervals and more
    assert polls_sent(page) == stopped_at
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

    # Download results: the job's package from its signed URL.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download results").click()
    download = download_info.value
    assert download.suggested_filename == f"job-{job.pixxel_id}.json"
    assert Job.objects.get(pk=job.pk).status == "succeeded"


def test_on_a_phone_a_wide_graph_opens_centred_on_its_first_task(
    live_server, page: Page, acme, alice, pixxel
):
    from pixxel_dashboard.sandbox.ids import PROJECT_COASTAL, WF_FANOUT

    job = submit(acme, alice, pixxel, WF_FANOUT, PROJECT_COASTAL)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + job.get_absolute_url())
    first = page.locator('#job-graph [data-node="Scene fetch"] rect')
    box = first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_polling_pauses_while_the_tab_is_hidden_and_resumes_at_once(
    live_server, page: Page, acme, alice, pixxel
):
    from pixxel_dashboard.sandbox.ids import PROJECT_URBAN, WF_SLOW

    job = submit(acme, alice, pixxel, WF_SLOW, PROJECT_URBAN)  # runs for most of an hour
    log_in(page, live_server.url, "alice")
    page.clock.install()  # the poll interval passes when the test says so
    page.goto(live_server.url + job.get_absolute_url())
    count_polls(page)
    with page.expect_request(is_poll):  # a visible page polls
        page.clock.run_for(3_000)

    def set_hidden(hidden: bool):
        page.evaluate(
            """hidden => {
                Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
                Object.defineProperty(document, "visibilityState",
                    {configurable: true, get: () => hidden ? "hidden" : "visible"});
                document.dispatchEvent(new Event("visibilitychange"));
            }""",
            hidden,
        )

    set_hidden(True)
    before = polls_sent(page)
    advance(page, 7)  # two poll intervals and more
    assert polls_sent(page) == before, "a hidden tab must not poll"

    # Coming back polls at once (within a second), not after the interval.
    with page.expect_request(is_poll, timeout=1_000):
        set_hidden(False)


def test_the_browser_keeps_the_poll_pass_for_the_jobs_poll_alone(
    live_server, page: Page, acme, alice, pixxel
):
    from pixxel_dashboard.jobs import poll_pass
    from pixxel_dashboard.sandbox.ids import PROJECT_URBAN, WF_SLOW

    job = submit(acme, alice, pixxel, WF_SLOW, PROJECT_URBAN)  # runs for most of an hour
    log_in(page, live_server.url, "alice")
    page.clock.install()
    page.goto(live_server.url + job.get_absolute_url())
    passes = [c for c in page.context.cookies() if c["name"] == poll_pass.COOKIE_NAME]
    assert len(passes) == 1
    assert passes[0]["path"] == poll_pass.poll_path("acme", job.pixxel_id)
    assert passes[0]["httpOnly"] is True
    # The poll carries it (and finds nothing new); the page itself does not.
    with page.expect_response(is_poll) as polled:
        page.clock.run_for(3_000)
    assert polled.value.status == 204
    assert "poll_pass=" in (polled.value.request.header_value("cookie") or "")
    with page.expect_request(lambda r: r.url.endswith(job.get_absolute_url())) as reloaded:
        page.reload()
    assert "poll_pass=" not in (reloaded.value.header_value("cookie") or "")
