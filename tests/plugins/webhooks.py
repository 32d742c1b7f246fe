"""A real local HTTP receiver for webhook tests, and Acme's endpoint pointing at it.

The receiver records each request (headers, body) and answers with the status codes queued in
`answers` (then 200). Its host, 127.0.0.1, is on WEBHOOK_ALLOW_HOSTS for the tests that use it,
as a self-hosted install would list its own receivers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pixxel_dashboard.webhooks import services


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    reply: bytes = b'{"ok": true}'


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            state.requests.append(
                Received(self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(state.reply)))
            self.end_headers()
            self.wfile.write(state.reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/pixxel"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


ALL_EVENTS = ["job.succeeded", "job.failed", "job.cost_over_estimate", "budget.crossed"]


@pytest.fixture
def hook(acme, alice, receiver):
    """Acme's webhook to the local receiver, every event; `hook.secret` is its secret."""
    endpoint, secret = services.create_endpoint(acme, alice, receiver.url, "CI relay", ALL_EVENTS)
    endpoint.secret = secret
    return endpoint
