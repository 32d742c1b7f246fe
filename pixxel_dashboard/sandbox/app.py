"""The sandbox's WSGI app: Pixxel's endpoints, fault injection, request stats and the /_sandbox/ control API.

Status codes for missing things follow what the contract declares (the workflow and job endpoints declare
only 400 and 403): an unknown workflow id, job id or task id is a 400 (`*_not_found`, the id is "invalid");
a project_id the key has no access to, or that the workflow does not belong to, is a 403. Only the project
endpoints declare 404, so an unknown project there is a 404.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import secrets
import struct
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from . import seed
from .simulation import Simulation, fingerprint, rfc3339, world_of

logger = logging.getLogger("pixxel_dashboard.sandbox")

FAULTS = (
    "timeout",
    "500",
    "502-html",
    "malformed-json",
    "429",
    "reset",
    "slow",
    "sample-workflow-id",
    "impossible-values",
    "job-without-id",
    "insecure-link",
    "created-then-500",
)
# Faults that answer normally but rewrite the job objects in the answer (as the documented sample
# does, or as a confused server might): legal JSON, odd content.
ODD_JOB_FAULTS = ("sample-workflow-id", "impossible-values", "job-without-id")
RANDOM_FAULTS = ("500", "502-html", "429", "malformed-json", "slow")
ENCODINGS = ("json", "bytes", "base64")
MAX_STATS = 1000
MAX_LIMIT = 100
MANIFEST_JOB_KEYS = ("id", "workflow_id", "status", "progress", "cost", "created_at", "finished_at")


class ResetConnection(ConnectionAbortedError):
    """Raised by the app to make the server drop the TCP connection without answering (see server.py)."""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json", headers or [])


def error(status: int, code: str, message: str, details: Any = None) -> Response:
    return json_response(status, {"error": {"code": code, "message": message, "details": details}})


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.response = error(status, code, message, details)


@dataclass
class QueuedFault:
    fault: str
    method: str | None
    path_contains: str | None
    times: int

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_contains is None or self.path_contains in path
        )


def encode_raw(value: Any, encoding: str) -> Any:
    """Encode one raw-JSON field: the value itself, its UTF-8 JSON as a byte list, or as base64."""
    if encoding == "json":
        return value
    raw = json.dumps(value, separators=(",", ":")).encode()
    return list(raw) if encoding == "bytes" else base64.b64encode(raw).decode()


def encode_job(view: dict[str, Any], encoding: str) -> dict[str, Any]:
    view = dict(view, spec=encode_raw(view["spec"], encoding))
    view["tasks"] = [
        dict(t, **{k: encode_raw(t[k], encoding) for k in ("inputs", "result", "info_logs")})
        for t in view["tasks"]
    ]
    return view


def tiny_tiff(pixels: bytes = bytes([0, 85, 170, 255]), width: int = 2, height: int = 2) -> bytes:
    """A real (if tiny) uncompressed 8-bit greyscale TIFF."""
    entries = [
        (256, 3, width),  # ImageWidth
        (257, 3, height),  # ImageLength
        (258, 3, 8),  # BitsPerSample
        (259, 3, 1),  # Compression: none
        (262, 3, 1),  # PhotometricInterpretation: black is zero
        (273, 4, 0),  # StripOffsets (patched below)
        (277, 3, 1),  # SamplesPerPixel
        (278, 3, height),  # RowsPerStrip
        (279, 4, len(pixels)),  # StripByteCounts
    ]
    data_offset = 8 + 2 + len(entries) * 12 + 4
    ifd = struct.pack("<H", len(entries))
    for tag, type_, value in entries:
        value = data_offset if tag == 273 else value
        if type_ == 3:
            ifd += struct.pack("<HHIHH", tag, type_, 1, value, 0)
        else:
            ifd += struct.pack("<HHII", tag, type_, 1, value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + pixels


Handler = Callable[["Request"], Response]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    params: dict[str, str]  # path parameters
    body: bytes
    host: str

    def q(self, name: str) -> str:
        return self.query.get(name, "").strip()

    def int_q(self, name: str, default: int, minimum: int) -> int:
        raw = self.q(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(
                400, "bad_request", f"{name} must be an integer", {"param": name}
            ) from None
        if value < minimum:
            raise ApiError(400, "bad_request", f"{name} must be >= {minimum}", {"param": name})
        return value


def _headers_from_environ(environ: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
        elif key in {"CONTENT_TYPE", "CONTENT_LENGTH"} and value:
            headers[key.replace("_", "-").title()] = value
    return headers


def _odd_job(job: dict[str, Any], fault: str) -> None:
    if fault == "sample-workflow-id":
        job["workflow_id"] = "<string>"  # what Pixxel's documented sample literally says
        return
    if fault == "job-without-id":
        del job["id"]
        return
    job.update(progress="150%", cost=-5, created_at="<string>", time_taken="<string>")
    for task in job.get("tasks") or []:
        task.update(progress=250, finished_at="<string>", time_taken="-3s")


def _insecure_link(response: Response) -> Response:
    body = json.loads(response.body)
    if isinstance(body, dict) and "signed_url" in body:
        # The same file, offered over plain http from another host.
        body["signed_url"] = "http://downloads.example.invalid/" + body["signed_url"]
        return json_response(200, body)
    return response


def _rewrite_jobs(response: Response, fault: str) -> Response:
    """A job answer (get, create, list) with its job objects rewritten by an odd-answer fault."""
    body = json.loads(response.body)
    jobs = body.get("jobs") if isinstance(body.get("jobs"), list) else [body]
    for job in jobs:
        if isinstance(job, dict) and "workflow_id" in job and "progress" in job:
            _odd_job(job, fault)
    return json_response(200, body)


class SandboxApp:
    """The WSGI callable. All job state lives in `simulation`; stats and faults are guarded by `_lock`."""

    def __init__(
        self,
        simulation: Simulation,
        *,
        fault_rate: float = 0.0,
        stall_seconds: float = 60.0,
        slow_seconds: float = 1.5,
        seed: int = 0,
    ) -> None:
        self.sim = simulation
        self.fault_rate = fault_rate
        self.stall_seconds = stall_seconds
        self.slow_seconds = slow_seconds
        self.stopping = threading.Event()  # wakes stalled requests when the server stops
        self._lock = threading.Lock()
        self._fault_rng = random.Random(seed)
        self._requests: deque[dict[str, Any]] = deque(maxlen=MAX_STATS)
        self._by_route: Counter[str] = Counter()
        self._total = 0
        self._queued: list[QueuedFault] = []
        self._files: dict[str, tuple[str, str, bytes]] = {}
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        for method, template, handler in [
            ("GET", "/ping", self.ping),
            ("GET", "/v0/projects", self.list_projects),
            ("GET", "/v0/projects/{id}", self.get_project),
            ("GET", "/v0/workflows", self.list_workflows),
            ("GET", "/v0/workflows/{workflow_id}", self.get_workflow),
            ("GET", "/v0/workflows/{workflow_id}/estimate", self.estimate),
            ("GET", "/v0/workflows/{workflow_id}/jobs", self.list_jobs),
            ("POST", "/v0/workflows/{workflow_id}/jobs", self.create_job),
            ("GET", "/v0/workflows/{workflow_id}/jobs/{job_id}", self.get_job),
            ("PUT", "/v0/workflows/{workflow_id}/jobs/{job_id}/download", self.download_job),
            (
                "PUT",
                "/v0/workflows/{workflow_id}/jobs/{job_id}/tasks/{task_id}/download",
                self.download_task,
            ),
        ]:
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            self._routes.append((method, re.compile(f"^{regex}$"), template, handler))

    # control-side operations (also used directly by SandboxServer) -----------------------
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._total,
                "by_route": dict(self._by_route),
                "requests": [dict(r) for r in self._requests],
            }

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._by_route.clear()
            self._total = 0
            self._queued.clear()
            self._files.clear()
        self.sim.reset()

    def inject(
        self,
        fault: str,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._queued.append(QueuedFault(fault, method, path_contains, int(times)))

    def queued_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vars(f).copy() for f in self._queued]

    def configure(self, **settings: Any) -> dict[str, Any]:
        if settings.get("speed") is not None:
            self.sim.set_speed(float(settings["speed"]))
        if settings.get("fault_rate") is not None:
            rate = float(settings["fault_rate"])
            if not 0 <= rate <= 1:
                raise ValueError("fault_rate must be between 0 and 1")
            self.fault_rate = rate
        for name in ("stall_seconds", "slow_seconds"):
            if settings.get(name) is not None:
                setattr(self, name, float(settings[name]))
        return self.config()

    def config(self) -> dict[str, Any]:
        return {
            "speed": self.sim.clock.speed,
            "fault_rate": self.fault_rate,
            "stall_seconds": self.stall_seconds,
            "slow_seconds": self.slow_seconds,
            "now": rfc3339(self.sim.now()),
        }

    # WSGI -------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO") or "/"
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), True).items()}
        headers = _headers_from_environ(environ)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        request = Request(method, path, query, headers, {}, body, host)
        if path.startswith("/_sandbox/"):
            response = self._control(request)
        else:
            response = self._api(request, environ)
        status_line = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(
            status_line,
            [
                ("Content-Type", response.content_type),
                ("Content-Length", str(len(response.body))),
                *response.headers,
            ],
        )
        return [response.body]

    def _route(self, request: Request) -> tuple[str | None, Handler | None, bool]:
        """(template, handler, path_known) for a request."""
        path_known = False
        for method, pattern, template, handler in self._routes:
            match = pattern.match(request.path)
            if match:
                path_known = True
                if method == request.method:
                    request.params = match.groupdict()
                    return template, handler, True
        return None, None, path_known

    def _pick_fault(self, request: Request) -> str | None:
        header = request.headers.get("X-Sandbox-Fault", "").strip()
        if header:
            return header
        with self._lock:
            for queued in self._queued:
                if queued.matches(request.method, request.path):
                    queued.times -= 1
                    if queued.times <= 0:
                        self._queued.remove(queued)
                    return queued.fault
            if (
                request.method == "GET"
                and self.fault_rate > 0
                and self._fault_rng.random() < self.fault_rate
            ):
                return self._fault_rng.choice(RANDOM_FAULTS)
        return None

    def _api(self, request: Request, environ: dict[str, Any]) -> Response:
        template, handler, path_known = self._route(request)
        self._record(request, template)
        fault = self._pick_fault(request)
        early = self._fault_before_handling(fault, environ)
        if early is not None:
            return early
        response = self._dispatch(request, template, handler, path_known)
        return self._fault_after_handling(fault, response)

    def _record(self, request: Request, template: str | None) -> None:
        with self._lock:
            self._total += 1
            self._by_route[f"{request.method} {template or request.path}"] += 1
            self._requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": dict(request.query),
                    # /_sandbox/stats serves this log: it must not hand out the keys it saw.
                    "headers": {
                        name: fingerprint(value) if name.lower() == "authorization" else value
                        for name, value in request.headers.items()
                    },
                    "route": template,
                }
            )

    def _fault_before_handling(self, fault: str | None, environ: dict[str, Any]) -> Response | None:
        """The faults that answer instead of the handler (or delay it); None lets it run."""
        if fault is not None and fault not in FAULTS:
            return error(
                400,
                "sandbox_unknown_fault",
                f"unknown X-Sandbox-Fault {fault!r}",
                {"faults": list(FAULTS)},
            )
        if fault == "reset":
            environ["sandbox.reset"] = True
            raise ResetConnection
        if fault == "500":
            return error(500, "internal_error", "internal server error (injected by the sandbox)")
        if fault == "502-html":
            page = (
                "<html><head><title>502 Bad Gateway</title></head><body>"
                "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
                "</body></html>\n"
            )
            return Response(502, page.encode(), "text/html")
        if fault == "429":
            response = error(429, "rate_limited", "too many requests, retry later")
            response.headers.append(("Retry-After", "1"))
            return response
        if fault == "slow":
            self.stopping.wait(self.slow_seconds)
        return None

    def _fault_after_handling(self, fault: str | None, response: Response) -> Response:
        """The faults that spoil (or delay) the answer to a request that has been handled."""
        if fault == "timeout":
            # The request has been handled (a POST has created its job): only the answer is late.
            self.stopping.wait(self.stall_seconds)
        elif fault == "created-then-500":
            # The work is done (a POST has created its job), then the server fails to say so.
            response = error(
                500, "internal_error", "internal server error after the request was handled"
            )
        elif fault == "malformed-json":
            response = Response(200, response.body[: max(1, len(response.body) // 2)])
        elif fault in ODD_JOB_FAULTS and response.status == 200:
            response = _rewrite_jobs(response, fault)
        elif fault == "insecure-link" and response.status == 200:
            response = _insecure_link(response)
        return response

    def _dispatch(
        self, request: Request, template: str | None, handler: Handler | None, path_known: bool
    ) -> Response:
        if handler is None:
            if path_known:
                return error(405, "method_not_allowed", f"{request.method} is not allowed here")
            return error(404, "not_found", f"no route for {request.path}")
        try:
            if template != "/ping":
                self._authenticate(request)
            encoding = request.headers.get("X-Sandbox-Encoding", "json").strip().lower() or "json"
            if encoding not in ENCODINGS:
                raise ApiError(
                    400,
                    "sandbox_bad_encoding",
                    f"X-Sandbox-Encoding must be one of {', '.join(ENCODINGS)}",
                )
            request.query["__encoding"] = encoding
            return handler(request)
        except ApiError as exc:
            return exc.response

    @staticmethod
    def _authenticate(request: Request) -> None:
        key = request.headers.get("Authorization", "").strip()
        if not key:
            raise ApiError(
                403,
                "forbidden",
                "missing API key",
                {"header": "Authorization", "expected": "<key>"},
            )
        if not key.startswith("sbx_") or len(key) <= 4:
            hint = " (send the raw key, without 'Bearer')" if " " in key else ""
            raise ApiError(403, "forbidden", f"invalid API key{hint}", {"header": "Authorization"})
        request.params["__world"] = world_of(key)

    # helpers -----------------------------------------------------------------------------------------
    def _workflow(self, request: Request):
        workflow = self.sim.workflow(request.params["workflow_id"])
        if workflow is None:
            raise ApiError(
                400,
                "workflow_not_found",
                "invalid workflow_id: no such workflow",
                {"workflow_id": request.params["workflow_id"]},
            )
        return workflow

    def _require_project(self, request: Request, workflow) -> str:
        project_id = request.q("project_id")
        if not project_id:
            raise ApiError(400, "bad_request", "project_id is required", {"param": "project_id"})
        if self.sim.project(project_id) is None or workflow.project_id != project_id:
            raise ApiError(
                403,
                "forbidden",
                "no access to this workflow in that project",
                {"project_id": project_id, "workflow_id": workflow.id},
            )
        return project_id

    def _job(self, request: Request) -> dict[str, Any]:
        workflow = self._workflow(request)
        view = self.sim.get_job(request.params["__world"], workflow.id, request.params["job_id"])
        if view is None:
            raise ApiError(
                400,
                "job_not_found",
                "invalid job_id: no such job in this workflow",
                {"job_id": request.params["job_id"]},
            )
        return view

    def _register_file(self, request: Request, name: str, content_type: str, body: bytes) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._files[token] = (name, content_type, body)
        return f"http://{request.host}/_sandbox/files/{token}/{name}"

    # endpoints -----------------------------------------------------------------------------------
    def ping(self, request: Request) -> Response:
        # The contract declares application/json with a string schema: a JSON string.
        return json_response(200, "pong")

    def list_projects(self, request: Request) -> Response:
        page_num = request.int_q("page_num", 1, 1)
        page_size = request.int_q("page_size", 50, 1)
        projects = list(seed.projects().values())
        start = (page_num - 1) * page_size
        page = projects[start : start + page_size]
        return json_response(200, {"count": len(projects), "projects": [p.as_dict() for p in page]})

    def get_project(self, request: Request) -> Response:
        project = self.sim.project(request.params["id"])
        if project is None:
            raise ApiError(404, "not_found", "project not found", {"id": request.params["id"]})
        return json_response(200, {"project": project.as_dict(with_members=False)})

    def list_workflows(self, request: Request) -> Response:
        offset = request.int_q("offset", 0, 0)
        limit = min(request.int_q("limit", 50, 1), MAX_LIMIT)
        items = list(seed.workflows().values())
        project_id = request.q("project_id")
        if project_id:
            if self.sim.project(project_id) is None:
                raise ApiError(
                    403, "forbidden", "no access to this project", {"project_id": project_id}
                )
            items = [w for w in items if w.project_id == project_id]
        if request.q("id"):
            items = [w for w in items if w.id == request.q("id")]
        if request.q("name"):
            needle = request.q("name").lower()
            items = [w for w in items if needle in w.name.lower()]
        if request.q("created_by"):
            items = [w for w in items if w.created_by == request.q("created_by")]
        if request.q("created_on"):
            items = [w for w in items if w.created_at[:10] == request.q("created_on")[:10]]
        if request.q("updated_at"):
            items = [w for w in items if w.updated_at.startswith(request.q("updated_at"))]
        # Newest first, like Pixxel's console.
        items.sort(key=lambda w: (w.created_at, w.id), reverse=True)
        page = items[offset : offset + limit]
        return json_response(
            200,
            {
                "workflows": [w.list_item() for w in page],
                "pagination": {"limit": limit, "offset": offset, "total": len(items)},
            },
        )

    def get_workflow(self, request: Request) -> Response:
        workflow = self._workflow(request)
        self._require_project(request, workflow)
        encoding = request.query["__encoding"]
        return json_response(
            200,
            {
                "id": workflow.id,
                "estimated_cost": workflow.estimated_cost,
                "name": workflow.name,
                "created_by": workflow.created_by,
                "description": workflow.description,
                "spec": encode_raw(workflow.spec, encoding),
                "created_at": workflow.created_at,
                "updated_at": workflow.updated_at,
                "val_errors": [dict(e) for e in workflow.val_errors],
                "project_id": workflow.project_id,
            },
        )

    def estimate(self, request: Request) -> Response:
        workflow = self._workflow(request)
        return json_response(200, {"estimated_cost": workflow.estimated_cost})

    def list_jobs(self, request: Request) -> Response:
        workflow = self._workflow(request)
        filters = {k: request.q(k) for k in ("id", "status", "created_by", "created_on")}
        jobs = self.sim.list_jobs(request.params["__world"], workflow.id, filters)
        return json_response(200, {"jobs": jobs})

    def create_job(self, request: Request) -> Response:
        workflow = self._workflow(request)
        project_id = self._require_project(request, workflow)
        view = self.sim.create_job(request.params["__world"], workflow, project_id)
        return json_response(200, encode_job(view, request.query["__encoding"]))

    def get_job(self, request: Request) -> Response:
        return json_response(200, encode_job(self._job(request), request.query["__encoding"]))

    def download_job(self, request: Request) -> Response:
        view = self._job(request)
        if view["status"] not in {"completed", "failed"}:
            raise ApiError(
                400,
                "job_not_finished",
                f"job is {view['status']}: results can be downloaded once it has finished",
                {"status": view["status"]},
            )
        manifest = {
            "job": {k: view[k] for k in MANIFEST_JOB_KEYS},
            "tasks": [
                {"id": t["id"], "name": t["name"], "status": t["status"], "result": t["result"]}
                for t in view["tasks"]
            ],
        }
        url = self._register_file(
            request,
            f"job-{view['id']}.json",
            "application/json",
            json.dumps(manifest, indent=2).encode(),
        )
        return json_response(
            200,
            {
                "id": view["id"],
                "status": "completed",
                "signed_url": url,
                "workflowId": view["workflow_id"],
            },
        )

    def download_task(self, request: Request) -> Response:
        view = self._job(request)
        task = next((t for t in view["tasks"] if t["id"] == request.params["task_id"]), None)
        if task is None:
            raise ApiError(
                400,
                "task_not_found",
                "invalid task_id: no such task in this job",
                {"task_id": request.params["task_id"]},
            )
        if task["status"] != "success":
            raise ApiError(
                400,
                "task_not_finished",
                f"task is {task['status']}: only successful tasks have output",
                {"status": task["status"]},
            )
        name = task["name"].lower().replace(" ", "_") + ".tif"
        url = self._register_file(request, name, "image/tiff", tiny_tiff())
        return json_response(
            200,
            {
                "id": task["id"],
                "job_id": view["id"],
                "workflow_id": view["workflow_id"],
                "status": "completed",
                "signed_url": url,
            },
        )

    # control API -----------------------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path.startswith("/_sandbox/files/") and method == "GET":
            return self._serve_file(path)
        try:
            payload = json.loads(request.body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("body must be a JSON object")
            action = self._control_actions().get((method, path))
            if action is not None:
                return json_response(200, action(payload))
        except (ValueError, TypeError) as exc:
            return error(400, "sandbox_bad_request", str(exc))
        return error(404, "not_found", f"no control route {method} {path}")

    def _control_actions(self) -> dict[tuple[str, str], Callable[[dict[str, Any]], Any]]:
        """(method, path) -> what it does with the JSON body; the answer is its result as JSON."""
        return {
            ("GET", "/_sandbox/stats"): lambda _payload: self.stats(),
            ("POST", "/_sandbox/reset"): self._control_reset,
            ("GET", "/_sandbox/faults"): lambda _payload: {"faults": self.queued_faults()},
            ("POST", "/_sandbox/faults"): self._control_inject,
            ("POST", "/_sandbox/advance"): self._control_advance,
            ("GET", "/_sandbox/config"): lambda _payload: self.config(),
            ("POST", "/_sandbox/config"): lambda payload: self.configure(**payload),
        }

    def _serve_file(self, path: str) -> Response:
        token = path.split("/")[3] if path.count("/") >= 4 else ""
        with self._lock:
            entry = self._files.get(token)
        if entry is None or not path.endswith("/" + entry[0]):
            return error(404, "not_found", "no such file (expired or never signed)")
        name, content_type, body = entry
        return Response(
            200, body, content_type, [("Content-Disposition", f'attachment; filename="{name}"')]
        )

    def _control_reset(self, _payload: dict[str, Any]) -> dict[str, Any]:
        self.reset()
        return {"reset": True}

    def _control_inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.inject(
            str(payload.get("fault", "")),
            payload.get("method"),
            payload.get("path_contains"),
            int(payload.get("times", 1)),
        )
        return {"faults": self.queued_faults()}

    def _control_advance(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.sim.advance(float(payload.get("seconds", 0)))
        return {"now": rfc3339(self.sim.now())}
