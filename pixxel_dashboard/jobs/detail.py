"""The live job page, assembled once per render: the task table's page, the graph (or a large
job's bands) and the timeline (graph.py, timeline.py), the header's times, and readable inputs,
results and logs of a task opened.

No queries here, except through the loader the view hands `job_page` and `job.spec` (read from the
job's JobDocument only when a graph needs it): the page's query count stays the same for 5 tasks or
2,000.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator

from pixxel_dashboard.core.durations import format_duration

from .graph import (
    GRAPH_MAX_NODES,
    Band,
    Dependencies,
    Graph,
    TaskNode,
    band_graph,
    bands,
    build_graph,
)
from .models import Job, JobValidationError, Status, Task
from .skipped import SKIPPED, Shown
from .timeline import Timeline, build_timeline

PAGE_SIZE = 25  # task table rows (and timeline bars) per page

# Durations -----------------------------------------------------------------------------------


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


# Readable values -----------------------------------------------------------------------------

DATA_KEYS = {"name", "type", "format", "value", "description"}


def _is_data_object(item: Any) -> bool:
    return isinstance(item, dict) and "name" in item and set(item) <= DATA_KEYS | {"id"}


def pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@dataclass
class DataRow:
    name: str
    type: str
    format: str
    description: str
    value: str
    multiline: bool


@dataclass
class Readable:
    """A decoded inputs/result value: a small table for Pixxel data-type objects, else pretty JSON."""

    rows: list[DataRow] = field(default_factory=list)
    text: str = ""

    @property
    def empty(self) -> bool:
        return not self.rows and not self.text


def readable(value: Any) -> Readable:
    if value is None or value == [] or value == {} or value == "":
        return Readable()
    items = value if isinstance(value, list) else [value]
    if items and all(_is_data_object(i) for i in items):
        rows = []
        for item in items:
            shown = item.get("value")
            text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)
            multiline = not isinstance(shown, str) and len(text) > 60
            rows.append(
                DataRow(
                    name=str(item.get("name", "")),
                    type=str(item.get("type", "")),
                    format=str(item.get("format", "")),
                    description=str(item.get("description", "")),
                    value=pretty(shown) if multiline else text,
                    multiline=multiline,
                )
            )
        return Readable(rows=rows)
    return Readable(text=pretty(value))


def log_lines(info_logs: Any) -> list[str]:
    """info_logs as lines of text, whatever shape Pixxel sent (list of lines, text, JSON)."""
    if info_logs is None:
        return []
    if isinstance(info_logs, str):
        return info_logs.splitlines()
    if isinstance(info_logs, list):
        return [
            line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
            for line in info_logs
        ]
    return pretty(info_logs).splitlines()


def filter_lines(lines: list[str], query: str) -> list[str]:
    query = query.strip().lower()
    if not query:
        return lines
    return [line for line in lines if query in line.lower()]


# Per-task view models ------------------------------------------------------------------------


def _duration(t: Task) -> str:
    seconds = t.time_taken_seconds
    if seconds is None:
        seconds = _seconds_between(t.recv_time, t.send_time or t.finished_at)
    return t.time_taken or format_duration(seconds)


def shown(task: Task, skipped: bool) -> Task | Shown:
    """What a Status cell draws (the `status_word` partial): the task's own status, or Skipped."""
    return SKIPPED if skipped else task


@dataclass
class TaskRow:
    """One line of the task table (no inputs, results or logs: those load when a task is opened)."""

    task: Task
    number: int  # place in dependency order, 1-based; also the row's stable anchor
    missing: list[str] = field(default_factory=list)  # dependencies naming no task
    view: TaskView | None = None  # set when the page shows the task opened (failed, log search)
    skipped: bool = False  # it will never run: a task it waits for failed (see skipped.py)

    @property
    def shown(self) -> Task | Shown:
        return shown(self.task, self.skipped)

    @property
    def anchor(self) -> str:
        return f"task-{self.number}"

    @property
    def duration(self) -> str:
        return _duration(self.task)

    @property
    def failed(self) -> bool:
        return self.task.status == Status.FAILED


@dataclass
class TaskView:
    """A task opened: everything about it, inputs, result and logs decoded."""

    task: Task
    inputs: Readable
    result: Readable
    logs: list[str]
    log_total: int
    duration: str
    inference: str
    skipped: bool = False

    @property
    def shown(self) -> Task | Shown:
        return shown(self.task, self.skipped)

    @property
    def failed(self) -> bool:
        return self.task.status == Status.FAILED

    @property
    def can_download(self) -> bool:
        return self.task.status == Status.SUCCEEDED


def task_view(t: Task, log_q: str = "", *, skipped: bool = False) -> TaskView:
    lines = log_lines(t.info_logs)
    return TaskView(
        task=t,
        skipped=skipped,
        inputs=readable(t.inputs),
        result=readable(t.result),
        logs=filter_lines(lines, log_q),
        log_total=len(lines),
        duration=_duration(t),
        inference=format_duration(_seconds_between(t.block_inf_start_time, t.block_inf_end_time)),
    )


# The page ------------------------------------------------------------------------------------


