"""The Pixxel API client: one pooled `requests.Session`, one method per endpoint the dashboard uses.

Rules (DESIGN.md, "one client module"): every call has a timeout and an allow-list of success codes,
and every failure is a `PixxelError` with a human message. Only idempotent reads (GET, HEAD) are
retried; POST and PUT never are, because a duplicate job costs credits. The API key is sent only in
the `Authorization` header and never appears in a message, repr or log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings
from tenacity import Future, RetryCallState, Retrying, stop_after_attempt, stop_before_delay
from urllib3.util.retry import Retry

from . import parsing
from .errors import ErrorKind, PixxelError, mask_key
from .types import Download, Job, Pagination, Project, Workflow

logger = logging.getLogger("pixxel_dashboard.pixxel")


RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "HEAD"})

# Safety nets for paging through a server that never says "that's all".
MAX_PAGES = 200


def user_agent() -> str:
    return f"PixxelDashboard/{settings.VERSION} (+https://github.com/pixxel-dashboard)"


def _should_retry(method: str, outcome: Future) -> bool:
    """Only idempotent reads are sent again, and only when the server surely did not act on them
    or said so: a 429/502/503/504, or a connection that failed or closed without an answer. A read
    timeout is never retried (the server may still be working on it), nor is anything else."""
    if method not in RETRY_METHODS:
        return False
    if not outcome.failed:
        return outcome.result().status_code in RETRY_STATUSES
    error = outcome.exception()
    reason = error.args[0] if isinstance(error, requests.ConnectionError) and error.args else None
    return (
        isinstance(error, requests.ConnectionError)
        and not isinstance(error, requests.exceptions.SSLError)
        # requests reports a stall while reading the body as a ConnectionError around this.
        and not isinstance(reason, urllib3.exceptions.ReadTimeoutError)
    )


class _RetryPolicy:
    """When to retry, how long to wait: Retry-After when the server sent a valid one, else
    urllib3's backoff (none before the first retry, then `backoff · 2^n`)."""

    def __init__(self, method: str, backoff: float) -> None:
        self.method = method
        self.backoff = backoff

    def retry(self, state: RetryCallState) -> bool:
        return state.outcome is not None and _should_retry(self.method, state.outcome)

    def wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = _retry_after_seconds(outcome.result().headers.get("Retry-After"))
            if retry_after is not None:
                return retry_after
        if state.attempt_number <= 1:
            return 0.0
        return self.backoff * 2 ** (state.attempt_number - 1)


def _last_outcome(state: RetryCallState) -> requests.Response:
    """Out of retries or time: the last answer (e.g. the 429) is the result; an error is raised."""
    assert state.outcome is not None
    return state.outcome.result()


