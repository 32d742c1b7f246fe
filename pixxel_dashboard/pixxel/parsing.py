"""Build the dataclasses in `types` from decoded JSON, tolerating what a real server sends.

Scalars of the wrong type become None (the original stays in `raw`); a body of the wrong *shape* (a
list where an object is expected, a string where a list of objects should be) raises
`PixxelError(kind="invalid_response")`. No other exception type ever leaves the public functions.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pixxel_dashboard.core.credits import as_credits
from pixxel_dashboard.core.durations import parse_duration

from .errors import ErrorKind, PixxelError
from .types import (
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    UNKNOWN,
    BlockInfo,
    Download,
    Job,
    Pagination,
    Project,
    ProjectPage,
    RawJSON,
    Task,
    ValError,
    Workflow,
    WorkflowPage,
)

_STATUS_WORDS = {
    QUEUED: ("queued", "created", "pending", "not started", "scheduled"),
    RUNNING: ("running", "inprogress", "in progress", "started", "processing"),
    SUCCEEDED: ("completed", "complete", "success", "succeeded", "done", "finished"),
    FAILED: ("failed", "failure", "error", "errored", "cancelled", "canceled", "aborted"),
}
_STATUS_MAP = {word: state for state, words in _STATUS_WORDS.items() for word in words}


def invalid(message: str) -> PixxelError:
    return PixxelError(ErrorKind.INVALID_RESPONSE, message)


def _never_raises_other[T](func: Callable[..., T]) -> Callable[..., T]:
    """Whatever a hostile body does to the parser, callers only ever see PixxelError."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PixxelError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError):
            raise invalid(f"unexpected shape in {func.__name__}") from None

    return wrapper


# Scalars ------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if _is_number(value):
        return str(value)
    return None


def as_number(value: Any) -> int | float | None:
    """Numbers as given; numeric strings parsed; anything else (bools, NaN, objects) is None."""
    if _is_number(value):
        return value if not (isinstance(value, float) and not math.isfinite(value)) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_int(value: Any) -> int | None:
    number = as_number(value)
    if number is None:
        return None
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def parse_progress(value: Any) -> int | float | None:
    """`"45%"` → 45, `"45.5%"` → 45.5, `"45"` → 45, `45` → 45; anything else → None."""
    if isinstance(value, str):
        value = value.strip().removesuffix("%").strip()
    number = as_number(value)
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def parse_datetime(value: Any) -> datetime | None:
    """RFC 3339 → aware datetime (UTC assumed when the offset is missing). Junk → None.

    Go's zero time ("0001-01-01T00:00:00Z") means "not set" and is None too.
    """
    parsed = _any_datetime(value)
    if parsed is None or parsed.year <= 1:
        return None
    return parsed


def _any_datetime(value: Any) -> datetime | None:
    """parse_datetime without the "zero time means not set" rule."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    # Go writes up to nine fractional digits; Python's parser takes six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def normalize_status(value: Any) -> tuple[str, str | None]:
    """Pixxel's status word → (one of queued/running/succeeded/failed/unknown, original word)."""
    raw = as_str(value)
    if raw is None:
        return UNKNOWN, None
    key = " ".join(raw.strip().lower().replace("_", " ").replace("-", " ").split())
    return _STATUS_MAP.get(key, _STATUS_MAP.get(key.replace(" ", ""), UNKNOWN)), raw


def parse_raw_json(value: Any) -> RawJSON:
    """Decode a `json.RawMessage`/`[]byte` field, whichever way it travelled."""
    if value is None:
        return RawJSON(None, None, "none")
    if isinstance(value, list) and value and all(_is_byte(item) for item in value):
        data = bytes(value)
        return RawJSON(_decode_bytes(data), value, "bytes")
    if isinstance(value, str):
        unpacked = _b64decode(value)
        if unpacked is not None:
            decoded = _decode_bytes(unpacked)
            if not isinstance(decoded, bytes) and _looks_decoded(decoded):
                return RawJSON(decoded, value, "base64")
        # Not base64 (or base64 of binary junk): an embedded JSON string.
        return RawJSON(value, value, "json")
    return RawJSON(value, value, "json")


