"""The sandbox answers Pixxel's endpoints like Pixxel does, and every answer matches openapi.json."""

import base64
import json

import pytest
import requests

from pixxel_dashboard.sandbox import ids
from tests import contract

pytestmark = pytest.mark.usefixtures("sandbox")


def call(sandbox, method, path, key=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if key:
        headers["Authorization"] = key
    response = requests.request(
        method, sandbox.base_url + path, headers=headers, timeout=5, **kwargs
    )
    contract.validate_http_response(response)
    return response


def create_job(sandbox, key, workflow=ids.WF_LINEAR, project=ids.PROJECT_AGRI, **kwargs):
    response = call(
        sandbox,
        "POST",
        f"/v0/workflows/{workflow}/jobs",
        key,
        params={"project_id": project},
        json={},
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_it_answers_ping_without_a_key(sandbox):
    response = call(sandbox, "GET", "/ping")
    assert response.status_code == 200
    assert response.json() == "pong"


def test_it_lists_and_gets_projects(sandbox):
    key = sandbox.new_key()
    body = call(sandbox, "GET", "/v0/projects", key).json()
    assert body["count"] == 4
    titles = {p["title"] for p in body["projects"]}
    assert titles == {"Agricultural Health", "Coastal Monitoring", "Urban Heat Islands", "Archive"}
    page = call(sandbox, "GET", "/v0/projects", key, params={"page_num": 2, "page_size": 3}).json()
    assert page["count"] == 4 and len(page["projects"]) == 1

    one = call(sandbox, "GET", f"/v0/projects/{ids.PROJECT_COASTAL}", key).json()
    assert one["project"]["title"] == "Coastal Monitoring"
    missing = call(sandbox, "GET", "/v0/projects/nope", key)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_it_pages_through_the_archive_workflows(sandbox):
    key = sandbox.new_key()
    seen, offset = [], 0
    while True:
        body = call(
            sandbox,
            "GET",
            "/v0/workflows",
            key,
            params={"project_id": ids.PROJECT_ARCHIVE, "offset": offset, "limit": 50},
        ).json()
        assert body["pagination"] == {"limit": 50, "offset": offset, "total": 120}
        seen += [w["name"] for w in body["workflows"]]
        offset += 50
        if offset >= body["pagination"]["total"]:
            break
    assert len(seen) == 120 == len(set(seen))
    assert sorted(seen) == [f"Field survey {i:03d}" for i in range(1, 121)]


def test_it_defaults_offset_and_limit_and_honours_filters(sandbox):
    key = sandbox.new_key()
    body = call(sandbox, "GET", "/v0/workflows", key).json()
    assert body["pagination"] == {"limit": 50, "offset": 0, "total": 129}
    assert len(body["workflows"]) == 50
    by_id = call(sandbox, "GET", "/v0/workflows", key, params={"id": ids.WF_FANOUT}).json()
    assert [w["id"] for w in by_id["workflows"]] == [ids.WF_FANOUT]
    by_name = call(sandbox, "GET", "/v0/workflows", key, params={"name": "survey 007"}).json()
    assert [w["name"] for w in by_name["workflows"]] == ["Field survey 007"]
    bad = call(sandbox, "GET", "/v0/workflows", key, params={"limit": "many"})
    assert bad.status_code == 400


def test_it_shows_a_workflow_with_spec_cost_and_validation_errors(sandbox):
    key = sandbox.new_key()
    body = call(
        sandbox,
        "GET",
        f"/v0/workflows/{ids.WF_VALIDATION}",
        key,
        params={"project_id": ids.PROJECT_COASTAL},
    ).json()
    assert body["val_errors"] and {"from", "to", "err", "reason", "component_name"} <= set(
        body["val_errors"][0]
    )
    assert body["estimated_cost"] > 0
    assert {c["name"] for c in body["spec"]["components"]} >= {"AOI", "Cloud mask"}

    linear = call(
        sandbox,
        "GET",
        f"/v0/workflows/{ids.WF_LINEAR}",
        key,
        params={"project_id": ids.PROJECT_AGRI},
    ).json()
    assert linear["val_errors"] == []


def test_it_estimates_cost_in_credits(sandbox):
    key = sandbox.new_key()
    cheap = call(sandbox, "GET", f"/v0/workflows/{ids.WF_LINEAR}/estimate", key).json()
    dear = call(sandbox, "GET", f"/v0/workflows/{ids.WF_EXPENSIVE}/estimate", key).json()
    assert 0 < cheap["estimated_cost"] < dear["estimated_cost"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v0/projects"),
        ("GET", "/v0/workflows"),
        ("GET", f"/v0/workflows/{ids.WF_LINEAR}?project_id={ids.PROJECT_AGRI}"),
        ("GET", f"/v0/workflows/{ids.WF_LINEAR}/jobs"),
        ("POST", f"/v0/workflows/{ids.WF_LINEAR}/jobs?project_id={ids.PROJECT_AGRI}"),
    ],
)
@pytest.mark.parametrize("key", [None, "", "pk_live_123", "Bearer sbx_abc", "sbx_"])
def test_it_refuses_missing_and_foreign_keys_with_403(sandbox, method, path, key):
    headers = {} if key is None else {"Authorization": key}
    response = call(sandbox, method, path, headers=headers)
    assert response.status_code == 403
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_it_requires_project_id_where_the_contract_does(sandbox):
    key = sandbox.new_key()
    for method, path in [
        ("GET", f"/v0/workflows/{ids.WF_LINEAR}"),
        ("POST", f"/v0/workflows/{ids.WF_LINEAR}/jobs"),
    ]:
        response = call(sandbox, method, path, key)
        assert response.status_code == 400
        assert response.json()["error"]["details"] == {"param": "project_id"}
    assert sandbox.stats()["total"] == 2
    assert call(sandbox, "GET", f"/v0/workflows/{ids.WF_LINEAR}/jobs", key).json() == {"jobs": []}


def test_it_answers_400_for_unknown_workflows_and_403_for_the_wrong_project(sandbox):
    key = sandbox.new_key()
    unknown = "00000000-0000-0000-0000-000000000000"
    for method, path in [
        ("GET", f"/v0/workflows/{unknown}?project_id={ids.PROJECT_AGRI}"),
        ("GET", f"/v0/workflows/{unknown}/estimate"),
        ("GET", f"/v0/workflows/{unknown}/jobs"),
        ("POST", f"/v0/workflows/{unknown}/jobs?project_id={ids.PROJECT_AGRI}"),
    ]:
        response = call(sandbox, method, path, key)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "workflow_not_found"
    wrong = call(
        sandbox,
        "POST",
        f"/v0/workflows/{ids.WF_LINEAR}/jobs",
        key,
        params={"project_id": ids.PROJECT_COASTAL},
    )
    assert wrong.status_code == 403


def test_it_answers_400_for_unknown_jobs_and_tasks(sandbox):
    key = sandbox.new_key()
    job = create_job(sandbox, key)
    base = f"/v0/workflows/{ids.WF_LINEAR}/jobs"
    assert call(sandbox, "GET", f"{base}/no-such-job", key).status_code == 400
    # The right job id under another workflow is unknown too.
    other = call(sandbox, "GET", f"/v0/workflows/{ids.WF_DIAMOND}/jobs/{job['id']}", key)
    assert other.json()["error"]["code"] == "job_not_found"
    sandbox.advance(120)
    task = call(sandbox, "PUT", f"{base}/{job['id']}/tasks/no-such-task/download", key)
    assert task.status_code == 400
    assert task.json()["error"]["code"] == "task_not_found"


def test_it_keeps_each_keys_jobs_to_itself(sandbox):
    alice, bob = sandbox.new_key(), sandbox.new_key()
    job = create_job(sandbox, alice)
    path = f"/v0/workflows/{ids.WF_LINEAR}/jobs"
    assert [j["id"] for j in call(sandbox, "GET", path, alice).json()["jobs"]] == [job["id"]]
    assert call(sandbox, "GET", path, bob).json()["jobs"] == []
    assert call(sandbox, "GET", f"{path}/{job['id']}", bob).status_code == 400
    assert call(sandbox, "GET", f"{path}/{job['id']}", alice).status_code == 200
    # Seeded data is shared.
    assert call(sandbox, "GET", "/v0/projects", bob).json()["count"] == 4


def test_it_filters_listed_jobs_by_status_id_creator_and_day(sandbox):
    key = sandbox.new_key()
    first = create_job(sandbox, key)
    sandbox.advance(300)  # the first job completes
    second = create_job(sandbox, key)
    path = f"/v0/workflows/{ids.WF_LINEAR}/jobs"

    listed = call(sandbox, "GET", path, key).json()["jobs"]
    assert [j["id"] for j in listed] == [second["id"], first["id"]]
    assert "tasks" not in listed[0]

    def ids_for(**params):
        return [j["id"] for j in call(sandbox, "GET", path, key, params=params).json()["jobs"]]

    assert ids_for(status="completed") == [first["id"]]
    assert ids_for(status="queued") == [second["id"]]
    assert ids_for(status="failed") == []
    assert ids_for(id=first["id"]) == [first["id"]]
    assert ids_for(created_by=first["created_by"]) == [second["id"], first["id"]]
    assert ids_for(created_by="somebody-else") == []
    assert second["id"] in ids_for(created_on=second["created_at"][:10])
    assert ids_for(created_on="1999-01-01") == []


def test_it_sends_raw_json_fields_in_the_three_encodings(sandbox):
    key = sandbox.new_key()
    job = create_job(sandbox, key)
    sandbox.advance(120)
    path = f"/v0/workflows/{ids.WF_LINEAR}/jobs/{job['id']}"
    plain = call(sandbox, "GET", path, key).json()
    as_bytes = call(sandbox, "GET", path, key, headers={"X-Sandbox-Encoding": "bytes"}).json()
    as_b64 = call(sandbox, "GET", path, key, headers={"X-Sandbox-Encoding": "base64"}).json()

    assert isinstance(plain["spec"], dict)
    assert isinstance(plain["tasks"][0]["inputs"], list)
    assert {"format", "name", "type", "description", "value"} <= set(plain["tasks"][0]["result"][0])
    for field in ("inputs", "result", "info_logs"):
        raw = bytes(as_bytes["tasks"][0][field])
        assert json.loads(raw) == plain["tasks"][0][field]
        assert json.loads(base64.b64decode(as_b64["tasks"][0][field])) == plain["tasks"][0][field]
    assert json.loads(bytes(as_bytes["spec"])) == plain["spec"]
    assert all(isinstance(b, int) and 0 <= b < 256 for b in as_bytes["spec"])

    workflow = call(
        sandbox,
        "GET",
        f"/v0/workflows/{ids.WF_LINEAR}",
        key,
        params={"project_id": ids.PROJECT_AGRI},
        headers={"X-Sandbox-Encoding": "base64"},
    ).json()
    assert json.loads(base64.b64decode(workflow["spec"])) == plain["spec"]
    bad = call(sandbox, "GET", path, key, headers={"X-Sandbox-Encoding": "xml"})
    assert bad.status_code == 400


def test_it_signs_download_urls_that_serve_real_files(sandbox):
    key = sandbox.new_key()
    job = create_job(sandbox, key)
    base = f"/v0/workflows/{ids.WF_LINEAR}/jobs/{job['id']}"
    early = call(sandbox, "PUT", f"{base}/download", key)
    assert early.status_code == 400
    assert early.json()["error"]["code"] == "job_not_finished"

    sandbox.advance(300)
    package = call(sandbox, "PUT", f"{base}/download", key).json()
    assert package["id"] == job["id"] and package["workflowId"] == ids.WF_LINEAR
    manifest = requests.get(package["signed_url"], timeout=5)
    assert manifest.status_code == 200
    assert manifest.json()["job"]["status"] == "completed"

    task_id = job["tasks"][-1]["id"]
    one = call(sandbox, "PUT", f"{base}/tasks/{task_id}/download", key).json()
    assert (one["id"], one["job_id"], one["workflow_id"]) == (task_id, job["id"], ids.WF_LINEAR)
    tiff = requests.get(one["signed_url"], timeout=5)
    assert tiff.headers["Content-Type"] == "image/tiff"
    assert tiff.content.startswith(b"II*\x00")

    assert (
        requests.get(sandbox.base_url + "/_sandbox/files/forged/x.tif", timeout=5).status_code
        == 404
    )


def test_the_contract_validator_rejects_what_the_contract_does_not_allow():
    good = {"estimated_cost": 10}
    contract.validate_response("GET", "/v0/workflows/{workflow_id}/estimate", 200, good)
    with pytest.raises(contract.ContractViolation):
        contract.validate_response(
            "GET", "/v0/workflows/{workflow_id}/estimate", 200, {"estimated_cost": "10"}
        )
    with pytest.raises(contract.ContractViolation, match="workflow_id"):
        # the job download answer spells it workflowId
        contract.validate_response(
            "PUT",
            "/v0/workflows/{workflow_id}/jobs/{job_id}/download",
            200,
            {"id": "j", "status": "completed", "signed_url": "u", "workflow_id": "w"},
        )
    with pytest.raises(contract.ContractViolation, match="does not declare status 404"):
        contract.validate_response("GET", "/v0/workflows/{workflow_id}/jobs", 404, {})
    with pytest.raises(contract.ContractViolation, match="not JSON"):
        contract.validate_response("GET", "/v0/workflows/{workflow_id}/estimate", 200, b'{"est')
    # The four raw-JSON fields accept any value; their neighbours do not.
    job = {
        "spec": {"any": "thing"},
        "tasks": [{"inputs": "base64==", "result": [], "info_logs": []}],
    }
    contract.validate_response("GET", "/v0/workflows/{workflow_id}/jobs/{job_id}", 200, job)
    with pytest.raises(contract.ContractViolation):
        contract.validate_response(
            "GET", "/v0/workflows/{workflow_id}/jobs/{job_id}", 200, {"progress": 45}
        )
    assert (
        contract.match_path("/v0/workflows/abc/jobs/def")
        == "/v0/workflows/{workflow_id}/jobs/{job_id}"
    )