class _Secret:
    """Holds the key so that no repr (of the client, a frame's locals, a debug page) shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return mask_key(self._value)

    __str__ = __repr__


class _RawKeyAuth(requests.auth.AuthBase):
    """`Authorization: <key>` (no scheme). As session auth, requests will not swap in .netrc
    credentials, and it drops the header on a redirect to another host."""

    def __init__(self, key: _Secret) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._key.reveal()
        return request

    def __repr__(self) -> str:
        return f"_RawKeyAuth({self._key!r})"


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before the request could reach the server."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class PixxelClient:
    """`PixxelClient(api_key)` talks to `settings.PIXXEL_API_BASE_URL` (or `base_url`).

    `last_latency_ms` and `last_status` describe the most recent call (including its retries).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("a Pixxel API key is required")
        api_key = api_key.strip()
        if any(ch.isspace() or ord(ch) < 32 or ord(ch) > 126 for ch in api_key):
            # requests would echo the bad header value in its exception text.
            raise ValueError("the Pixxel API key contains characters that cannot be sent")
        self._api_key = _Secret(api_key)
        self.base_url = (base_url or settings.PIXXEL_API_BASE_URL).rstrip("/")
        self.connect_timeout = float(settings.PIXXEL_CONNECT_TIMEOUT)
        self.read_timeout = float(settings.PIXXEL_READ_TIMEOUT)
        self.max_retries = int(settings.PIXXEL_MAX_RETRIES)
        self.retry_backoff = float(settings.PIXXEL_RETRY_BACKOFF)
        self.retry_total_seconds = float(settings.PIXXEL_RETRY_TOTAL_SECONDS)
        self.last_latency_ms: int | None = None
        self.last_status: int | None = None
        self.last_attempts: int | None = None

        # The session's adapters do not retry (requests' default); `_send` does, see `_RetryPolicy`.
        self._session = requests.Session()
        self._session.auth = _RawKeyAuth(self._api_key)
        self._session.headers.update({"Accept": "application/json", "User-Agent": user_agent()})
        if extra_headers:
            self._session.headers.update(extra_headers)

    def __repr__(self) -> str:
        return f"PixxelClient(base_url={self.base_url}, key={self._api_key!r})"

    @property
    def masked_key(self) -> str:
        return repr(self._api_key)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PixxelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Endpoints ------------------------------------------------------------------------------------

    def ping(self) -> str:
        """`GET /ping` → the server's pong text."""
        return self._call("GET", "/ping", _parse_ping, decode_json=False)

    def list_projects(self, page_num: int = 1, page_size: int = 50) -> tuple[list[Project], int]:
        """One page of the key's projects and the total count (None → the page length)."""
        page = self._call(
            "GET",
            "/v0/projects",
            parsing.parse_project_list,
            params={"page_num": page_num, "page_size": page_size},
        )
        count = page.count if page.count is not None else len(page.projects)
        return page.projects, count

    def iter_all_projects(self, page_size: int = 50) -> Iterator[Project]:
        seen: set[str | None] = set()
        yielded = 0
        for page_num in range(1, MAX_PAGES + 1):
            projects, count = self.list_projects(page_num=page_num, page_size=page_size)
            fresh = [p for p in projects if p.id is None or p.id not in seen]
            if not fresh:
                return  # empty page, or a server that ignores page_num
            for project in fresh:
                seen.add(project.id)
                yield project
            yielded += len(fresh)
            if yielded >= count or len(projects) < page_size:
                return
        logger.warning("pixxel: stopped listing projects after %d pages", MAX_PAGES)

    def list_all_projects(self, page_size: int = 50) -> list[Project]:
        return list(self.iter_all_projects(page_size=page_size))

    def get_project(self, project_id: str) -> Project:
        return self._call("GET", f"/v0/projects/{_seg(project_id)}", parsing.parse_project_response)

    def list_workflows_page(
        self,
        project_id: str | None = None,
        name: str | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
        **filters: str | None,
    ) -> tuple[list[Workflow], Pagination]:
        """One page of workflows; `filters` are further query params (id, created_by, ...)."""
        params: dict[str, Any] = {"project_id": project_id, "name": name, **filters}
        params.update(offset=offset, limit=limit)
        page = self._call("GET", "/v0/workflows", parsing.parse_workflow_list, params=params)
        return page.workflows, page.pagination

    def list_workflows(
        self,
        project_id: str | None = None,
        name: str | None = None,
        *,
        page_size: int = 50,
        **filters: str | None,
    ) -> list[Workflow]:
        """Every workflow matching the filters, walking offset/limit pages."""
        workflows: list[Workflow] = []
        seen: set[str | None] = set()
        offset = 0
        for _ in range(MAX_PAGES):
            page, pagination = self.list_workflows_page(
                project_id, name, offset=offset, limit=page_size, **filters
            )
            fresh = [w for w in page if w.id is None or w.id not in seen]
            if not fresh:
                return workflows  # empty page, or a server that ignores the offset
            seen.update(w.id for w in fresh)
            workflows.extend(fresh)
            offset += len(page)  # the server may cap the limit: advance by what it gave
            if pagination.total is not None and offset >= pagination.total:
                return workflows
            if pagination.total is None and len(page) < page_size:
                return workflows
        logger.warning("pixxel: stopped listing workflows after %d pages", MAX_PAGES)
        return workflows

    def get_workflow(self, workflow_id: str, project_id: str) -> Workflow:
        """One workflow with `spec`, `val_errors` and `estimated_cost`."""
        return self._call(
            "GET",
            f"/v0/workflows/{_seg(workflow_id)}",
            parsing.parse_workflow,
            params={"project_id": project_id},
        )

    def estimate(self, workflow_id: str) -> int | float:
        """The workflow's estimated cost in credits."""
        return self._call(
            "GET", f"/v0/workflows/{_seg(workflow_id)}/estimate", parsing.parse_estimate
        )

    def list_jobs(
        self,
        workflow_id: str,
        status: str | None = None,
        id: str | None = None,  # the API's own filter name
        created_by: str | None = None,
        created_on: str | None = None,
    ) -> list[Job]:
        """The workflow's jobs (without tasks; the API does not paginate this list)."""
        return self._call(
            "GET",
            f"/v0/workflows/{_seg(workflow_id)}/jobs",
            parsing.parse_job_list,
            params={"status": status, "id": id, "created_by": created_by, "created_on": created_on},
        )

    def create_job(self, workflow_id: str, project_id: str) -> Job:
        """Start a job (POST, never retried: each one costs credits)."""
        return self._call(
            "POST",
            f"/v0/workflows/{_seg(workflow_id)}/jobs",
            _with_id(parsing.parse_job, "job"),
            params={"project_id": project_id},
            json_body={},
        )

    def get_job(self, workflow_id: str, job_id: str) -> Job:
        return self._call(
            "GET",
            f"/v0/workflows/{_seg(workflow_id)}/jobs/{_seg(job_id)}",
            _with_id(parsing.parse_job, "job"),
        )

    def download_job(self, workflow_id: str, job_id: str) -> Download:
        return self._call(
            "PUT",
            f"/v0/workflows/{_seg(workflow_id)}/jobs/{_seg(job_id)}/download",
            parsing.parse_download,
        )

    def download_task(self, workflow_id: str, job_id: str, task_id: str) -> Download:
        return self._call(
            "PUT",
            f"/v0/workflows/{_seg(workflow_id)}/jobs/{_seg(job_id)}/tasks/{_seg(task_id)}/download",
            parsing.parse_download,
        )

    # Plumbing -------------------------------------------------------------------------------------

    def _call[T](
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        ok: tuple[int, ...] = (200,),
        decode_json: bool = True,
    ) -> T:
        params = {key: value for key, value in (params or {}).items() if value is not None}
        shown = path + ("?" + urlencode(params) if params else "")
        started = time.monotonic()
        status: int | None = None
        self.last_attempts = None
        try:
            response = self._send(method, path, shown, params, json_body)
            status = response.status_code
            if status not in ok:
                raise self._http_error(response, method, shown, ok)
            body: Any = self._decode(response, method, shown) if decode_json else response
            result = parse(body)
        except PixxelError as err:
            err.method, err.path = method, shown
            self._finish(method, shown, started, status, err)
            raise
        self._finish(method, shown, started, status, None)
        return result

    def _send(
        self, method: str, path: str, shown: str, params: dict[str, Any], json_body: Any
    ) -> requests.Response:
        kwargs: dict[str, Any] = {"timeout": (self.connect_timeout, self.read_timeout)}
        if params:
            kwargs["params"] = params
        if json_body is not None:
            kwargs["json"] = json_body
        policy = _RetryPolicy(method, self.retry_backoff)
        retrying = Retrying(
            retry=policy.retry,
            wait=policy.wait,
            # `stop_before_delay` counts the coming wait: a retry that would end after the budget
            # is not attempted, so one call never takes much longer than the budget.
            stop=stop_after_attempt(self.max_retries + 1)
            | stop_before_delay(self.retry_total_seconds),
            retry_error_callback=_last_outcome,
        )
        failure: PixxelError | None = None
        try:
            return retrying(self._session.request, method, self.base_url + path, **kwargs)
        # Each branch builds its own message: requests' exception text is never reused, and the
        # error is raised outside the `except` so no exception chain leads back to the request.
        except requests.exceptions.ConnectTimeout:
            failure = PixxelError(
                ErrorKind.TIMEOUT,
                f"no connection within {self.connect_timeout:g} s",
                timeout=self.connect_timeout,
                user_message=(
                    f"Pixxel did not answer within {self.connect_timeout:g} seconds. "
                    "It may be busy or unreachable; try again in a minute."
                ),
            )
        except requests.exceptions.Timeout:
            failure = PixxelError(
                ErrorKind.TIMEOUT,
                f"no answer within {self.read_timeout:g} s",
                timeout=self.read_timeout,
                user_message=_unsafe_outcome_message(
                    method,
                    f"Pixxel did not answer within {self.read_timeout:g} seconds.",
                    "It may be busy; try again in a minute.",
                ),
                outcome_unknown=method not in RETRY_METHODS,
            )
        except requests.exceptions.ConnectionError as exc:
            never_sent = _never_sent(exc)
            failure = PixxelError(
                ErrorKind.CONNECTION,
                "could not connect" if never_sent else "connection closed without an answer",
                user_message=None
                if never_sent
                else _unsafe_outcome_message(
                    method,
                    "The connection to Pixxel was cut off before it answered.",
                    "Try again in a minute.",
                ),
                outcome_unknown=not never_sent and method not in RETRY_METHODS,
            )
        except requests.exceptions.ContentDecodingError:
            failure = PixxelError(
                ErrorKind.INVALID_RESPONSE, "the response body could not be decoded"
            )
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            OSError,
            ValueError,
        ) as exc:
            failure = PixxelError(ErrorKind.CONNECTION, f"request failed ({type(exc).__name__})")
        finally:
            self.last_attempts = retrying.statistics.get("attempt_number")
        raise failure

    def _decode(self, response: requests.Response, method: str, shown: str) -> Any:
        failure: PixxelError | None = None
        try:
            return json.loads(response.content)
        except (ValueError, RecursionError):
            ctype = response.headers.get("Content-Type", "unknown type")
            failure = PixxelError(
                ErrorKind.INVALID_RESPONSE,
                f"the body is not JSON ({ctype})",
                status=response.status_code,
            )
        raise failure

    def _http_error(
        self, response: requests.Response, method: str, shown: str, ok: tuple[int, ...]
    ) -> PixxelError:
        status = response.status_code
        code = message = details = None
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            body = None
            ctype = response.headers.get("Content-Type", "unknown type").split(";")[0]
            message = f"non-JSON error body ({ctype})"
        if body is not None:
            code, message, details = parsing.parse_error_body(body)
        code, message, details = (
            self._redact(code),
            self._redact(message),
            self._redact(details),
        )
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
        if status == 400 or (400 <= status < 500 and status not in _STATUS_KINDS):
            kind = ErrorKind.BAD_REQUEST
        elif status in _STATUS_KINDS:
            kind = _STATUS_KINDS[status]
        elif status >= 500:
            kind = ErrorKind.SERVER_ERROR
        else:
            kind = ErrorKind.INVALID_RESPONSE
            message = message or f"unexpected HTTP {status} (expected {', '.join(map(str, ok))})"
        return PixxelError(
            kind,
            message or response.reason or "",
            status=status,
            code=code,
            details=details,
            retry_after=retry_after
            if kind in (ErrorKind.RATE_LIMITED, ErrorKind.SERVER_ERROR)
            else None,
            timeout=None,
        )

    def _redact(self, value: Any) -> Any:
        """Upstream text may quote the key back (e.g. "invalid key sbx_…"): mask it."""
        if isinstance(value, str):
            return value.replace(self._api_key.reveal(), repr(self._api_key))
        if isinstance(value, list):
            return [self._redact(item) for item in value]
        if isinstance(value, dict):
            return {self._redact(k): self._redact(v) for k, v in value.items()}
        return value

    def _finish(
        self,
        method: str,
        shown: str,
        started: float,
        status: int | None,
        error: PixxelError | None,
    ) -> None:
        latency_ms = round((time.monotonic() - started) * 1000)
        self.last_latency_ms = latency_ms
        self.last_status = error.status if error is not None else status
        attempts = f" after {self.last_attempts} attempts" if (self.last_attempts or 1) > 1 else ""
        if error is None:
            logger.info(
                "pixxel %s %s -> %s in %d ms%s", method, shown, status, latency_ms, attempts
            )
        else:
            logger.warning(
                "pixxel %s %s -> %s (%s) in %d ms%s",
                method,
                shown,
                error.status if error.status is not None else status or "no response",
                error.kind,
                latency_ms,
                attempts,
            )