@dataclass
class JobPage:
    job: Job
    rows: list[TaskRow]  # the task table's current page
    page: Any  # django.core.paginator.Page of the rows
    task_count: int
    graph: Graph
    timeline: Timeline
    deps: Dependencies
    collapsed: bool  # the graph shows bands of layers
    band: Band | None  # the band drawn expanded, if one was asked for
    elapsed: str
    eta: str
    expected_finish: datetime | None

    @property
    def missing_sentences(self) -> list[str]:
        return [
            f"Task {task} depends on “{dep}”, which is not a task of this job."
            for task, dep in self.deps.missing
        ]


def job_header(job: Job) -> tuple[str, str, datetime | None]:
    """(elapsed, ETA sentence, expected finish) for the page's header."""
    elapsed_s = job.time_taken_seconds
    eta, expected = "", None
    if job.estimated_duration and job.pixxel_created_at:
        expected = job.pixxel_created_at + timedelta(seconds=job.estimated_duration)
    if not job.is_terminal and job.estimated_duration:
        remaining = job.estimated_duration - (elapsed_s or 0)
        eta = "any moment now" if remaining <= 0 else f"about {format_duration(remaining)} left"
    return job.time_taken or format_duration(elapsed_s), eta, expected


def task_table(
    deps: Dependencies,
    load_tasks: Callable[[list[int]], dict[int, Task]],
    page_number: Any,
    only: set[int] | None,
) -> tuple[Page, list[TaskRow]]:
    """The table's page: rows numbered by dependency order (a log search lists only its matches,
    `only`, numbered as ever); only that page's tasks are loaded in full."""
    missing_by_task: dict[str, list[str]] = {}
    for name, dep in deps.missing:
        missing_by_task.setdefault(name, []).append(dep)
    listed = [(i, n) for i, n in enumerate(deps.order, 1) if only is None or n.pk in only]
    page = Paginator(listed, PAGE_SIZE).get_page(page_number)
    full = load_tasks([n.pk for _i, n in page.object_list])
    rows = [
        TaskRow(
            full[n.pk],
            i,
            missing_by_task.get(n.name or n.pixxel_id, []),
            skipped=n.pk in deps.skipped,
        )
        for i, n in page.object_list
        if n.pk in full
    ]
    return page, rows


def _box_links(
    rows: list[TaskRow], task_url: Callable[[TaskNode], str] | None
) -> Callable[[list[TaskNode]], dict[str, str]]:
    """Where a graph box links: its task's details on this page of the table, else (with
    `task_url`) the task's own page."""
    on_page = {r.task.name: f"#{r.anchor}-details" for r in rows if r.task.name}
    own = task_url or (lambda n: "")

    def links(drawn: list[TaskNode]) -> dict[str, str]:
        return {n.name: on_page.get(n.name) or own(n) for n in drawn if n.name}

    return links


def draw_graph(
    deps: Dependencies,
    errors: list[JobValidationError],
    spec: Any,
    links: Callable[[list[TaskNode]], dict[str, str]],
    band_number: Any,
    expand_url: str,
) -> tuple[Graph, Band | None]:
    """All tasks, or for a large job its bands collapsed, or one band (`band_number`) drawn."""
    if len(deps.order) <= GRAPH_MAX_NODES:
        return build_graph(deps.order, errors, spec, links(deps.order), deps), None
    band_list = bands(deps)
    band = next((b for b in band_list if str(b.number) == str(band_number)), None)
    if band is None:
        return band_graph(deps, band_list, expand_url), None
    # One layer can be wider than a readable drawing (a fan-out of thousands): its first
    # GRAPH_MAX_NODES are drawn, the table lists them all.
    drawn = band.tasks[:GRAPH_MAX_NODES]
    return build_graph(drawn, errors, spec, links(drawn), deps), band


def job_page(
    job: Job,
    deps: Dependencies,
    errors: list[JobValidationError],
    load_tasks: Callable[[list[int]], dict[int, Task]],
    *,
    page_number: Any = 1,
    only: set[int] | None = None,
    band_number: Any = None,
    task_url: Callable[[TaskNode], str] | None = None,
    expand_url: str = "?",
) -> JobPage:
    """Everything the page draws. Order, graph and bands need only `deps`, the job's dependency
    analysis (`graph.analyse_dependencies` of every task's node); `load_tasks(pks)` fetches the
    table's current page in full. `task_url(node)` is a task's own page (linked from graph boxes of
    tasks not on that page); `expand_url` is the page's URL ready for `band=N`; `only`, if given,
    the pks the table lists (a log search's matches)."""
    page, rows = task_table(deps, load_tasks, page_number, only)
    links = _box_links(rows, task_url)
    # The workflow spec (large for a large job) only matters without tasks or with validation
    # errors to place: only then is it loaded.
    spec = job.spec if errors or not deps.order else None
    graph, band = draw_graph(deps, errors, spec, links, band_number, expand_url)
    elapsed, eta, expected = job_header(job)
    # The timeline draws the table's page of tasks, on the whole job's time axis.
    bounds = (job.exec_created_at, job.finished_at)
    return JobPage(
        job=job,
        rows=rows,
        page=page,
        task_count=len(deps.order),
        graph=graph,
        timeline=build_timeline(job, [r.task for r in rows], bounds, deps.skipped),
        deps=deps,
        collapsed=len(deps.order) > GRAPH_MAX_NODES,
        band=band,
        elapsed=elapsed,
        eta=eta,
        expected_finish=expected,
    )
