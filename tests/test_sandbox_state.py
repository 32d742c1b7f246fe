"""With a state file, the sandbox's jobs survive a restart (a long-lived demo keeps its jobs)."""

import json

import requests

from pixxel_dashboard.sandbox import ids
from pixxel_dashboard.sandbox.server import SandboxServer


def create_and_read(server, key):
    headers = {"Authorization": key}
    base = server.base_url
    created = requests.post(
        f"{base}/v0/workflows/{ids.WF_LINEAR}/jobs",
        params={"project_id": ids.PROJECT_AGRI},
        json={},
        headers=headers,
        timeout=5,
    ).json()
    return created, headers


def test_jobs_survive_a_restart_and_carry_on(tmp_path):
    state = tmp_path / "jobs.jsonl"
    first = SandboxServer(state_file=str(state)).start()
    try:
        created, headers = create_and_read(first, "sbx_demo_restart")
    finally:
        first.stop()
    # The key itself is never written to disk.
    assert "sbx_demo_restart" not in state.read_text()

    second = SandboxServer(state_file=str(state)).start()
    try:
        again = requests.get(
            f"{second.base_url}/v0/workflows/{ids.WF_LINEAR}/jobs/{created['id']}",
            headers=headers,
            timeout=5,
        )
        assert again.status_code == 200
        body = again.json()
        assert body["created_at"] == created["created_at"]
        assert [t["name"] for t in body["tasks"]] == [t["name"] for t in created["tasks"]]
        # Still another key's world: invisible to other keys.
        other = requests.get(
            f"{second.base_url}/v0/workflows/{ids.WF_LINEAR}/jobs/{created['id']}",
            headers={"Authorization": "sbx_someone_else"},
            timeout=5,
        )
        assert other.status_code == 400
    finally:
        second.stop()


def test_a_torn_or_stale_line_is_skipped(tmp_path):
    state = tmp_path / "jobs.jsonl"
    state.write_text(
        json.dumps(
            {"id": "x", "world": "w", "workflow_id": "gone", "project_id": "p", "created_at": 1}
        )
        + "\n{not json\n"
    )
    server = SandboxServer(state_file=str(state)).start()
    try:
        assert requests.get(
            f"{server.base_url}/ping", headers={"Authorization": "sbx_a"}, timeout=5
        ).ok
    finally:
        server.stop()
