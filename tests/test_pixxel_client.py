"""PixxelClient against the sandbox over real sockets: every endpoint, every failure, retries, headers."""

import logging
import socket
import threading
import traceback

import pytest

from pixxel_dashboard.pixxel import PixxelClient, PixxelError
from pixxel_dashboard.sandbox import ids
from pixxel_dashboard.sandbox.simulation import fingerprint
from tests.contract import validate_response

JOBS = "/v0/workflows/{workflow_id}/jobs"
JOB = "/v0/workflows/{workflow_id}/jobs/{job_id}"


@pytest.fixture(autouse=True)
def retry_settings(settings):
    """The retry counts asserted below, whatever the environment configures."""
    settings.PIXXEL_MAX_RETRIES = 3
    settings.PIXXEL_RETRY_TOTAL_SECONDS = 30


@pytest.fixture
def key(sandbox):
    return sandbox.new_key()


@pytest.fixture
def client(sandbox, key):
    with PixxelClient(key) as pixxel:
        yield pixxel


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's own debug lines included: they must not leak either
    return caplog


def finished_job(client, sandbox, workflow_id, project_id):
    job = client.create_job(workflow_id, project_id)
    for _ in range(60):
        job = client.get_job(workflow_id, job.id)
        if job.is_terminal:
            return job
        sandbox.advance(600)
    raise AssertionError(f"job never finished: {job.status_raw}")


def assert_key_never_shown(exc: PixxelError, key: str, caplog) -> None:
    chain = "".join(traceback.format_exception(exc))
    for text in (str(exc), repr(exc), exc.user_message, chain, caplog.text, repr(exc.details)):
        assert key not in text
    assert exc.user_message.endswith(".") and len(exc.user_message) > 30


# Every endpoint ---------------------------------------------------------------------------------


def test_it_pings_the_api(client):
    assert client.ping() == "pong"


def test_it_lists_projects_and_walks_their_pages(client, sandbox):
    first, count = client.list_projects(page_num=1, page_size=3)
    everything = client.list_all_projects(page_size=3)

    assert count == 4 and len(first) == 3
    assert {p.id for p in everything} == {
        ids.PROJECT_AGRI,
        ids.PROJECT_COASTAL,
        ids.PROJECT_URBAN,
        ids.PROJECT_ARCHIVE,
    }
    assert sandbox.count("GET", "/v0/projects") == 3  # one page, then two to walk them all


def test_it_gets_one_project(client):
    project = client.get_project(ids.PROJECT_AGRI)

    assert project.id == ids.PROJECT_AGRI
    assert project.display_name
    assert project.created_at is not None


def test_it_walks_every_page_of_the_archives_120_workflows(client, sandbox):
    workflows = client.list_workflows(project_id=ids.PROJECT_ARCHIVE)

    assert len(workflows) == 120
    assert len({w.id for w in workflows}) == 120
    assert sorted(w.name for w in workflows) == [f"Field survey {i:03d}" for i in range(1, 121)]
    assert all(w.project_id == ids.PROJECT_ARCHIVE for w in workflows)
    assert sandbox.count("GET", "/v0/workflows") == 3  # 50 + 50 + 20


def test_it_walks_workflows_even_when_the_server_caps_the_page_size(client, sandbox):
    workflows = client.list_workflows(project_id=ids.PROJECT_ARCHIVE, page_size=500)

    assert len({w.id for w in workflows}) == 120
    assert sandbox.count("GET", "/v0/workflows") == 2  # the sandbox caps limit at 100


def test_it_reads_one_page_of_workflows_with_its_pagination(client, sandbox):
    page, pagination = client.list_workflows_page(ids.PROJECT_ARCHIVE, offset=100, limit=50)

    assert len(page) == 20
    assert (pagination.offset, pagination.total) == (100, 120)
    query = sandbox.requests()[-1]["query"]
    assert query == {"project_id": ids.PROJECT_ARCHIVE, "offset": "100", "limit": "50"}


def test_it_filters_workflows_by_name(client):
    (workflow,) = client.list_workflows(project_id=ids.PROJECT_ARCHIVE, name="Field survey 042")

    assert workflow.name == "Field survey 042"


def test_it_gets_a_workflow_with_its_validation_errors_spec_and_cost(client):
    workflow = client.get_workflow(ids.WF_VALIDATION, ids.PROJECT_COASTAL)

    assert workflow.id == ids.WF_VALIDATION
    assert workflow.val_errors and workflow.val_errors[0].err
    assert workflow.spec.encoding == "json" and workflow.spec.value
    assert workflow.estimated_cost == client.estimate(ids.WF_VALIDATION)
    validate_response("GET", "/v0/workflows/{workflow_id}", 200, workflow.raw)


def test_it_estimates_a_workflows_cost_in_credits(client):
    assert client.estimate(ids.WF_EXPENSIVE) > client.estimate(ids.WF_LINEAR) > 0