def _is_byte(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 255


_URLSAFE_B64 = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def _b64decode(text: str) -> bytes | None:
    # Line breaks are allowed (MIME style); spaces are not, so prose is never mistaken for base64.
    compact = text.strip().replace("\r", "").replace("\n", "")
    if not compact or len(compact) % 4:
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        pass
    if not _URLSAFE_B64.fullmatch(compact):
        return None
    try:
        return base64.urlsafe_b64decode(compact)
    except (binascii.Error, ValueError):
        return None


def _looks_decoded(decoded: Any) -> bool:
    """Base64 of JSON, or of readable text: otherwise the string was probably just a string."""
    if not isinstance(decoded, str):
        return True  # it parsed as JSON
    return all(ch.isprintable() or ch in "\t\r\n" for ch in decoded)


def _decode_bytes(data: bytes) -> Any:
    """bytes → UTF-8 → JSON; text that is not JSON stays text; non-UTF-8 stays bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


# Impossible values -------------------------------------------------------------------------------

# Timestamps of a job or a task (the dataclass fields carry the JSON keys' names), as a note names them.
_TIMESTAMPS = {
    "created_at": "the creation time",
    "updated_at": "the update time",
    "finished_at": "the finish time",
    "exec_created_at": "the start time",
    "exec_updated_at": "the execution update time",
    "recv_time": "the time received",
    "send_time": "the time sent",
    "block_inf_start_time": "the inference start time",
    "block_inf_end_time": "the inference end time",
}
_ESTIMATES = {
    "estimated_duration": "the expected duration",
    "estimated_time_duration": "the expected duration",
}


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _shown(value: Any) -> str:
    """A reported value as a note quotes it: short, and always recognisably Pixxel's own text."""
    if not isinstance(value, str):
        return json.dumps(value, default=str)[:40]
    return f"“{value[:39]}…”" if len(value) > 40 else f"“{value}”"


def flag_impossible[T: (Job, Task)](data: dict, parsed: T) -> T:
    """Values no job can have become unknown (or clamped), each with a "Pixxel reported …" note.

    A progress of 150 % or a cost of -5 shown as a fact would mislead; the raw value stays in `raw`.
    """
    notes = parsed.notes
    reported = data.get("progress")
    if parsed.progress is None and _given(reported):
        notes.append(f"Pixxel reported progress {_shown(reported)}: shown as unknown.")
    elif parsed.progress is not None and not 0 <= parsed.progress <= 100:
        parsed.progress = min(100, max(0, parsed.progress))
        notes.append(f"Pixxel reported progress {_shown(reported)}: shown as {parsed.progress} %.")
    for key, what in _TIMESTAMPS.items():
        reported = data.get(key)
        if hasattr(parsed, key) and _given(reported) and _any_datetime(reported) is None:
            notes.append(f"Pixxel reported {_shown(reported)} as {what}: shown as unknown.")
    reported = data.get("time_taken")
    seconds = parsed.time_taken_seconds
    if _given(reported) and (seconds is None or seconds < 0):
        parsed.time_taken_seconds = None
        notes.append(f"Pixxel reported {_shown(reported)} as the time taken: shown as unknown.")
    for key, what in _ESTIMATES.items():
        value = getattr(parsed, key, None)
        if value is not None and value < 0:
            setattr(parsed, key, None)
            notes.append(f"Pixxel reported {_shown(data.get(key))} as {what}: shown as unknown.")
    # as_credits already turned a negative or absurd cost into None: say so.
    reported_cost = data.get("cost")
    if hasattr(parsed, "cost") and parsed.cost is None and as_number(reported_cost) is not None:
        notes.append(
            f"Pixxel reported a cost of {_shown(data.get('cost'))} credits: shown as unknown."
        )
    return parsed


# Containers ---------------------------------------------------------------------------------------


def _object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise invalid(f"expected an object for {what}, got {type(value).__name__}")
    return value


def _optional_object(value: Any, what: str) -> dict | None:
    if value is None:
        return None
    return _object(value, what)


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"expected a list for {what}, got {type(value).__name__}")
    return value


