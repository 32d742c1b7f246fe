"""Faults on demand, queued faults, request stats and the /_sandbox/ control API."""

import time

import pytest
import requests

from pixxel_dashboard.sandbox import ids
from pixxel_dashboard.sandbox.server import SandboxServer
from pixxel_dashboard.sandbox.simulation import fingerprint
from tests import contract

JOBS = f"/v0/workflows/{ids.WF_LINEAR}/jobs"
CREATE_ROUTE = "/v0/workflows/{workflow_id}/jobs"


def get(sandbox, path, fault=None, timeout=5, **kwargs):
    headers = {"Authorization": sandbox.new_key()}
    if fault:
        headers["X-Sandbox-Fault"] = fault
    return requests.get(sandbox.base_url + path, headers=headers, timeout=timeout, **kwargs)


def test_it_stalls_a_timeout_fault_past_the_read_timeout(sandbox):
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        get(sandbox, "/v0/projects", fault="timeout", timeout=(2, 0.5))
    assert time.monotonic() - started < 2


def test_a_timed_out_create_job_still_creates_the_job(sandbox):
    key = sandbox.new_key()
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            sandbox.base_url + JOBS,
            params={"project_id": ids.PROJECT_AGRI},
            headers={"Authorization": key, "X-Sandbox-Fault": "timeout"},
            json={},
            timeout=(2, 0.5),
        )
    listed = requests.get(sandbox.base_url + JOBS, headers={"Authorization": key}, timeout=5)
    assert len(listed.json()["jobs"]) == 1
    assert sandbox.count("POST", CREATE_ROUTE) == 1


def test_it_answers_a_500_fault_with_the_json_error_body(sandbox):
    response = get(sandbox, "/v0/projects", fault="500")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    contract.validate_response("GET", "/v0/projects", 500, response.content)


def test_it_answers_a_502_html_fault_with_an_html_page(sandbox):
    response = get(sandbox, "/v0/workflows", fault="502-html")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_it_answers_malformed_json_with_a_200_that_does_not_parse(sandbox):
    response = get(sandbox, "/v0/workflows", fault="malformed-json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_it_answers_429_with_retry_after(sandbox):
    response = get(sandbox, "/v0/workflows", fault="429")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "rate_limited"


def test_it_resets_the_connection_and_keeps_serving(sandbox):
    with pytest.raises(requests.ConnectionError):
        get(sandbox, "/v0/workflows", fault="reset")
    assert get(sandbox, "/ping").status_code == 200


def test_it_answers_slowly_but_correctly(sandbox):
    started = time.monotonic()
    response = get(sandbox, "/v0/projects", fault="slow")
    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200
    contract.validate_http_response(response)


def test_it_refuses_unknown_fault_names(sandbox):
    assert get(sandbox, "/v0/projects", fault="gremlins").status_code == 400


def test_queued_faults_hit_the_next_matching_requests_only(sandbox):
    key = sandbox.new_key()
    sandbox.inject("500", method="POST", path_contains="/jobs", times=2)

    def post():
        return requests.post(
            sandbox.base_url + JOBS,
            params={"project_id": ids.PROJECT_AGRI},
            headers={"Authorization": key},
            json={},
            timeout=5,
        )

    # A GET on the same path is not matched.
    assert requests.get(sandbox.base_url + JOBS, headers={"Authorization": key}, timeout=5).ok
    assert [post().status_code for _ in range(3)] == [500, 500, 200]
    assert sandbox.count("POST", CREATE_ROUTE) == 3


def test_the_control_api_queues_faults_advances_time_and_configures(sandbox):
    control = sandbox.base_url + "/_sandbox"
    queued = requests.post(
        control + "/faults",
        json={"fault": "502-html", "method": "GET", "path_contains": "/v0/projects", "times": 1},
        timeout=5,
    )
    assert queued.json()["faults"][0]["fault"] == "502-html"
    assert get(sandbox, "/v0/projects").status_code == 502
    assert get(sandbox, "/v0/projects").status_code == 200
    assert requests.post(control + "/faults", json={"fault": "nope"}, timeout=5).status_code == 400

    key = sandbox.new_key()
    job = requests.post(
        sandbox.base_url + JOBS,
        params={"project_id": ids.PROJECT_AGRI},
        headers={"Authorization": key},
        timeout=5,
    ).json()
    assert requests.post(control + "/advance", json={"seconds": 300}, timeout=5).ok
    refreshed = requests.get(
        f"{sandbox.base_url}{JOBS}/{job['id']}", headers={"Authorization": key}, timeout=5
    )
    assert refreshed.json()["status"] == "completed"

    config = requests.post(control + "/config", json={"speed": 20}, timeout=5).json()
    assert config["speed"] == 20
    assert sandbox.server.simulation.clock.speed == 20

    assert requests.post(control + "/reset", timeout=5).ok
    assert requests.get(control + "/stats", timeout=5).json() == {
        "total": 0,
        "by_route": {},
        "requests": [],
    }
    gone = requests.get(
        f"{sandbox.base_url}{JOBS}/{job['id']}", headers={"Authorization": key}, timeout=5
    )
    assert gone.status_code == 400


def test_stats_count_each_request_once_by_route_and_keep_the_headers(sandbox):
    key = sandbox.new_key()
    job = requests.post(
        sandbox.base_url + JOBS,
        params={"project_id": ids.PROJECT_AGRI},
        headers={"Authorization": key},
        json={},
        timeout=5,
    ).json()
    for _ in range(3):
        requests.get(
            f"{sandbox.base_url}{JOBS}/{job['id']}", headers={"Authorization": key}, timeout=5
        )
    requests.get(sandbox.base_url + "/_sandbox/stats", timeout=5)  # control calls are not counted

    stats = sandbox.stats()
    assert stats["total"] == 4
    assert sandbox.count("POST", CREATE_ROUTE) == 1
    assert sandbox.count("GET", "/v0/workflows/{workflow_id}/jobs/{job_id}") == 3
    first = sandbox.requests()[0]
    assert first["method"] == "POST"
    assert first["path"] == JOBS
    assert first["query"] == {"project_id": ids.PROJECT_AGRI}
    assert first["headers"]["Authorization"] == fingerprint(key)
    assert first["route"] == CREATE_ROUTE
    over_http = requests.get(sandbox.base_url + "/_sandbox/stats", timeout=5).json()
    assert over_http["by_route"] == stats["by_route"]


def test_a_fault_rate_hits_only_gets_and_is_reproducible():
    def run():
        server = SandboxServer(fault_rate=0.5, slow_seconds=0.01, seed=7).start()
        try:
            key = {"Authorization": "sbx_rate"}
            codes = [
                requests.get(server.base_url + "/v0/projects", headers=key, timeout=5).status_code
                for _ in range(20)
            ]
            posts = [
                requests.post(
                    server.base_url + JOBS,
                    params={"project_id": ids.PROJECT_AGRI},
                    headers=key,
                    timeout=5,
                ).status_code
                for _ in range(5)
            ]
            return codes, posts
        finally:
            server.stop()

    codes, posts = run()
    assert posts == [200] * 5
    assert any(c != 200 for c in codes) and 200 in codes
    assert run()[0] == codes


def test_the_sandbox_never_logs_the_api_key(sandbox, caplog):
    caplog.set_level("DEBUG", logger="pixxel_dashboard.sandbox")
    key = sandbox.new_key()
    requests.get(sandbox.base_url + "/v0/projects", headers={"Authorization": key}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        get(sandbox, "/v0/projects", fault="reset")
    assert key not in caplog.text
