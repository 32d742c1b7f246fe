"""A job of 2,000 chained tasks (legal on Pixxel): the page stays bounded, tasks open on demand,
the graph is drawn in bands of layers, polls send only what changed and cost nothing when nothing
did. Timings live in the benchmark (`make bench`, docs/performance.md), never in tests."""

import gzip
import re

import pytest
from django.conf import settings

from pixxel_dashboard.jobs.models import Job, Task
from pixxel_dashboard.jobs.sync import sync_job
from pixxel_dashboard.sandbox.ids import PROJECT_COASTAL
from pixxel_dashboard.sandbox.seed import WF_CHAIN_2000
from tests.plugins.jobs import age_claim, mark_synced, page_poll_url, poll_url, submit, token


@pytest.fixture
def chain(acme, alice, pixxel, sandbox):
    """The 2,000-task job, some way into its run (a few hundred tasks done, one running)."""
    sandbox.set_speed(
        0
    )  # Pixxel's clock moves only when the test says so, however slow the machine
    job = submit(acme, alice, pixxel, WF_CHAIN_2000, PROJECT_COASTAL)
    sandbox.advance(600)
    sync_job(job, force=True)
    mark_synced(job)
    return job


def test_the_page_of_a_2000_task_job_is_bounded_and_complete(alice, client_for, chain):
    c = client_for(alice)
    r = c.get(chain.get_absolute_url())
    body = r.content.decode()
    assert len(r.content) < 1_000_000
    assert "2000 tasks: their layers are drawn collapsed" in body
    # The graph: at most 20 boxes, each a band of layers with its tasks counted by status.
    nodes = re.findall(r'<g class="node node-(\w+)" data-node="([^"]+)"', body)
    assert len(nodes) == 20, len(nodes)  # 2000 layers in bands of 100
    assert nodes[0] == ("succeeded", "Layers 1–100")
    assert "✔ 100 of 100" in body and "▶ 1" in body
    assert 'href="?band=2#job-graph"' in body
    # The table: one page of 25 rows, pages to walk through, details loaded on demand.
    assert len(re.findall(r'<tr id="task-\d+"', body)) == 25
    assert "Page 1 of 80" in body and 'href="?p=2#job-tasks"' in body
    assert body.count('hx-trigger="toggle once from:closest details"') == 25
    assert "inputs, result and logs" in body

    # A band opens to its own layers.
    body = c.get(chain.get_absolute_url(), {"band": "2"}).content.decode()
    nodes = re.findall(r'data-node="(Strip \d+)"', body)
    assert nodes[0] == "Strip 0101" and nodes[-1] == "Strip 0200" and len(nodes) == 100
    assert "Showing layers 101–200 (100 tasks)" in body
    assert "Show all layers collapsed" in body
    # A box links to its task: on this page of the table by anchor, elsewhere its own page.
    strip = Task.objects.get(job=chain, name="Strip 0150")
    assert f'href="{chain.get_absolute_url()}tasks/{strip.pixxel_id}/"' in body

    # The last page of the table, and a task on it opened on its own page (no JavaScript).
    body = c.get(chain.get_absolute_url(), {"p": "80"}).content.decode()
    assert '<tr id="task-2000"' in body and "Strip 2000" in body and "Page 80 of 80" in body
    strip = Task.objects.get(job=chain, name="Strip 1990")
    page = c.get(chain.get_absolute_url() + f"tasks/{strip.pixxel_id}/").content.decode()
    assert "Task Strip 1990" in page and "<h3>Inputs</h3>" in page

    # A log search runs over all 2,000 tasks' logs and lists only the tasks that match.
    body = c.get(chain.get_absolute_url(), {"log_q": "strip_0150.tif"}).content.decode()
    assert "1 of 2000 with log lines matching “strip_0150.tif”" in body
    assert re.findall(r'<tr id="(task-\d+)"', body) == ["task-150"]
    assert re.search(r"1 of \d+ lines match", body)
    body = c.get(chain.get_absolute_url(), {"log_q": "no such line"}).content.decode()
    assert "No task's logs match “no such line”." in body


