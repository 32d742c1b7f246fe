"""Pixxel's text is data, never markup: on the job page and in every fragment that carries it.

Each field gets its own payload, so a failure names the field that came out raw.
"""

import pytest
from django.utils.html import escape

from pixxel_dashboard.jobs.models import Task
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.pixxel import parsing
from tests.plugins.jobs import mark_synced, poll_url

# field -> markup Pixxel might send in it (a buggy or hostile upstream)
PAYLOADS = {
    "task name": "<b>task-name</b>",
    "error message": "<img src=x onerror=alert('err_msg')>",
    "state message": "<script>alert('state_msg')</script>",
    "failure type": "<i>failure-type</i>",
    "log line": "<iframe src=//evil.example/log-line></iframe>",
    "validation error": "<u>val-err</u>",
    "validation reason": "<marquee>val-reason</marquee>",
    "component name": "<s>component</s>",
}


@pytest.fixture
def hostile_job(acme, alice):
    parsed = parsing.parse_job(
        {
            "id": "job-markup",
            "workflow_id": "wf-markup",
            "status": "running",
            "progress": "40%",
            "updated_at": "2026-11-30T10:00:00Z",
            "tasks": [
                {
                    "id": "t1",
                    "name": PAYLOADS["task name"],
                    "status": "failed",
                    "progress": 40,
                    "state_msg": PAYLOADS["state message"],
                    "err_msg": PAYLOADS["error message"],
                    "failure_type": PAYLOADS["failure type"],
                    "depends_on": [],
                },
            ],
            "val_errors": [
                {
                    "component_name": PAYLOADS["component name"],
                    "err": PAYLOADS["validation error"],
                    "reason": PAYLOADS["validation reason"],
                }
            ],
        }
    )
    job, _ = save_job(acme, parsed, submitted_by=alice)
    Task.objects.filter(job=job).update(info_logs=[PAYLOADS["log line"], "plain line"])
    mark_synced(job)
    return job


def assert_escaped(body: str) -> None:
    for field, markup in PAYLOADS.items():
        assert markup not in body, f"{field} rendered as HTML"
        assert escape(markup) in body, f"{field} not shown as text"


def test_the_job_page_shows_pixxels_text_escaped(client_for, alice, hostile_job):
    body = client_for(alice).get(hostile_job.get_absolute_url()).content.decode()
    assert_escaped(body)


def test_the_live_fragments_show_pixxels_text_escaped(client_for, alice, hostile_job):
    # An old version token: the poll answers every region out of band.
    response = client_for(alice).get(
        poll_url(hostile_job, v="0.0.0", s="queued"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert_escaped(body)


def test_a_tasks_own_page_and_its_on_demand_fragment_show_pixxels_text_escaped(
    client_for, alice, hostile_job
):
    task = hostile_job.tasks.get()
    url = f"{hostile_job.get_absolute_url()}tasks/{task.pixxel_id}/"
    client = client_for(alice)
    page = client.get(url).content.decode()
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    for field in ("task name", "error message", "state message", "failure type", "log line"):
        assert PAYLOADS[field] not in page and PAYLOADS[field] not in fragment, field
        assert escape(PAYLOADS[field]) in page, f"{field} not shown"
    for field in ("error message", "log line"):  # the fragment is the task's body, below its name
        assert escape(PAYLOADS[field]) in fragment, f"{field} not shown"


def test_the_log_search_shows_pixxels_text_escaped(client_for, alice, hostile_job):
    body = (
        client_for(alice).get(hostile_job.get_absolute_url() + "?log_q=log-line").content.decode()
    )
    assert PAYLOADS["log line"] not in body
    assert "&lt;iframe src=//evil.example/log-line&gt;&lt;/iframe&gt;" in body


def test_the_log_download_is_plain_text_never_html(client_for, alice, hostile_job):
    task = hostile_job.tasks.get()
    response = client_for(alice).get(
        f"{hostile_job.get_absolute_url()}tasks/{task.pixxel_id}/logs.txt"
    )
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment")
