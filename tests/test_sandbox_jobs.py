"""Jobs in the sandbox run on a simulated clock: tasks follow their dependencies, costs accrue, some fail."""

import re

import pytest
import requests

from pixxel_dashboard.sandbox import ids
from tests import contract
from tests.plugins.waiting import wait_until

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
GO_DURATION = re.compile(r"^(\d+h)?(\d+m)?\d+s$")


class Client:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.key = sandbox.new_key()

    def _call(self, method, path, **kwargs):
        response = requests.request(
            method,
            self.sandbox.base_url + path,
            headers={"Authorization": self.key},
            timeout=5,
            **kwargs,
        )
        contract.validate_http_response(response)
        assert response.status_code == 200, response.text
        return response.json()

    def create(self, workflow, project):
        return self._call("POST", f"/v0/workflows/{workflow}/jobs", params={"project_id": project})

    def get(self, job):
        return self._call("GET", f"/v0/workflows/{job['workflow_id']}/jobs/{job['id']}")


@pytest.fixture
def client(sandbox):
    return Client(sandbox)


def tasks_by_name(job):
    return {t["name"]: t for t in job["tasks"]}


def test_it_runs_a_job_from_queued_through_running_to_completed(sandbox, client):
    estimate = client._call("GET", f"/v0/workflows/{ids.WF_LINEAR}/estimate")["estimated_cost"]
    job = client.create(ids.WF_LINEAR, ids.PROJECT_AGRI)
    assert job["status"] == "queued"
    assert job["progress"] == "0%"
    assert job["cost"] == 0
    assert job["finished_at"] == ""
    assert job["exec_created_at"] == ""
    assert job["estimated_duration"] > 0
    assert len(job["tasks"]) == 5
    assert all(t["status"] == "queued" and t["progress"] == 0 for t in job["tasks"])

    seen_statuses, costs, progresses = [], [], []
    for _ in range(40):
        sandbox.advance(2)
        job = client.get(job)
        seen_statuses.append(job["status"])
        costs.append(job["cost"])
        progresses.append(int(job["progress"].rstrip("%")))
        if job["status"] == "completed":
            break
    assert seen_statuses[-1] == "completed"
    assert "running" in seen_statuses
    assert costs == sorted(costs) and costs[-1] == estimate
    assert 0 < min(c for c in costs if c) < estimate
    assert progresses == sorted(progresses) and progresses[-1] == 100
    assert TIMESTAMP.match(job["finished_at"])
    assert TIMESTAMP.match(job["exec_created_at"]) and TIMESTAMP.match(job["exec_updated_at"])
    assert GO_DURATION.match(job["time_taken"])
    for task in job["tasks"]:
        assert task["status"] == "success" and task["progress"] == 100
        for field in ("recv_time", "block_inf_start_time", "block_inf_end_time", "send_time"):
            assert TIMESTAMP.match(task[field]), field
        assert task["recv_time"] <= task["block_inf_start_time"] <= task["block_inf_end_time"]
        assert task["block_inf_end_time"] <= task["send_time"] == task["finished_at"]
        assert task["info_logs"] and task["result"]
        assert set(task["block_info"]) == {"id", "name", "version"}


def test_it_starts_tasks_only_after_their_dependencies_finish(sandbox, client):
    job = client.create(ids.WF_DIAMOND, ids.PROJECT_AGRI)
    for _ in range(30):
        sandbox.advance(1.5)
        snapshot = client.get(job)
        tasks = tasks_by_name(snapshot)
        for task in snapshot["tasks"]:
            if task["status"] != "queued":
                for dep in task["depends_on"]:
                    assert tasks[dep]["status"] == "success", (task["name"], dep)
        if snapshot["status"] == "completed":
            break
    tasks = tasks_by_name(snapshot)
    assert tasks["Band math"]["depends_on"] == ["Cloud mask", "Orthorectification"]
    # The two branches ran side by side; the join waited for the slower one.
    assert tasks["Cloud mask"]["recv_time"] == tasks["Orthorectification"]["recv_time"]
    assert tasks["Band math"]["recv_time"] == tasks["Orthorectification"]["finished_at"]


