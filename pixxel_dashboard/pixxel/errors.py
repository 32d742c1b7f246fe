"""The one exception the Pixxel client raises, with a sentence fit to show a user.

Messages are built here from known parts only (kind, status, upstream code/message), never from a
`requests` exception's text: those can carry request details, and the API key must not leak.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """What went wrong, in words stable enough to store (`Submission.error_kind`) and to branch on."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    INVALID_RESPONSE = "invalid_response"


# Upstream messages end up in user-facing text: keep them short.
_MAX_UPSTREAM_MESSAGE = 300


def mask_key(key: str | None) -> str:
    """`"sbx_0123abcd"` → `"••••abcd"`: enough to recognise a key, never enough to use it."""
    if not key:
        return "••••"
    tail = key[-4:] if len(key) > 8 else ""
    return "••••" + tail


def _seconds(value: float | None) -> str:
    if value is None:
        return "a few"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


class PixxelError(Exception):
    """Anything that went wrong talking to Pixxel.

    `kind` is an `ErrorKind`; `status` the HTTP status (None when there was no response); `code`,
    `message` and `details` come from Pixxel's `{"error": {...}}` body when it sent one;
    `retry_after` is in seconds; `user_message` is a plain sentence for the person at the screen;
    `outcome_unknown` says an unsafe request may have taken effect despite the error.
    """

    def __init__(
        self,
        kind: ErrorKind | str,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,  # any JSON value: Pixxel's error body says what
        retry_after: float | None = None,
        timeout: float | None = None,
        method: str | None = None,
        path: str | None = None,
        user_message: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        self.kind = ErrorKind(kind)  # ValueError for an unknown kind
        self.status = status
        self.code = code
        self.message = (message or "")[: _MAX_UPSTREAM_MESSAGE * 2]
        self.details = details
        self.retry_after = retry_after
        self.timeout = timeout
        self.method = method
        self.path = path
        self._user_message = user_message
        # True when an unsafe request (POST/PUT) may have taken effect although it failed (e.g. a
        # timeout after the job was created): callers must check before trying again.
        self.outcome_unknown = outcome_unknown
        super().__init__(self.__str__())

    @property
    def user_message(self) -> str:
        if self._user_message:
            return self._user_message
        return default_user_message(self)

    def __str__(self) -> str:
        parts: list[str] = [self.kind]
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        text = " ".join(parts)
        if self.message:
            text += f": {self.message}"
        return text

    def __repr__(self) -> str:
        return (
            f"PixxelError(kind={self.kind.value!r}, status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, retry_after={self.retry_after!r})"
        )

    def __reduce__(self):
        # Keeps the error picklable (django.tasks may store it) despite the keyword-only init.
        return (_rebuild, (self.kind, self.message, self.__dict__.copy()))


def _rebuild(kind: ErrorKind, message: str, state: dict) -> PixxelError:
    err = PixxelError.__new__(PixxelError)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


def _upstream(err: PixxelError) -> str:
    msg = (err.message or "").strip().rstrip(".")
    if not msg or err.status is None:
        return ""
    if len(msg) > _MAX_UPSTREAM_MESSAGE:
        msg = msg[:_MAX_UPSTREAM_MESSAGE].rstrip() + "…"
    return f" ({msg})"


def default_user_message(err: PixxelError) -> str:
    kind = err.kind
    if kind == ErrorKind.BAD_REQUEST:
        return (
            f"Pixxel rejected the request as invalid{_upstream(err)}. "
            "Check the selected project and workflow, then try again."
        )
    if kind == ErrorKind.UNAUTHORIZED:
        return (
            "Pixxel did not accept the API key. "
            "Check the organization's API key in Settings → API keys."
        )
    if kind == ErrorKind.FORBIDDEN:
        return (
            "Pixxel rejected the API key or it lacks access to this project. "
            "Check the organization's API key in Settings → API keys."
        )
    if kind == ErrorKind.NOT_FOUND:
        return (
            f"Pixxel could not find what was asked for{_upstream(err)}. "
            "It may have been deleted, or it belongs to a project this API key cannot see."
        )
    if kind == ErrorKind.RATE_LIMITED:
        wait = (
            f"in {_seconds(err.retry_after)} seconds"
            if err.retry_after is not None
            else "in a minute"
        )
        return f"Pixxel is receiving too many requests right now. Try again {wait}."
    if kind == ErrorKind.SERVER_ERROR:
        status = f" (HTTP {err.status})" if err.status else ""
        return (
            f"Pixxel had a problem on its side{status}. "
            "Try again in a few minutes; if it keeps happening, Pixxel may be having an outage."
        )
    if kind == ErrorKind.TIMEOUT:
        return (
            f"Pixxel did not answer within {_seconds(err.timeout)} seconds. "
            "It may be busy; try again in a minute."
        )
    if kind == ErrorKind.CONNECTION:
        return (
            "The dashboard could not reach Pixxel (the connection failed or was cut off). "
            "Check the network connection and try again in a minute."
        )
    return (
        "Pixxel sent a response the dashboard could not understand. "
        "Try again later; if it keeps happening, tell the dashboard's administrators."
    )