def _str_list(value: Any, what: str) -> list[str]:
    return [text for text in (as_str(item) for item in _list(value, what)) if text is not None]


def _objects[T](value: Any, what: str, build: Callable[[dict], T]) -> list[T]:
    return [build(_object(item, f"an item of {what}")) for item in _list(value, what)]


# Builders -----------------------------------------------------------------------------------------


@_never_raises_other
def parse_project(data: Any) -> Project:
    data = _object(data, "a project")
    metadata = data.get("metadata")
    return Project(
        id=as_str(data.get("id")),
        name=as_str(data.get("name")),
        title=as_str(data.get("title")),
        org_id=as_str(data.get("org_id")),
        members_count=as_int(data.get("members_count")),
        created_at=parse_datetime(data.get("created_at")),
        updated_at=parse_datetime(data.get("updated_at")),
        metadata=metadata if isinstance(metadata, dict) else {},
        raw=data,
    )


@_never_raises_other
def parse_project_response(body: Any) -> Project:
    """`GET /v0/projects/{id}` → `{"project": {...}}`."""
    body = _object(body, "the project response")
    return parse_project(_object(body.get("project"), "project"))


@_never_raises_other
def parse_project_list(body: Any) -> ProjectPage:
    body = _object(body, "the project list")
    return ProjectPage(
        projects=_objects(body.get("projects"), "projects", parse_project),
        count=as_int(body.get("count")),
    )


@_never_raises_other
def parse_pagination(data: Any) -> Pagination:
    data = _optional_object(data, "pagination") or {}
    return Pagination(
        limit=as_int(data.get("limit")),
        offset=as_int(data.get("offset")),
        total=as_int(data.get("total")),
        raw=data,
    )


@_never_raises_other
def parse_val_error(data: Any) -> ValError:
    data = _object(data, "a validation error")
    return ValError(
        from_=as_str(data.get("from")),
        to=as_str(data.get("to")),
        err=as_str(data.get("err")),
        reason=as_str(data.get("reason")),
        component_name=as_str(data.get("component_name")),
        raw=data,
    )


@_never_raises_other
def parse_workflow(data: Any) -> Workflow:
    data = _object(data, "a workflow")
    return Workflow(
        id=as_str(data.get("id")),
        project_id=as_str(data.get("project_id")),
        legacy_project_id=as_str(data.get("legacy_project_id")),
        name=as_str(data.get("name")),
        created_by=as_str(data.get("created_by")),
        description=as_str(data.get("description")),
        created_at=parse_datetime(data.get("created_at")),
        updated_at=parse_datetime(data.get("updated_at")),
        estimated_cost=as_credits(data.get("estimated_cost")),
        spec=parse_raw_json(data.get("spec")),
        val_errors=_objects(data.get("val_errors"), "val_errors", parse_val_error),
        raw=data,
    )


@_never_raises_other
def parse_workflow_list(body: Any) -> WorkflowPage:
    body = _object(body, "the workflow list")
    return WorkflowPage(
        workflows=_objects(body.get("workflows"), "workflows", parse_workflow),
        pagination=parse_pagination(body.get("pagination")),
    )


@_never_raises_other
def parse_block_info(data: Any) -> BlockInfo | None:
    data = _optional_object(data, "block_info")
    if data is None:
        return None
    return BlockInfo(
        id=as_str(data.get("id")),
        name=as_str(data.get("name")),
        version=as_str(data.get("version")),
        raw=data,
    )