def test_a_failing_task_fails_the_job_and_its_dependents_never_run(sandbox, client):
    job = client.create(ids.WF_FAILING, ids.PROJECT_URBAN)
    estimate = client._call("GET", f"/v0/workflows/{ids.WF_FAILING}/estimate")["estimated_cost"]
    sandbox.advance(600)
    job = client.get(job)
    assert job["status"] == "failed"
    assert TIMESTAMP.match(job["finished_at"])
    assert 0 < job["cost"] < estimate
    assert job["progress"] != "100%"
    tasks = tasks_by_name(job)
    broken = tasks["Atmospheric correction"]
    assert broken["status"] == "failed"
    assert broken["failure_type"] == "runtime_exception"
    assert "aerosol" in broken["err_msg"]
    assert any("ERROR" in line for line in broken["info_logs"])
    for name in ("Band math", "Export GeoTIFF"):
        assert tasks[name]["status"] not in {"inprogress", "success", "failed"}
        assert tasks[name]["recv_time"] == "" and tasks[name]["progress"] == 0
        assert "skipped" in tasks[name]["state_msg"]
    assert tasks["Scene fetch"]["status"] == tasks["Cloud mask"]["status"] == "success"


def test_a_job_from_an_invalid_workflow_comes_back_failed_with_val_errors(client):
    job = client.create(ids.WF_VALIDATION, ids.PROJECT_COASTAL)
    assert job["status"] == "failed"
    assert job["tasks"] == []
    assert job["cost"] == 0
    components = {e["component_name"] for e in job["val_errors"]}
    assert "Water quality index" in components
    error = job["val_errors"][0]
    assert error["from"] and error["to"] and error["err"] and error["reason"]


def test_the_fanout_workflow_has_more_than_fifty_tasks_and_merges_them(sandbox, client):
    job = client.create(ids.WF_FANOUT, ids.PROJECT_COASTAL)
    names = [t["name"] for t in job["tasks"]]
    assert len(names) == 56  # fetch, tiling, 52 tiles, mosaic, export
    assert "Tile 001" in names and "Tile 052" in names
    mosaic = tasks_by_name(job)["Mosaic"]
    assert len(mosaic["depends_on"]) == 52
    sandbox.advance(30)  # scene fetch and tiling are done, every tile is running
    running = client.get(job)
    assert sum(t["status"] == "inprogress" for t in running["tasks"]) == 52
    assert tasks_by_name(running)["Mosaic"]["status"] == "queued"
    sandbox.advance(200)
    assert client.get(job)["status"] == "completed"


def test_the_slow_workflow_takes_much_longer(sandbox, client):
    slow = client.create(ids.WF_SLOW, ids.PROJECT_URBAN)
    fast = client.create(ids.WF_WATER, ids.PROJECT_COASTAL)
    assert slow["estimated_duration"] > 10 * fast["estimated_duration"]
    sandbox.advance(fast["estimated_duration"] + 5)
    assert client.get(fast)["status"] == "completed"
    assert client.get(slow)["status"] == "running"


def test_it_runs_faster_when_the_speed_goes_up(sandbox, client):
    job = client.create(ids.WF_LINEAR, ids.PROJECT_AGRI)
    sandbox.set_speed(400)
    # The 55 s workflow takes 0.14 s at this speed: well within the wait, never at speed 1.
    wait_until(lambda: client.get(job)["status"] == "completed", timeout=5, what="the job to end")


def test_the_expensive_workflow_costs_a_lot(client):
    assert (
        client._call("GET", f"/v0/workflows/{ids.WF_EXPENSIVE}/estimate")["estimated_cost"] >= 1000
    )