_STATUS_KINDS = {
    400: ErrorKind.BAD_REQUEST,
    401: ErrorKind.UNAUTHORIZED,
    403: ErrorKind.FORBIDDEN,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TIMEOUT,
    429: ErrorKind.RATE_LIMITED,
}


# Pixxel's ids are UUIDs; this bound leaves room for other forms without letting a path grow unbounded.
MAX_ID_LENGTH = 100


def id_problem(value: object) -> str | None:
    """Why `value` cannot be used as a Pixxel id in a URL path, or None if it can.

    Percent-encoding alone is not enough: `.` and `..` survive it and a server (or a proxy) may
    resolve them as "this/parent path", so the request would reach another resource.
    """
    if not isinstance(value, str) or not value:
        return "an id is required"
    if len(value) > MAX_ID_LENGTH:
        return f"an id is at most {MAX_ID_LENGTH} characters"
    if value in (".", ".."):
        return "an id cannot be . or .."
    if any(ch in "/\\" or ch.isspace() or not ch.isprintable() for ch in value):
        return "an id cannot contain slashes, spaces or control characters"
    return None


def _seg(value: str) -> str:
    """A path segment, validated then escaped, so an id can never add segments or a query.

    A bad id is refused here, before any request is sent.
    """
    problem = id_problem(value)
    if problem is not None:
        shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
        raise PixxelError(
            ErrorKind.BAD_REQUEST,
            f"refused to send {shown}: {problem}",
            user_message=f"{shown} is not a valid Pixxel id ({problem}).",
        )
    return quote(value, safe="")


