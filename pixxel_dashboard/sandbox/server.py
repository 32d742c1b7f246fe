"""SandboxServer: the sandbox WSGI app on a threading wsgiref server, for tests and `manage.py pixxel_sandbox`.

server = SandboxServer(port=0, speed=1.0).start()
server.base_url            # "http://127.0.0.1:54321"
server.inject("500", method="POST", path_contains="/jobs")
server.advance(30)
server.stop()
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from socketserver import ThreadingMixIn
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .app import SandboxApp
from .simulation import Simulation

logger = logging.getLogger("pixxel_dashboard.sandbox")


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _RequestHandler(WSGIRequestHandler):
    """wsgiref's handler, plus the `reset` fault (drop the connection with a TCP RST, no answer)."""

    server: _ThreadingWSGIServer  # what start() serves it from: a WSGIServer, which has get_app()

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        environ = self.get_environ()
        app = self.server.get_app()
        if app is None:  # start() sets the app before it serves
            raise RuntimeError("the sandbox server has no app")
        # As wsgiref's own handle(); the stubs type the streams BufferedIOBase, ServerHandler wants IO.
        handler = ServerHandler(
            cast(IO[bytes], self.rfile),
            cast(IO[bytes], self.wfile),
            self.get_stderr(),
            environ,
            multithread=True,
        )
        # wsgiref's own back-pointer (ServerHandler.close() logs through it); typeshed leaves it out.
        handler.request_handler = self  # type: ignore[attr-defined]
        # The app raises ResetConnection (a ConnectionAbortedError) for the `reset` fault; wsgiref's run()
        # swallows that without writing anything, and we abort the socket here.
        handler.run(app)
        # wsgiref hands the app a copy of `environ`: read the flag from the handler's own dict.
        if (getattr(handler, "environ", None) or {}).get("sandbox.reset"):
            self._abort_connection()

    def _abort_connection(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN. The makefile() reader
        # holds a reference that would defer the real close, so close it first.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        logger.info("sandbox: reset the connection of %s", self.requestline)

    def log_message(self, format: str, *args: Any) -> None:  # wsgiref's signature
        # Request line and status only: never headers (they carry the API key).
        logger.debug("sandbox: " + format, *args)


class SandboxServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        fault_rate: float = 0.0,
        stall_seconds: float = 60.0,
        slow_seconds: float = 1.5,
        seed: int = 0,
        state_file: str | None = None,
    ) -> None:
        self.simulation = Simulation(speed=speed, seed_value=seed, state_path=state_file)
        self.app = SandboxApp(
            self.simulation,
            fault_rate=fault_rate,
            stall_seconds=stall_seconds,
            slow_seconds=slow_seconds,
            seed=seed,
        )
        self._host, self._port = host, port
        self._httpd: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not started")
        host, port = self._httpd.socket.getsockname()[:2]  # what server_address is, as str
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self.app.stopping.clear()
        httpd = _ThreadingWSGIServer((self._host, self._port), _RequestHandler)
        httpd.set_app(self.app)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name="pixxel-sandbox",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.app.stopping.set()  # wake requests stalled by `timeout`/`slow`
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # control ---------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        return self.app.stats()

    def reset(self) -> None:
        self.app.reset()

    def inject(
        self,
        fault: str,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
    ) -> None:
        self.app.inject(fault, method, path_contains, times)

    def advance(self, seconds: float) -> None:
        self.simulation.advance(seconds)

    def set_speed(self, speed: float) -> None:
        self.simulation.set_speed(speed)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change speed, fault_rate, stall_seconds or slow_seconds at runtime."""
        return self.app.configure(**settings)
