"""Pytest fixtures for the Pixxel sandbox (registered in tests/conftest.py via `pytest_plugins`).

def test_it_submits(sandbox):
    key = sandbox.new_key()
    ...
    assert sandbox.count("POST", "/v0/workflows/{workflow_id}/jobs") == 1
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pixxel_dashboard.sandbox.server import SandboxServer


class SandboxHandle:
    """What the `sandbox` fixture returns: the running server plus shortcuts for tests."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base_url = server.base_url

    def new_key(self) -> str:
        return f"sbx_test_{uuid.uuid4().hex}"

    def stats(self) -> dict[str, Any]:
        return self.server.stats()

    def count(self, method: str, route: str) -> int:
        return self.server.stats()["by_route"].get(f"{method.upper()} {route}", 0)

    def requests(self) -> list[dict[str, Any]]:
        return self.server.stats()["requests"]

    def inject(
        self,
        fault: str,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
    ) -> None:
        self.server.inject(fault, method=method, path_contains=path_contains, times=times)

    def advance(self, seconds: float) -> None:
        self.server.advance(seconds)

    def set_speed(self, speed: float) -> None:
        self.server.set_speed(speed)

    def backdate_job(self, job_id: str, seconds: float) -> None:
        self.server.simulation.backdate_job(job_id, seconds)


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer(port=0, speed=1.0, stall_seconds=5, slow_seconds=0.5).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings) -> SandboxHandle:
    sandbox_server.reset()
    sandbox_server.set_speed(1.0)
    sandbox_server.configure(fault_rate=0.0, stall_seconds=5, slow_seconds=0.5)
    settings.PIXXEL_API_BASE_URL = sandbox_server.base_url
    settings.PIXXEL_CONNECT_TIMEOUT = 2
    settings.PIXXEL_READ_TIMEOUT = 2
    settings.PIXXEL_RETRY_BACKOFF = 0.01
    return SandboxHandle(sandbox_server)
