"""`manage.py pixxel_sandbox` serves the sandbox in the foreground and stops on SIGTERM."""

import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.plugins.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_starts_answers_ping_and_stops_on_sigterm():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "pixxel_sandbox", "--port", str(port), "--speed", "5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first_line
        assert "sbx_" in process.stdout.readline()

        def ping():
            try:
                return requests.get(f"http://127.0.0.1:{port}/ping", timeout=1)
            except requests.ConnectionError:
                return None  # not listening yet

        response = wait_until(ping, timeout=10, what="the sandbox to listen")
        assert response.status_code == 200 and response.json() == "pong"
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
