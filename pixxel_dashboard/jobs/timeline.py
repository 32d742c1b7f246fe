"""The job page's timeline, on plain data: each task's bar from received to sent on one time axis,
its inference apart inside it, tasks never started marked (as skipped when they never will).

No queries: it reads the task rows the page already loaded. Drawn by templates/jobs/detail.html
as inline SVG (classes only: the CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from pixxel_dashboard.core.durations import format_duration

from .models import Job, Status, Task
from .skipped import ICONS, SKIPPED, STATUS_LABELS, shown_status

# Geometry, in SVG pixels
LABEL_W, PLOT_W, ROW_H, AXIS_H = 200, 680, 22, 30
RIGHT_PAD = 40  # room for the last tick's label
MIN_BAR_W, MIN_INFERENCE_W = 2.0, 1.0  # an instant still shows
MAX_TICKS = 8
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800)
NOT_STARTED = "not started"


@dataclass
class TimelineRow:
    name: str
    status: str  # a Status value or "skipped": the row's CSS class
    status_label: str
    icon: str
    y: float
    text_y: float
    started: bool
    note: str = ""  # instead of a bar: "Skipped" or "not started"
    bar_x: float = 0
    bar_w: float = 0
    inf_x: float = 0
    inf_w: float = 0
    has_inference: bool = False
    title: str = ""

    @property
    def inf_y(self) -> float:
        return self.y + 4

    @property
    def label_x(self) -> float:
        return 6


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class Timeline:
    rows: list[TimelineRow]
    ticks: list[Tick]
    width: float
    height: float
    axis_y: float
    plot_x: float
    plot_end: float
    span_label: str

    @property
    def any_started(self) -> bool:
        return any(r.started for r in self.rows)


Span = tuple[datetime, datetime]


def task_span(t: Task, now: datetime | None) -> Span | None:
    """(received, sent) of a task; a task still running reaches `now`; None if never received."""
    if t.recv_time is None:
        return None
    end = t.send_time or t.finished_at or (now if t.status == Status.RUNNING else None)
    end = end or t.block_inf_end_time or t.recv_time
    return t.recv_time, max(end, t.recv_time)


@dataclass
class Axis:
    """Time → x: `t0` at the plot's left edge, `total` seconds across PLOT_W."""

    t0: datetime | None
    total: float
    known: bool  # both ends known (else nothing to label the span with)

    @property
    def scale(self) -> float:
        return PLOT_W / self.total

    def x(self, moment: datetime) -> float:
        if self.t0 is None:  # no task has started: nothing is drawn, the left edge will do
            return LABEL_W
        return LABEL_W + (moment - self.t0).total_seconds() * self.scale

    def width(self, start: datetime, end: datetime, least: float) -> float:
        return max(least, (end - start).total_seconds() * self.scale)


def time_axis(
    spans: list[Span | None],
    bounds: tuple[datetime | None, datetime | None],
    now: datetime | None,
    running: bool,
) -> Axis:
    """The axis spans the bars and `bounds` (the job's start and end: one page of a long job's
    tasks is drawn on the whole job's axis); while the job runs, it reaches `now`."""
    known = [s for s in spans if s]
    t0 = min([s[0] for s in known] + [b for b in bounds[:1] if b], default=None)
    ends = [s[1] for s in known] + [b for b in bounds[1:] if b]
    if ends and running and now:
        ends.append(now)  # a task still running elsewhere in the job reaches "now"
    t1 = max(ends, default=None)
    if t0 is None or t1 is None:
        return Axis(t0, 1.0, False)
    return Axis(t0, max(1.0, (t1 - t0).total_seconds()), True)


def _inference_end(t: Task, now: datetime | None) -> datetime | None:
    return t.block_inf_end_time or (now if t.status == Status.RUNNING else None)


def _clock(value: datetime) -> str:
    """The time of day in the active (organization's) zone, as the task's own details show it."""
    return f"{timezone.localtime(value):%H:%M:%S}"


def _title(t: Task, name: str, span: Span) -> str:
    """The bar's tooltip: what happened when."""
    parts = [f"{name}: {t.get_status_display()}", f"received {_clock(span[0])}"]
    if t.block_inf_start_time:
        inference = f"inference {_clock(t.block_inf_start_time)}"
        if t.block_inf_end_time:
            inference += f"–{_clock(t.block_inf_end_time)}"
        parts.append(inference)
    if t.send_time:
        parts.append(f"sent {_clock(t.send_time)}")
    parts.append(f"took {format_duration((span[1] - span[0]).total_seconds())}")
    return ", ".join(parts)


def _draw_bar(row: TimelineRow, t: Task, span: Span, axis: Axis, now: datetime | None) -> None:
    row.bar_x = axis.x(span[0])
    row.bar_w = axis.width(span[0], span[1], MIN_BAR_W)
    start, end = t.block_inf_start_time, _inference_end(t, now)
    if start and end and end >= start:
        row.has_inference = True
        row.inf_x = axis.x(start)
        row.inf_w = axis.width(start, end, MIN_INFERENCE_W)
    row.title = _title(t, row.name, span)


def timeline_row(
    index: int, t: Task, span: Span | None, axis: Axis, now: datetime | None, skipped: bool
) -> TimelineRow:
    top = AXIS_H + index * ROW_H
    status = shown_status(t.status, skipped)
    row = TimelineRow(
        name=t.name or t.pixxel_id,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        icon=ICONS.get(status, "?"),
        y=top + 4,
        text_y=top + 15,
        started=span is not None,
    )
    if span is None:
        row.note = SKIPPED.label if skipped else NOT_STARTED
    else:
        _draw_bar(row, t, span, axis, now)
    return row


def ticks(axis: Axis) -> list[Tick]:
    """At most about MAX_TICKS marks, at a round step."""
    if axis.t0 is None:
        return []
    step = next((s for s in TICK_STEPS if axis.total / s <= MAX_TICKS), TICK_STEPS[-1])
    marks = range(0, int(axis.total + 1e-6) + 1, step)
    return [Tick(LABEL_W + mark * axis.scale, format_duration(mark)) for mark in marks]


def build_timeline(
    job: Job,
    ordered: list[Task],
    bounds: tuple[datetime | None, datetime | None] = (None, None),
    skipped: AbstractSet[int] = frozenset(),
) -> Timeline:
    """The tasks' bars on one time axis; `bounds` (the job's start and end) widen it to the whole
    job when only some of its tasks are drawn (one page of a long job); `skipped`: the pks of
    tasks that will never run."""
    # "Now" for a task still running is Pixxel's clock (its last update), not ours.
    now = job.pixxel_updated_at or job.exec_updated_at or job.updated_at
    spans = [task_span(t, now) for t in ordered]
    start = min((m for m in (bounds[0], job.exec_created_at) if m), default=None)
    axis = time_axis(spans, (start, bounds[1]), now, not job.is_terminal)
    rows = [
        timeline_row(i, t, span, axis, now, t.pk in skipped)
        for i, (t, span) in enumerate(zip(ordered, spans, strict=True))
    ]
    return Timeline(
        rows=rows,
        ticks=ticks(axis),
        width=LABEL_W + PLOT_W + RIGHT_PAD,
        height=AXIS_H + max(1, len(ordered)) * ROW_H + 6,
        axis_y=AXIS_H - 6,
        plot_x=LABEL_W,
        plot_end=LABEL_W + PLOT_W,
        span_label=format_duration(axis.total) if axis.known else "",
    )
