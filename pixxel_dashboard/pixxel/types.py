"""What the Pixxel API returns, as plain dataclasses.

Every dataclass keeps the object it was built from in `raw`, so fields Pixxel adds later (or that we
do not model) are never lost. Fields the server left out are None; lists it left out are [].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
UNKNOWN = "unknown"

STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, UNKNOWN)
TERMINAL_STATUSES = frozenset({SUCCEEDED, FAILED})

Encoding = Literal["json", "bytes", "base64", "none"]


@dataclass
class RawJSON:
    """A field the contract calls `integer[]` ("raw JSON"/"raw bytes").

    `value` is the decoded JSON value (or text, when the bytes are not JSON), `original` what was on
    the wire, `encoding` how it arrived: an embedded JSON value ("json"), a list of byte values
    ("bytes"), a base64 string ("base64"), or absent/null ("none").
    """

    value: Any = None
    original: Any = None
    encoding: Encoding = "none"

    @property
    def is_empty(self) -> bool:
        return self.encoding == "none"


@dataclass
class Pagination:
    limit: int | None = None
    offset: int | None = None
    total: int | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Project:
    id: str | None = None
    name: str | None = None  # the slug
    title: str | None = None  # the display name
    org_id: str | None = None
    members_count: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    metadata: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def display_name(self) -> str:
        return self.title or self.name or self.id or ""


@dataclass
class ProjectPage:
    projects: list[Project]
    count: int | None = None


@dataclass
class ValError:
    """A validation error on the workflow graph, between components `from_` and `to`."""

    from_: str | None = None
    to: str | None = None
    err: str | None = None
    reason: str | None = None
    component_name: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Workflow:
    id: str | None = None
    project_id: str | None = None
    legacy_project_id: str | None = None
    name: str | None = None
    created_by: str | None = None
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Only in the single-workflow answer:
    estimated_cost: Decimal | None = None  # credits, bounded (core.credits.as_credits)
    spec: RawJSON = field(default_factory=RawJSON, repr=False)
    val_errors: list[ValError] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class WorkflowPage:
    workflows: list[Workflow]
    pagination: Pagination


@dataclass
class BlockInfo:
    id: str | None = None
    name: str | None = None
    version: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Task:
    id: str | None = None
    name: str | None = None
    status: str = UNKNOWN  # normalised: one of STATUSES
    status_raw: str | None = None  # Pixxel's own word
    state_msg: str | None = None
    progress: int | float | None = None
    depends_on: list[str] = field(default_factory=list)  # task *names*
    disclaimer: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    recv_time: datetime | None = None
    send_time: datetime | None = None
    block_inf_start_time: datetime | None = None
    block_inf_end_time: datetime | None = None
    estimated_time_duration: int | float | None = None  # seconds
    time_taken: str | None = None  # as given, e.g. "1m23s"
    time_taken_seconds: float | None = None
    block_info: BlockInfo | None = None
    err_msg: str | None = None
    failure_type: str | None = None
    inputs: RawJSON = field(default_factory=RawJSON, repr=False)
    result: RawJSON = field(default_factory=RawJSON, repr=False)
    info_logs: RawJSON = field(default_factory=RawJSON, repr=False)
    raw: dict = field(default_factory=dict, repr=False)
    # "Pixxel reported …" sentences for impossible values (shown as unknown or clamped instead).
    notes: list[str] = field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass
class Job:
    id: str | None = None
    workflow_id: str | None = None
    created_by: str | None = None
    status: str = UNKNOWN  # normalised: one of STATUSES
    status_raw: str | None = None
    progress: int | float | None = None  # percent, from "45%"
    cost: Decimal | None = None  # credits, bounded (core.credits.as_credits)
    estimated_duration: int | float | None = None  # seconds
    time_taken: str | None = None
    time_taken_seconds: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    exec_created_at: datetime | None = None
    exec_updated_at: datetime | None = None
    tasks: list[Task] = field(default_factory=list)  # empty in list_jobs answers
    val_errors: list[ValError] = field(default_factory=list)
    spec: RawJSON = field(default_factory=RawJSON, repr=False)
    raw: dict = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)  # as on Task

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass
class Download:
    """A download package for a job or a task. `signed_url` is where the files are fetched."""

    id: str | None = None
    status: str | None = None  # as given; download states are not documented
    signed_url: str | None = None
    workflow_id: str | None = None  # `workflowId` (camelCase) on the job download
    job_id: str | None = None  # only on the task download
    raw: dict = field(default_factory=dict, repr=False)