@_never_raises_other
def parse_task(data: Any) -> Task:
    data = _object(data, "a task")
    status, status_raw = normalize_status(data.get("status"))
    time_taken = as_str(data.get("time_taken"))
    task = Task(
        id=as_str(data.get("id")),
        name=as_str(data.get("name")),
        status=status,
        status_raw=status_raw,
        state_msg=as_str(data.get("state_msg")),
        progress=parse_progress(data.get("progress")),
        depends_on=_str_list(data.get("depends_on"), "depends_on"),
        disclaimer=_str_list(data.get("disclaimer"), "disclaimer"),
        created_at=parse_datetime(data.get("created_at")),
        updated_at=parse_datetime(data.get("updated_at")),
        finished_at=parse_datetime(data.get("finished_at")),
        recv_time=parse_datetime(data.get("recv_time")),
        send_time=parse_datetime(data.get("send_time")),
        block_inf_start_time=parse_datetime(data.get("block_inf_start_time")),
        block_inf_end_time=parse_datetime(data.get("block_inf_end_time")),
        estimated_time_duration=as_number(data.get("estimated_time_duration")),
        time_taken=time_taken,
        time_taken_seconds=parse_duration(data.get("time_taken")),
        block_info=parse_block_info(data.get("block_info")),
        err_msg=as_str(data.get("err_msg")),
        failure_type=as_str(data.get("failure_type")),
        inputs=parse_raw_json(data.get("inputs")),
        result=parse_raw_json(data.get("result")),
        info_logs=parse_raw_json(data.get("info_logs")),
        raw=data,
    )
    return flag_impossible(data, task)


@_never_raises_other
def parse_job(data: Any) -> Job:
    """The full job object (create, get) or a list item (no tasks)."""
    data = _object(data, "a job")
    status, status_raw = normalize_status(data.get("status"))
    job = Job(
        id=as_str(data.get("id")),
        workflow_id=as_str(data.get("workflow_id")),
        created_by=as_str(data.get("created_by")),
        status=status,
        status_raw=status_raw,
        progress=parse_progress(data.get("progress")),
        cost=as_credits(data.get("cost")),
        estimated_duration=as_number(data.get("estimated_duration")),
        time_taken=as_str(data.get("time_taken")),
        time_taken_seconds=parse_duration(data.get("time_taken")),
        created_at=parse_datetime(data.get("created_at")),
        updated_at=parse_datetime(data.get("updated_at")),
        finished_at=parse_datetime(data.get("finished_at")),
        exec_created_at=parse_datetime(data.get("exec_created_at")),
        exec_updated_at=parse_datetime(data.get("exec_updated_at")),
        tasks=_objects(data.get("tasks"), "tasks", parse_task),
        val_errors=_objects(data.get("val_errors"), "val_errors", parse_val_error),
        spec=parse_raw_json(data.get("spec")),
        raw=data,
    )
    return flag_impossible(data, job)


@_never_raises_other
def parse_job_list(body: Any) -> list[Job]:
    body = _object(body, "the job list")
    return _objects(body.get("jobs"), "jobs", parse_job)


@_never_raises_other
def parse_estimate(body: Any) -> int | float:
    body = _object(body, "the estimate")
    cost = as_number(body.get("estimated_cost"))
    if cost is None:
        raise invalid("the estimate has no numeric estimated_cost")
    # A negative or absurd estimate is a broken answer, not a price to show and keep.
    if as_credits(cost) is None:
        raise invalid("the estimate's estimated_cost is out of range")
    return cost


@_never_raises_other
def parse_download(data: Any) -> Download:
    data = _object(data, "a download")
    workflow_id = data.get("workflowId")
    if workflow_id is None:
        workflow_id = data.get("workflow_id")
    return Download(
        id=as_str(data.get("id")),
        status=as_str(data.get("status")),
        signed_url=as_str(data.get("signed_url")),
        workflow_id=as_str(workflow_id),
        job_id=as_str(data.get("job_id")),
        raw=data,
    )


def parse_error_body(body: Any) -> tuple[str | None, str | None, Any]:
    """`{"error": {"code", "message", "details"}}` → (code, message, details); lenient on shape."""
    try:
        if not isinstance(body, dict):
            return None, as_str(body) if isinstance(body, str) else None, None
        error = body.get("error", body)
        if isinstance(error, str):
            return None, error, body.get("details")
        if not isinstance(error, dict):
            return None, None, None
        message = error.get("message")
        if message is None:
            message = error.get("msg") or error.get("detail")
        return as_str(error.get("code")), as_str(message), error.get("details")
    except Exception:  # an error body must never mask the error itself
        return None, None, None