def test_it_creates_a_job_lists_it_and_follows_it_to_success(client, sandbox):
    created = client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)

    assert created.id and created.workflow_id == ids.WF_LINEAR
    assert created.status in ("queued", "running")
    assert created.tasks and not created.is_terminal
    validate_response("POST", JOBS, 200, created.raw)

    listed = client.list_jobs(ids.WF_LINEAR)
    assert [j.id for j in listed] == [created.id]
    assert listed[0].tasks == []
    assert [j.id for j in client.list_jobs(ids.WF_LINEAR, id=created.id)] == [created.id]

    job = finished_job(client, sandbox, ids.WF_LINEAR, ids.PROJECT_AGRI)
    job = client.get_job(ids.WF_LINEAR, created.id)
    assert job.status == "succeeded" and job.status_raw == "completed"
    assert job.progress == 100
    assert job.time_taken_seconds is not None and job.time_taken_seconds > 0
    assert job.finished_at is not None and job.cost is not None
    assert all(t.status == "succeeded" and t.status_raw == "success" for t in job.tasks)
    assert all(t.block_info and t.block_info.name for t in job.tasks)
    validate_response("GET", JOB, 200, job.raw)


def test_it_downloads_a_finished_job_and_one_of_its_tasks(client, sandbox):
    job = finished_job(client, sandbox, ids.WF_LINEAR, ids.PROJECT_AGRI)

    job_download = client.download_job(ids.WF_LINEAR, job.id)
    task_download = client.download_task(ids.WF_LINEAR, job.id, job.tasks[0].id)

    assert job_download.id == job.id and job_download.workflow_id == ids.WF_LINEAR
    assert job_download.signed_url.startswith("http")
    assert task_download.job_id == job.id and task_download.id == job.tasks[0].id
    assert task_download.signed_url.endswith(".tif")


def test_it_reports_a_failed_task_with_its_failure_type_and_message(client, sandbox):
    job = finished_job(client, sandbox, ids.WF_FAILING, ids.PROJECT_URBAN)

    assert job.status == "failed" and job.is_terminal
    failed = [t for t in job.tasks if t.status == "failed"]
    assert failed and failed[0].failure_type == "runtime_exception" and failed[0].err_msg


def test_it_sees_a_job_of_an_invalid_workflow_fail(client, sandbox):
    assert finished_job(client, sandbox, ids.WF_VALIDATION, ids.PROJECT_COASTAL).status == "failed"


@pytest.mark.parametrize("encoding", ["json", "bytes", "base64"])
def test_it_decodes_raw_json_fields_in_every_encoding(sandbox, key, encoding):
    plain = PixxelClient(key)
    encoded = PixxelClient(key, extra_headers={"X-Sandbox-Encoding": encoding})

    workflow = encoded.get_workflow(ids.WF_DIAMOND, ids.PROJECT_AGRI)
    assert workflow.spec.encoding == encoding
    assert workflow.spec.value == plain.get_workflow(ids.WF_DIAMOND, ids.PROJECT_AGRI).spec.value

    created = encoded.create_job(ids.WF_DIAMOND, ids.PROJECT_AGRI)
    sandbox.advance(3600)
    job = encoded.get_job(ids.WF_DIAMOND, created.id)
    reference = plain.get_job(ids.WF_DIAMOND, created.id)
    assert job.spec.encoding == encoding
    for task, same in zip(job.tasks, reference.tasks, strict=True):
        assert task.inputs.encoding == encoding
        assert task.inputs.value == same.inputs.value
        assert task.result.value == same.result.value
        assert task.info_logs.value == same.info_logs.value


# Headers, logging, latency ---------------------------------------------------------------------


def test_it_sends_the_raw_key_and_names_the_dashboard(client, sandbox, key):
    client.list_projects()

    headers = sandbox.requests()[-1]["headers"]
    assert headers["Authorization"] == fingerprint(key)
    assert headers["User-Agent"] == ("PixxelDashboard/0.1.0 (+https://github.com/pixxel-dashboard)")
    assert headers["Accept"] == "application/json"


def test_it_posts_an_empty_json_object_to_create_a_job(client, sandbox):
    client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)

    request = sandbox.requests()[-1]
    assert request["query"] == {"project_id": ids.PROJECT_AGRI}
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Content-Length"] == "2"


def test_it_logs_one_line_per_call_without_the_key(client, key, log):
    client.list_projects()

    lines = [r for r in log.records if r.name == "pixxel_dashboard.pixxel"]
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    assert "GET /v0/projects?page_num=1&page_size=50 -> 200 in" in lines[0].getMessage()
    assert key not in log.text


def test_it_records_the_latency_of_the_last_call(client, sandbox):
    sandbox.inject("slow")
    client.ping()

    assert client.last_latency_ms >= 450
    assert client.last_status == 200