def test_a_changed_poll_sends_the_header_and_only_the_changed_rows(
    alice, client_for, chain, sandbox
):
    c = client_for(alice)
    before = token(chain)
    running = Task.objects.get(job=chain, status="running")
    page = running.position // 25 + 1  # a chain: row number = Pixxel's order
    first_poll = page_poll_url(c.get(chain.get_absolute_url()).content.decode())
    its_poll = page_poll_url(c.get(chain.get_absolute_url(), {"p": page}).content.decode())
    sandbox.advance(1)  # the running task moves on
    age_claim(chain)
    r = c.get(first_poll, headers={"HX-Request": "true"})
    assert r.status_code == 200
    body = r.content.decode()
    assert len(r.content) < 50_000, len(r.content)
    assert re.search(r'id="job-header"[^>]*hx-swap-oob="true"', body)
    assert 'id="job-tasks"' not in body
    changed = Task.objects.filter(job=chain, changed_in__gt=int(before.split(".")[0]))
    numbers = sorted(t.position + 1 for t in changed)
    # The running task ended and the next one started: those two rows, nothing else.
    assert numbers == [running.position + 1, running.position + 2], numbers
    # Only rows on the viewer's page of the table travel: none on page 1...
    assert "<template><tr" not in body and numbers[0] > 25
    # ...the changed ones on the page that shows them.
    r = c.get(its_poll, headers={"HX-Request": "true"})
    sent = [int(n) for n in re.findall(r'<template><tr id="task-(\d+)"', r.content.decode())]
    on_page = [n for n in numbers if (n - 1) // 25 + 1 == page]
    assert sent == on_page and len(r.content) < 50_000


def test_an_unchanged_poll_never_loads_the_tasks_or_the_raw_document(
    alice, client_for, chain, django_assert_max_num_queries
):
    c = client_for(alice)
    c.get(chain.get_absolute_url())  # settles the session
    # The page does not read Pixxel's document (MBs here) either, nor the workflow spec.
    with django_assert_max_num_queries(8) as queries:
        c.get(chain.get_absolute_url())
    assert '"jobs_jobdocument"' not in sql_of(queries)
    with django_assert_max_num_queries(4) as queries:
        r = c.get(poll_url(chain, v=token(chain), s=chain.status))
    assert r.status_code == 204
    sql = sql_of(queries)
    assert '"jobs_task"' not in sql and '"jobs_jobdocument"' not in sql
    # The job row it reads holds no document: that lives in a table of its own.
    job_select = next(q for q in sql.splitlines() if 'FROM "jobs_job"' in q)
    assert '"raw"' not in job_select and '"spec"' not in job_select
    # HTML goes out compressed.
    r = c.get(chain.get_absolute_url(), headers={"Accept-Encoding": "gzip"})
    assert r["Content-Encoding"] == "gzip"
    assert b"Strip 0001" in gzip.decompress(r.content) and len(r.content) < 40_000
    # The same for an ended job: 286 straight from the job row.
    Job.objects.filter(pk=chain.pk).update(status="succeeded")
    with django_assert_max_num_queries(4) as queries:
        r = c.get(poll_url(chain, v=token(chain), s="succeeded"))
    assert r.status_code == 286 and "hx-trigger" not in r.content.decode()
    sql = sql_of(queries)
    assert '"jobs_task"' not in sql and '"jobs_jobdocument"' not in sql


def sql_of(queries) -> str:
    """The statements a `django_assert_*_num_queries` block captured, one a line."""
    return "\n".join(q["sql"] for q in queries.captured_queries)


def test_gzip_runs_last_on_the_way_out():
    # Above everything that reads or writes the body; only the security headers and WhiteNoise
    # (which serves static files pre-compressed) come before it.
    middleware = settings.MIDDLEWARE
    assert middleware.index("django.middleware.gzip.GZipMiddleware") == 2
    assert middleware[:2] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ]


def test_the_links_within_the_page_keep_the_view_and_never_the_polls_own_parameters(
    alice, client_for, chain
):
    c = client_for(alice)
    body = c.get(chain.get_absolute_url(), {"band": "2", "p": "3"}).content.decode()
    assert 'href="?p=4&amp;band=2#job-tasks" rel="next"' in body
    assert 'href="?p=1&amp;band=2#job-tasks">« First' in body
    assert 'href="?p=3#job-graph">Show all layers collapsed' in body
    # A poll re-renders the table from its own request (v, s, rows): its links are the page's.
    r = c.get(poll_url(chain, band=2, p=3, s="x", rows="x"), headers={"HX-Request": "true"})
    pager = r.content.decode().split('aria-label="Task pages"')[1].split("</nav>")[0]
    assert re.findall(r'href="([^"]+)"', pager) == [
        "?p=1&amp;band=2#job-tasks",
        "?p=2&amp;band=2#job-tasks",
        "?p=4&amp;band=2#job-tasks",
        "?p=80&amp;band=2#job-tasks",
    ]
