"""The live job page: header, tasks, graph, timeline, its poll, downloads and logs."""

import re

from pixxel_dashboard.jobs.models import Job, Task
from pixxel_dashboard.jobs.sync import UNKNOWN_STATUS_INTERVAL, sync_interval, sync_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox.ids import (
    PROJECT_AGRI,
    PROJECT_COASTAL,
    PROJECT_URBAN,
    WF_FAILING,
    WF_FANOUT,
    WF_LINEAR,
    WF_VALIDATION,
)
from tests.plugins.jobs import (
    age_claim,
    finish,
    mark_synced,
    page_poll_url,
    poll_url,
    submit,
    token,
)


def test_it_shows_status_progress_cost_eta_and_times_of_a_running_job(
    acme, alice, client_for, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    sandbox.advance(20)
    sync_job(job, force=True)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert "▶</span> Running" in body
    assert re.search(r'<progress max="100" value="\d+"', body)
    assert "credits so far" in body and "estimate 125 credits" in body
    assert "left" in body  # the ETA
    assert "alice" in body
    assert f"/o/acme/jobs/?workflow={WF_LINEAR}" in body
    assert f"/o/acme/jobs/new/?repeat={job.pixxel_id}" in body
    assert "Download results" not in body  # only once it succeeded
    assert "hx-get=" in body and 'hx-trigger="every 3s' in body


def test_it_lists_tasks_in_dependency_order(acme, alice, client_for, pixxel, sandbox):
    job = submit(acme, alice, pixxel, WF_FANOUT, PROJECT_COASTAL)
    # Shuffle Pixxel's order: the page must still put each task after what it depends on.
    Task.objects.filter(job=job, name="Mosaic").update(position=0)
    Task.objects.filter(job=job, name="Scene fetch").update(position=99)
    mark_synced(job)
    c = client_for(alice)
    rows = []
    for p in (1, 2, 3):  # the table pages (25 rows a page); numbers run on across pages
        body = c.get(job.get_absolute_url(), {"p": p}).content.decode()
        rows += re.findall(r'<th scope="row"><a href="#task-\d+-details">([^<]+)</a>', body)
    assert len(rows) == 56 == len(set(rows))
    assert rows[:3] == ["Scene fetch", "Tiling", "Tile 001"]
    assert rows[-2:] == ["Mosaic", "Export GeoTIFF"]
    assert '<tr id="task-56"' in body and "Page 3 of 3" in body


def test_a_succeeded_job_offers_downloads_and_shows_readable_results(
    acme, alice, client_for, pixxel, sandbox
):
    job = finish(submit(acme, alice, pixxel), sandbox)
    c = client_for(alice)
    body = c.get(job.get_absolute_url()).content.decode()
    assert "✔</span> Succeeded" in body
    assert "Download results" in body
    assert "data-job-poll" not in body  # nothing left to poll
    # Each task opens on demand: the page links its own URL, which has the inputs and result.
    assert "pixels_processed" not in body
    task = job.tasks.get(name="NDVI")
    task_url = job.get_absolute_url() + f"tasks/{task.pixxel_id}/"
    assert f'hx-get="{task_url}"' in body and f'<a href="{task_url}">' in body
    page = c.get(task_url).content.decode()
    assert "<html" in page and "Task NDVI" in page
    assert "pixels_processed" in page and "atmospheric_correction_output" in page  # data tables
    assert page.count("output</button>") == 1
    fragment = c.get(task_url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and "pixels_processed" in fragment


def test_a_failing_workflow_shows_failure_type_and_error_prominently(
    acme, alice, client_for, pixxel, sandbox
):
    job = finish(submit(acme, alice, pixxel, WF_FAILING, PROJECT_URBAN), sandbox)
    assert job.status == "failed"
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert "✖</span> Failed" in body
    assert "runtime_exception" in body
    assert "aerosol optical thickness lookup failed" in body
    assert 'class="message message-error failure"' in body
    assert "skipped: upstream task" in body
    assert "Download results" not in body


def test_a_poll_after_a_failure_updates_the_rows_that_became_skipped(acme, alice, client_for):
    # "b" waits for "a"; "c" runs beside them. When "a" fails the job runs on, and b's own answer
    # from Pixxel does not change, but its row does (Queued → Skipped): the poll must say so.
    from pixxel_dashboard.jobs.persist import save_job
    from pixxel_dashboard.pixxel.parsing import parse_job

    def answer(a_status, updated):
        return parse_job(
            {
                "id": "job-branches",
                "workflow_id": "wf-branches",
                "status": "running",
                "updated_at": updated,
                "tasks": [
                    {"id": "a", "name": "a", "status": a_status, "depends_on": []},
                    {"id": "b", "name": "b", "status": "queued", "depends_on": ["a"]},
                    {"id": "c", "name": "c", "status": "inprogress", "depends_on": []},
                ],
            }
        )

    job, _ = save_job(acme, answer("inprogress", "2026-01-01T10:00:00Z"), submitted_by=alice)
    mark_synced(job)
    c = client_for(alice)
    poll = page_poll_url(c.get(job.get_absolute_url()).content.decode())
    save_job(acme, answer("failed", "2026-01-01T10:01:00Z"))
    mark_synced(job)
    body = c.get(poll, headers={"HX-Request": "true"}).content.decode()
    rows = re.findall(
        r'<th scope="row"><a href="#task-\d+-details">([^<]+)</a>.*?<span class="status '
        r'job-st-\w+"><span aria-hidden="true">.</span> (\w+)</span>',
        body,
        re.S,
    )
    assert dict(rows) == {"a": "Failed", "b": "Skipped", "c": "Running"}


def test_tasks_that_will_never_run_say_skipped_in_graph_table_and_timeline(
    acme, alice, client_for, pixxel, sandbox
):
    # Atmospheric correction fails: Band math and Export GeoTIFF, still "queued" at Pixxel, will
    # never run. One word for them everywhere (the graph and table said Queued, the timeline
    # "skipped").
    job = finish(submit(acme, alice, pixxel, WF_FAILING, PROJECT_URBAN), sandbox)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    nodes = re.findall(r'<g class="node node-(\w+)" data-node="([^"]+)"', body)
    graph = {name: status for status, name in nodes}
    assert graph == {
        "Scene fetch": "succeeded",
        "Cloud mask": "succeeded",
        "Atmospheric correction": "failed",
        "Band math": "skipped",
        "Export GeoTIFF": "skipped",
    }
    assert body.count("⊘ Skipped</text>") == 2  # the graph boxes' status line
    table = dict(
        re.findall(
            r'<th scope="row"><a href="#task-\d+-details">([^<]+)</a>.*?<span class="status '
            r'job-st-\w+"><span aria-hidden="true">.</span> (\w+)</span>',
            body,
            re.S,
        )
    )
    assert table["Band math"] == table["Export GeoTIFF"] == "Skipped"
    assert table["Atmospheric correction"] == "Failed"
    timeline = re.findall(r'<g class="tl-row tl-(\w+)">\s*<text[^>]*>. ([^<]+)</text>', body)
    assert ("skipped", "Band math") in timeline and ("skipped", "Export GeoTIFF") in timeline
    assert body.count('class="not-started">Skipped</text>') == 2
    assert "Queued" not in body and "not started" not in body
    # Opened (its own page, or the fragment the job page loads), it says the same.
    task = job.tasks.get(name="Band math")
    task_url = job.get_absolute_url() + f"tasks/{task.pixxel_id}/"
    c = client_for(alice)
    for page in (c.get(task_url), c.get(task_url, headers={"HX-Request": "true"})):
        text = page.content.decode()
        assert '<dt>Status</dt><dd><span class="status job-st-skipped">' in text
        assert "⊘</span> Skipped</span>" in text and "Queued" not in text


def test_a_validation_error_job_shows_its_errors_on_the_graph_edge(
    acme, alice, client_for, pixxel, sandbox
):
    job = submit(acme, alice, pixxel, WF_VALIDATION, PROJECT_COASTAL)
    mark_synced(job)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert 'data-edge="Cloud mask → Water quality index"' in body
    assert 'data-edge="AOI → Scene fetch"' in body
    assert "edge-invalid" in body
    assert "incompatible data types" in body and "missing required input" in body
    assert "unplaced" not in body


def test_validation_errors_naming_no_edge_go_on_the_component_or_are_listed_unplaced(
    acme, alice, client_for, pixxel, sandbox
):
    job = finish(submit(acme, alice, pixxel), sandbox)
    job.validation_errors.create(component_name="NDVI", err="bad band", reason="r1")
    job.validation_errors.create(component_name="Nowhere", from_component="X", to_component="Y")
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert 'class="val-badge" data-node="NDVI"' in body
    assert "unplaced: names no task" in body


def test_the_fan_out_graph_wraps_its_52_tiles_into_rows(acme, alice, client_for, pixxel):
    job = submit(acme, alice, pixxel, WF_FANOUT, PROJECT_COASTAL)
    mark_synced(job)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    svg = re.search(r'<svg class="graph"[^>]*width="([\d.]+)"', body)
    assert float(svg.group(1)) < 2000  # wrapped, not 52 boxes (~10,000 px) side by side
    # The wrapped layer is framed, and Tiling → each tile / each tile → Mosaic are one bus each
    # instead of 104 crossing curves.
    assert '<g class="node-group">' in body and ">52 tasks</text>" in body
    assert body.count('<g class="node node-') == 56
    # Scene fetch → Tiling, Tiling → the 52, the 52 → Mosaic, Mosaic → Export.
    assert body.count('class="edge"') == 4


def test_the_timeline_distinguishes_inference_and_marks_tasks_not_started(
    acme, alice, client_for, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    sandbox.advance(25)
    sync_job(job, force=True)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert 'class="bar bar-succeeded"' in body
    assert 'class="bar-inference"' in body
    assert "not started" in body
    assert 'class="tick-label"' in body


def test_log_search_filters_lines_on_the_server(acme, alice, client_for, pixxel, sandbox):
    job = finish(submit(acme, alice, pixxel), sandbox)
    body = client_for(alice).get(job.get_absolute_url(), {"log_q": "wrote output"}).content.decode()
    assert re.search(r"1 of \d+ lines match", body)
    assert "inference started" not in body.split('id="job-tasks"')[1]


def test_task_logs_download_as_text(acme, alice, client_for, pixxel, sandbox):
    job = finish(submit(acme, alice, pixxel), sandbox)
    task = job.tasks.get(name="NDVI")
    r = client_for(alice).get(job.get_absolute_url() + f"tasks/{task.pixxel_id}/logs.txt")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    assert r["Content-Disposition"] == 'attachment; filename="ndvi-logs.txt"'
    assert "inference finished" in r.content.decode()


def test_a_viewer_may_view_but_not_run_again(acme, alice, vera, client_for, pixxel, sandbox):
    job = finish(submit(acme, alice, pixxel), sandbox)
    r = client_for(vera).get(job.get_absolute_url())
    assert r.status_code == 200
    assert "Run again" not in r.content.decode()
    assert "Download results" in r.content.decode()


def test_it_says_when_pixxel_is_unreachable_instead_of_breaking(
    acme, alice, client_for, pixxel, sandbox, settings
):
    settings.PIXXEL_MAX_RETRIES = 0
    job = submit(acme, alice, pixxel)
    sync_job(job, force=True)
    age_claim(job)
    sandbox.inject("500", method="GET", times=1)
    r = client_for(alice).get(job.get_absolute_url())
    assert r.status_code == 200
    body = r.content.decode()
    assert "Pixxel unreachable" in body and "Last updated" in body
    assert "Pixxel had a problem on its side" in body


def test_it_shows_the_key_problem_when_the_key_is_gone(acme, alice, client_for, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    services.revoke_key(services.active_key(acme), alice)
    age_claim(job)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert "has no Pixxel API key" in body


# Tenancy and anonymous access ---------------------------------------------------------------


def test_it_404s_to_other_orgs(acme, alice, charlie, client_for, pixxel, sandbox):
    job = finish(submit(acme, alice, pixxel), sandbox)
    task = job.tasks.first()
    c = client_for(charlie)
    base = job.get_absolute_url()
    assert c.get(base).status_code == 404
    assert c.get(poll_url(job)).status_code == 404
    assert c.post(base + "download/").status_code == 404
    assert c.post(base + f"tasks/{task.pixxel_id}/download/").status_code == 404
    assert c.get(base + f"tasks/{task.pixxel_id}/logs.txt").status_code == 404
    # Nor through charlie's own organization's URL.
    assert c.get(f"/o/globex/jobs/{job.pixxel_id}/").status_code == 404


def test_anonymous_page_redirects_to_login_and_poll_is_forbidden(acme, alice, client, pixxel):
    job = submit(acme, alice, pixxel)
    r = client.get(job.get_absolute_url())
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    r = client.get(poll_url(job), headers={"HX-Request": "true"})
    assert r.status_code == 403


# The poll -------------------------------------------------------------------------------------


def test_the_poll_answers_204_when_nothing_changed(acme, alice, client_for, pixxel):
    job = submit(acme, alice, pixxel)
    mark_synced(job)
    r = client_for(alice).get(poll_url(job, v=token(job), s=job.status))
    assert r.status_code == 204
    assert r.content == b""


def test_the_poll_answers_fragments_out_of_band_when_changed(
    acme, alice, client_for, pixxel, sandbox
):
    sandbox.set_speed(0)  # Pixxel's clock moves only when the test says so
    job = submit(acme, alice, pixxel)
    mark_synced(job)
    c = client_for(alice)
    next_poll = page_poll_url(c.get(job.get_absolute_url()).content.decode())
    sandbox.advance(20)
    age_claim(job)  # due: the poll refreshes it inline
    r = c.get(next_poll, headers={"HX-Request": "true"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "<html" not in body
    for region in ("job-header", "job-graph", "job-timeline", "job-poll"):
        assert re.search(rf'id="{region}"[^>]*hx-swap-oob="true"', body), region
    # Not the whole task list: only the rows that changed, each on its own.
    assert 'id="job-tasks"' not in body
    changed = re.findall(r'<template><tr id="(task-\d+)"[^>]*hx-swap-oob="true"', body)
    # Twenty seconds in, the first task ended and the second started; the other three rows stay.
    assert changed == ["task-1", "task-2"], changed
    # A poll from a page whose rows differ (say, before Pixxel listed the tasks) gets them all.
    r = c.get(poll_url(job, v=token(job) + "0", s="running"), headers={"HX-Request": "true"})
    assert re.search(r'id="job-tasks"[^>]*hx-swap-oob="true"', r.content.decode())
    assert 'id="job-announce" hx-swap-oob="innerHTML">Job running' in body
    assert f"v={token(Job.objects.get(pk=job.pk))}" in body


def test_the_poll_answers_286_with_a_final_fragment_at_the_end(
    acme, alice, client_for, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    old = token(job)
    finish(job, sandbox)
    r = client_for(alice).get(poll_url(job, v=old, s="running"), headers={"HX-Request": "true"})
    assert r.status_code == 286
    body = r.content.decode()
    assert "<html" not in body
    assert "data-job-poll" not in body and 'hx-trigger="every' not in body  # no poll left
    assert "Succeeded" in body and "Job succeeded" in body
    # Even with nothing new, a terminal job's poll stops the polling.
    r = client_for(alice).get(poll_url(job, v=token(job), s=job.status))
    assert r.status_code == 286
    assert "hx-trigger" not in r.content.decode()
    assert len(r.content) < 300


def test_the_page_and_poll_use_the_same_queries_for_5_or_55_tasks(
    acme,
    alice,
    client_for,
    pixxel,
    sandbox,
    django_assert_max_num_queries,
    django_assert_num_queries,
):
    c = client_for(alice)

    def shown(wf, pr):
        job = submit(acme, alice, pixxel, wf, pr)
        sandbox.advance(15)
        sync_job(job, force=True)
        mark_synced(job)
        c.get(job.get_absolute_url())  # warm the session
        # The page, a poll that finds it changed, a poll that finds nothing new.
        return [
            job.get_absolute_url(),
            poll_url(job, v="stale", s="queued"),
            poll_url(job, v=token(job), s=job.status),
        ]

    counts = []
    # The unchanged poll: was 5; the page's poll pass (tests/test_poll_pass.py) leaves the job row.
    for url, budget in zip(shown(WF_LINEAR, PROJECT_AGRI), (8, 8, 1), strict=True):
        with django_assert_max_num_queries(budget) as queries:
            c.get(url)
        counts.append(len(queries))
    # Fifty-six tasks: exactly as many queries as five.
    for url, count in zip(shown(WF_FANOUT, PROJECT_COASTAL), counts, strict=True):
        with django_assert_num_queries(count):
            c.get(url)


def test_a_partial_stays_within_its_query_budget(
    acme, alice, client_for, pixxel, sandbox, django_assert_max_num_queries
):
    job = submit(acme, alice, pixxel, WF_FANOUT, PROJECT_COASTAL)
    mark_synced(job)
    c = client_for(alice)
    c.get(job.get_absolute_url())
    with django_assert_max_num_queries(8):
        c.get(poll_url(job, v="stale", s="queued"))


# Downloads ------------------------------------------------------------------------------------


def signed_url(response) -> str:
    match = re.search(
        r'<meta http-equiv="refresh" content="0; url=([^"]+)">', response.content.decode()
    )
    return match.group(1)


def test_download_results_hands_over_the_signed_url(acme, alice, client_for, pixxel, sandbox):
    job = finish(submit(acme, alice, pixxel), sandbox)
    r = client_for(alice).post(job.get_absolute_url() + "download/")
    # Not a 302: the CSP's form-action 'self' would block a POST redirecting to Pixxel's storage.
    assert r.status_code == 200
    assert "/_sandbox/files/" in signed_url(r)
    assert f'href="{signed_url(r)}"' in r.content.decode()
    task = job.tasks.get(name="NDVI")
    r = client_for(alice).post(job.get_absolute_url() + f"tasks/{task.pixxel_id}/download/")
    assert r.status_code == 200 and signed_url(r).endswith("/ndvi.tif")


def test_download_before_success_or_on_pixxel_error_shows_a_message(
    acme, alice, client_for, pixxel, sandbox, settings
):
    settings.PIXXEL_MAX_RETRIES = 0
    job = submit(acme, alice, pixxel)
    mark_synced(job)
    c = client_for(alice)
    r = c.post(job.get_absolute_url() + "download/", follow=True)
    assert "once the job has succeeded" in r.content.decode()
    finish(job, sandbox)
    mark_synced(job)
    sandbox.inject("500", method="PUT", times=1)
    r = c.post(job.get_absolute_url() + "download/", follow=True)
    assert r.redirect_chain[-1][0] == job.get_absolute_url()
    assert "Pixxel had a problem on its side" in r.content.decode()


# Polling knows when to stop -------------------------------------------------------------------


def test_the_poll_stops_with_286_and_says_why_when_pixxel_no_longer_knows_the_job(
    acme, alice, client_for, pixxel, sandbox
):
    job = submit(acme, alice, pixxel)
    old = token(job)
    # Pixxel no longer knows this job (job_not_found): the inline refresh stops syncing for good.
    Job.objects.filter(pk=job.pk).update(pixxel_id="00000000-0000-4000-8000-000000000000")
    job.refresh_from_db()
    age_claim(job)
    c = client_for(alice)
    r = c.get(poll_url(job, v=old, s="queued"), headers={"HX-Request": "true"})
    assert r.status_code == 286
    body = r.content.decode()
    assert 'hx-trigger="every' not in body and "data-job-poll" not in body
    assert "No longer updated from Pixxel" in body
    job.refresh_from_db()
    assert job.sync_stopped
    # The page itself no longer polls, and a poll from an old tab stops at once.
    page = c.get(job.get_absolute_url()).content.decode()
    assert "No longer updated from Pixxel" in page and "data-job-poll" not in page
    r = c.get(poll_url(job, v=token(job), s=job.status))
    assert r.status_code == 286 and "hx-trigger" not in r.content.decode()
    assert sandbox.count("GET", "/v0/workflows/{workflow_id}/jobs/{job_id}") == 1


def test_a_status_word_we_do_not_know_is_shown_and_polled_at_an_aged_pace(
    acme, alice, client_for, pixxel
):
    job = submit(acme, alice, pixxel)
    Job.objects.filter(pk=job.pk).update(status="unknown", status_raw="weird")
    Task.objects.filter(job=job, name="NDVI").update(status="unknown", status_raw="paused-ish")
    mark_synced(job)
    job.refresh_from_db()
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert "<span aria-hidden=\"true\">?</span> unknown — Pixxel says 'weird'</span>" in body
    assert "Pixxel says 'paused-ish'" in body
    # Still polling (syncing goes on), but at the sync's pace for an unknown word, not every 3 s.
    assert sync_interval(job) == UNKNOWN_STATUS_INTERVAL == 60
    assert f'hx-trigger="every {int(sync_interval(job))}s' in body
    assert 'hx-trigger="every 3s' not in body
    # A job we know the status of keeps its young pace.
    Job.objects.filter(pk=job.pk).update(status="running", status_raw="running")
    job.refresh_from_db()
    assert sync_interval(job) < 60