def test_it_masks_the_key_in_its_repr(client, key):
    assert repr(client).endswith(f"key=••••{key[-4:]})")
    assert key not in repr(client)


# Errors, one per kind --------------------------------------------------------------------------


def test_it_raises_bad_request_when_the_project_is_missing(client, sandbox, key, log):
    with pytest.raises(PixxelError) as info:
        client.create_job(ids.WF_LINEAR, "")

    err = info.value
    assert (err.kind, err.status, err.code) == ("bad_request", 400, "bad_request")
    assert "project_id is required" in err.user_message
    assert err.details == {"param": "project_id"}
    assert sandbox.count("POST", JOBS) == 1
    assert_key_never_shown(err, key, log)


def test_it_raises_forbidden_for_a_key_pixxel_does_not_accept(sandbox, log):
    bad_key = "live_not_a_sandbox_key_123456"
    with pytest.raises(PixxelError) as info:
        PixxelClient(bad_key).list_projects()

    err = info.value
    assert (err.kind, err.status) == ("forbidden", 403)
    assert "Settings → API keys" in err.user_message
    assert sandbox.count("GET", "/v0/projects") == 1  # 403 is not retried
    assert_key_never_shown(err, bad_key, log)


def test_it_raises_forbidden_for_a_project_the_workflow_is_not_in(client, key, log):
    with pytest.raises(PixxelError) as info:
        client.get_workflow(ids.WF_LINEAR, ids.PROJECT_URBAN)

    assert info.value.kind == "forbidden"
    assert_key_never_shown(info.value, key, log)


def test_it_raises_not_found_for_an_unknown_project(client, key, log):
    with pytest.raises(PixxelError) as info:
        client.get_project("00000000-0000-0000-0000-000000000000")

    assert (info.value.kind, info.value.status) == ("not_found", 404)
    assert_key_never_shown(info.value, key, log)


def test_it_raises_bad_request_for_an_unknown_job(client, key, log):
    with pytest.raises(PixxelError) as info:
        client.get_job(ids.WF_LINEAR, "no-such-job")

    assert (info.value.kind, info.value.code) == ("bad_request", "job_not_found")


def test_it_raises_server_error_on_a_500_without_retrying_it(client, sandbox, key, log):
    sandbox.inject("500")
    with pytest.raises(PixxelError) as info:
        client.list_projects()

    assert (info.value.kind, info.value.status) == ("server_error", 500)
    assert sandbox.count("GET", "/v0/projects") == 1
    assert_key_never_shown(info.value, key, log)


def test_it_retries_a_get_after_a_502_and_then_succeeds(client, sandbox):
    sandbox.inject("502-html", times=1)

    projects, _ = client.list_projects()

    assert projects
    assert sandbox.count("GET", "/v0/projects") == 2
    assert client.last_attempts == 2


def test_it_raises_server_error_for_an_html_502_once_retries_run_out(sandbox, key, log):
    client = PixxelClient(key, extra_headers={"X-Sandbox-Fault": "502-html"})
    with pytest.raises(PixxelError) as info:
        client.list_projects()

    err = info.value
    assert (err.kind, err.status) == ("server_error", 502)
    assert "non-JSON" in err.message and "<html" not in str(err)
    assert sandbox.count("GET", "/v0/projects") == 1 + 3  # PIXXEL_MAX_RETRIES
    assert_key_never_shown(err, key, log)


def test_it_raises_invalid_response_for_malformed_json(client, sandbox, key, log):
    sandbox.inject("malformed-json")
    with pytest.raises(PixxelError) as info:
        client.get_workflow(ids.WF_LINEAR, ids.PROJECT_AGRI)

    assert (info.value.kind, info.value.status) == ("invalid_response", 200)
    assert_key_never_shown(info.value, key, log)


def test_it_raises_rate_limited_with_retry_after_and_never_retries_a_post(
    client, sandbox, key, log
):
    sandbox.inject("429", method="POST")
    with pytest.raises(PixxelError) as info:
        client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)

    err = info.value
    assert (err.kind, err.status, err.retry_after) == ("rate_limited", 429, 1)
    assert "Try again in 1 seconds" in err.user_message
    assert sandbox.count("POST", JOBS) == 1
    assert_key_never_shown(err, key, log)


def test_it_waits_out_retry_after_on_a_get(client, sandbox):
    sandbox.inject("429", times=1)

    assert client.estimate(ids.WF_LINEAR) > 0
    assert sandbox.count("GET", "/v0/workflows/{workflow_id}/estimate") == 2
    assert client.last_latency_ms >= 900