def opens_download(url: str, api_base_url: str) -> bool:
    """May the dashboard send a browser to this signed download link?

    Only https: links; plain http: only to the host of a plain-http API itself (the local sandbox),
    so a production dashboard never hands out a link that can be read or changed on the way.
    """
    try:
        link, api = urlsplit(url), urlsplit(api_base_url)
    except ValueError:
        return False
    if not link.hostname:
        return False
    if link.scheme == "https":
        return True
    return link.scheme == "http" == api.scheme and link.netloc == api.netloc


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(Retry().parse_retry_after(value)))
    except (urllib3.exceptions.InvalidHeader, ValueError, OverflowError):
        return None


def _unsafe_outcome_message(method: str, what: str, next_step: str) -> str:
    if method == "POST":
        return (
            f"{what} The job may have been created anyway: refresh the job list before "
            "submitting again."
        )
    return f"{what} {next_step}"


def _parse_ping(response: requests.Response) -> str:
    """/ping is declared as a JSON string; accept plain text too."""
    try:
        value = json.loads(response.content)
    except (ValueError, RecursionError):
        return response.text.strip()
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("message", "status", "ping"):
            if isinstance(value.get(key), str):
                return value[key]
    return response.text.strip()


def _with_id[T](parse: Callable[[Any], T], what: str) -> Callable[[Any], T]:
    def parse_with_id(body: Any) -> T:
        result = parse(body)
        if not getattr(result, "id", None):
            raise PixxelError(ErrorKind.INVALID_RESPONSE, f"the {what} in the response has no id")
        return result

    return parse_with_id
