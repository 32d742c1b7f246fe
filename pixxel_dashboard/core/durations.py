"""Durations as Pixxel writes them (Go's `time.Duration` text, "1m23s"), read and written.

Shared by the client (reading `time_taken`), the pages (elapsed times, ETAs) and the sandbox
(writing `time_taken`), so it lives here rather than in any one of them.
"""

import math
import re
from typing import Any

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # Go writes the micro sign
    "μs": 1e-6,  # and some writers the Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)")


def parse_duration(value: Any) -> float | None:
    """Seconds from a Go duration ("1m23s", "1h2m3.5s", "350ms"), "HH:MM:SS", or plain seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) and number >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "")
    if not text:
        return None
    sign = 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if _GO_DURATION.fullmatch(text):
        total = sum(float(num) * _GO_UNITS[unit] for num, unit in _GO_PART.findall(text))
        return sign * total
    clock = _CLOCK.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return sign * (int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds))
    try:
        number = float(text)
    except ValueError:
        return None
    return sign * number if math.isfinite(number) else None


def format_duration(seconds: float | None) -> str:
    """Whole seconds as a Go duration, the form Pixxel uses: 83 → "1m23s", 3725 → "1h2m5s".

    The inverse of parse_duration (to the second); "" for None.
    """
    if seconds is None:
        return ""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