def test_it_does_not_retry_when_retry_after_exceeds_the_time_budget(sandbox, key, settings):
    settings.PIXXEL_RETRY_TOTAL_SECONDS = 0.5
    sandbox.inject("429", times=1)

    with pytest.raises(PixxelError) as info:
        PixxelClient(key).estimate(ids.WF_LINEAR)

    assert (info.value.kind, info.value.retry_after) == ("rate_limited", 1)
    assert sandbox.count("GET", "/v0/workflows/{workflow_id}/estimate") == 1


def test_it_gives_up_on_a_get_after_max_retries(sandbox, key, settings):
    settings.PIXXEL_MAX_RETRIES = 1
    sandbox.inject("502-html", times=5)

    with pytest.raises(PixxelError) as info:
        PixxelClient(key).ping()

    assert info.value.kind == "server_error"
    assert sandbox.count("GET", "/ping") == 2


def test_it_raises_connection_when_the_connection_is_reset(sandbox, key, log):
    client = PixxelClient(key, extra_headers={"X-Sandbox-Fault": "reset"})
    with pytest.raises(PixxelError) as info:
        client.list_projects()

    assert (info.value.kind, info.value.status) == ("connection", None)
    assert sandbox.count("GET", "/v0/projects") == 4  # a GET is retried, then given up
    assert_key_never_shown(info.value, key, log)


def test_it_never_retries_a_post_whose_connection_was_reset(client, sandbox, key, log):
    sandbox.inject("reset", method="POST")
    with pytest.raises(PixxelError) as info:
        client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)

    assert info.value.kind == "connection"
    assert info.value.outcome_unknown
    assert sandbox.count("POST", JOBS) == 1
    assert_key_never_shown(info.value, key, log)


def test_it_raises_timeout_when_a_get_stalls_and_does_not_retry_it(client, sandbox, key, log):
    sandbox.inject("timeout")
    with pytest.raises(PixxelError) as info:
        client.list_jobs(ids.WF_LINEAR)

    err = info.value
    assert (err.kind, err.status, err.timeout) == ("timeout", None, 2)
    assert "did not answer within 2 seconds" in err.user_message
    assert sandbox.count("GET", JOBS) == 1
    assert_key_never_shown(err, key, log)


def test_it_raises_timeout_on_a_post_once_and_warns_the_job_may_exist(client, sandbox, key, log):
    sandbox.inject("timeout", method="POST")
    with pytest.raises(PixxelError) as info:
        client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)

    err = info.value
    assert err.kind == "timeout" and err.outcome_unknown
    assert "may have been created" in err.user_message
    assert sandbox.count("POST", JOBS) == 1
    assert len(client.list_jobs(ids.WF_LINEAR)) == 1  # it was: the answer was only late
    assert_key_never_shown(err, key, log)


@pytest.mark.parametrize("fault", ["500", "502-html"])
def test_it_never_retries_a_post_on_a_server_error(client, sandbox, fault):
    sandbox.inject(fault, method="POST")
    with pytest.raises(PixxelError) as info:
        client.create_job(ids.WF_LINEAR, ids.PROJECT_AGRI)

    assert info.value.kind == "server_error"
    assert sandbox.count("POST", JOBS) == 1


def test_it_never_retries_a_put(client, sandbox):
    job = finished_job(client, sandbox, ids.WF_LINEAR, ids.PROJECT_AGRI)
    sandbox.inject("502-html", method="PUT")

    with pytest.raises(PixxelError) as info:
        client.download_job(ids.WF_LINEAR, job.id)

    assert info.value.kind == "server_error"
    assert sandbox.count("PUT", "/v0/workflows/{workflow_id}/jobs/{job_id}/download") == 1


def test_it_raises_connection_when_nothing_listens(settings, log):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: connection refused
    settings.PIXXEL_RETRY_BACKOFF = 0.01
    key = "sbx_refused_0123456789"

    with pytest.raises(PixxelError) as info:
        PixxelClient(key, base_url=f"http://127.0.0.1:{port}").create_job("wf", "p")

    err = info.value
    assert (err.kind, err.status) == ("connection", None)
    assert not err.outcome_unknown  # nothing was sent: safe to try again
    assert "could not reach Pixxel" in err.user_message
    assert_key_never_shown(err, key, log)


def test_it_does_not_retry_a_get_whose_body_stalls(settings, log):
    """The headers came, then nothing: the server may still be working, so it is not asked again."""
    settings.PIXXEL_READ_TIMEOUT = 0.3
    requests_seen = []
    release = threading.Event()

    def serve(listener):
        while not release.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            requests_seen.append(conn.recv(4096))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            conn.sendall(b"Content-Length: 100\r\n\r\n[")
            release.wait(5)
            conn.close()

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        try:
            with pytest.raises(PixxelError) as info:
                PixxelClient("sbx_stall_0123456789", base_url=f"http://127.0.0.1:{port}").ping()
        finally:
            release.set()

    assert info.value.kind == "connection"
    assert len(requests_seen) == 1
