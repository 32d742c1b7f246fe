"""The Pixxel API client: the only package in the dashboard that talks HTTP to Pixxel."""

from .client import PixxelClient
from .errors import (
    ErrorKind,
    PixxelError,
    mask_key,
)
from .parsing import (
    normalize_status,
    parse_datetime,
    parse_progress,
    parse_raw_json,
)
from .types import (
    FAILED,
    QUEUED,
    RUNNING,
    STATUSES,
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

__all__ = [
    "ErrorKind",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "STATUSES",
    "SUCCEEDED",
    "UNKNOWN",
    "BlockInfo",
    "Download",
    "Job",
    "Pagination",
    "PixxelClient",
    "PixxelError",
    "Project",
    "ProjectPage",
    "RawJSON",
    "Task",
    "ValError",
    "Workflow",
    "WorkflowPage",
    "mask_key",
    "normalize_status",
    "parse_datetime",
    "parse_progress",
    "parse_raw_json",
]
