"""What the live job page shows, computed once per render: task order and dependency problems, the
dependency graph's layout (in bands of layers for a large job), the timeline, the task table's page,
readable inputs/results/logs of a task opened.

Pure functions over rows the view loads (no queries here, except through the loader the view hands
`job_page` and `job.spec`, read from its JobDocument only when needed): the page's query count stays the same for 5 tasks or 2,000. Geometry is computed here and drawn by templates/jobs/detail.html as inline SVG
(classes only, no style attributes: the CSP forbids inline styles).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from graphlib import CycleError, TopologicalSorter
from typing import Any

from django.core.paginator import Paginator

from pixxel_dashboard.pixxel.parsing import format_duration

from .models import STATUS_ICONS, Job, JobValidationError, Status, Task

STATUS_LABELS = dict(Status.choices)


# Durations -----------------------------------------------------------------------------------


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


# Task order and dependency problems ----------------------------------------------------------
# (over TaskNode: the few columns order, graph and bands need; 2,000 model instances cost more than
# the whole rest of the page)


@dataclass(slots=True)
class TaskNode:
    pk: int
    pixxel_id: str
    name: str
    position: int
    depends_on: list
    status: str


NODE_FIELDS = ("pk", "pixxel_id", "name", "position", "depends_on", "status")


def task_nodes(rows: list[tuple]) -> list[TaskNode]:
    """TaskNodes from NODE_FIELDS rows whose `depends_on` is still JSON text: one json.loads for
    all of them (2,000 separate decodes cost more than the rest of the query)."""
    decoded = json.loads("[" + ",".join(r[4] or "[]" for r in rows) + "]")
    return [
        TaskNode(r[0], r[1], r[2], r[3], deps, r[5]) for r, deps in zip(rows, decoded, strict=True)
    ]


MAX_CYCLES = 50  # cycles named on the page; more than that is one broken graph, not many problems


@dataclass
class Dependencies:
    """Dependency order, and what is wrong with the dependencies (shown on the page, not hidden)."""

    order: list[TaskNode]
    cycles: list[list[str]]  # each [a, b, …, a]: b depends on a, …, a depends on the last
    missing: list[tuple[str, str]]  # (task, the name it depends on that is no task of the job)
    cut: set[tuple[str, str]]  # (dependency, dependent) edges dropped to break the cycles
    layers: dict[int, int]  # task pk → 1-based layer (one below its deepest dependency)

    @property
    def cycle_sentences(self) -> list[str]:
        return [
            f"Task {cycle[0]} depends on itself, so Pixxel cannot run it."
            if len(cycle) == 2
            else f"Tasks {' → '.join(cycle)} form a cycle: each waits for another, so Pixxel "
            "cannot run them in order."
            for cycle in self.cycles
        ]

    @property
    def cycle_edges(self) -> set[tuple[str, str]]:
        return {(c[i], c[i + 1]) for c in self.cycles for i in range(len(c) - 1)}


def analyse_dependencies(tasks: list[TaskNode]) -> Dependencies:
    """Tasks in dependency order (a task after everything it depends on), ties by Pixxel's order.

    `graphlib` finds the order and names each cycle; one edge of each cycle is set aside so the
    rest still orders (a cycle's tasks then follow their other dependencies). Dependencies naming
    no task are reported and otherwise ignored.
    """
    pk_of: dict[str, int] = {}
    for t in reversed(tasks):  # a name used twice means its first task (in Pixxel's order)
        if t.name:
            pk_of[t.name] = t.pk
    missing: list[tuple[str, str]] = []
    edges: list[tuple[str, str, int, int]] = []  # (dependency, dependent, their pks)
    for t in tasks:
        if not t.depends_on:
            continue
        for dep in dict.fromkeys(map(str, t.depends_on)):
            if dep in pk_of:
                if t.name:
                    edges.append((dep, t.name, pk_of[dep], pk_of[t.name]))
            else:
                missing.append((t.name or t.pixxel_id, dep))
    cycles: list[list[str]] = []
    cut: set[tuple[str, str]] = set()
    names_of = {t.pk: t.name for t in tasks}
    while True:
        graph: dict[int, list[int]] = {t.pk: [] for t in tasks}
        for dep, name, dep_pk, pk in edges:
            if not cut or (dep, name) not in cut:
                graph[pk].append(dep_pk)
        sorter = TopologicalSorter(graph)
        try:
            sorter.prepare()
        except CycleError as err:
            if len(cycles) >= MAX_CYCLES:
                flat = sorted(tasks, key=lambda t: t.position)
                return Dependencies(flat, cycles, missing, cut, {t.pk: 1 for t in tasks})
            cycle = [names_of[pk] for pk in err.args[1]]
            cycles.append(cycle)
            cut.add((cycle[-2], cycle[-1]))
            continue
        break
    task_of = {t.pk: t for t in tasks}
    rank = {t.pk: (t.position, t.pk) for t in tasks}
    order: list[TaskNode] = []
    layer: dict[int, int] = {}  # 1-based: one below the task's deepest dependency
    while sorter.is_active():
        ready = sorter.get_ready()
        if len(ready) > 1:  # ties in Pixxel's order
            ready = sorted(ready, key=rank.__getitem__)
        for pk in ready:
            order.append(task_of[pk])
            parents = graph[pk]
            layer[pk] = 1 + max(map(layer.__getitem__, parents)) if parents else 1
        sorter.done(*ready)
    return Dependencies(order, cycles, missing, cut, layer)


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


@dataclass
class TaskRow:
    """One line of the task table (no inputs, results or logs: those load when a task is opened)."""

    task: Task
    number: int  # place in dependency order, 1-based; also the row's stable anchor
    missing: list[str] = field(default_factory=list)  # dependencies naming no task
    view: TaskView | None = None  # set when the page shows the task opened (failed, log search)

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

    @property
    def failed(self) -> bool:
        return self.task.status == Status.FAILED

    @property
    def can_download(self) -> bool:
        return self.task.status == Status.SUCCEEDED


def task_view(t: Task, log_q: str = "") -> TaskView:
    lines = log_lines(t.info_logs)
    return TaskView(
        task=t,
        inputs=readable(t.inputs),
        result=readable(t.result),
        logs=filter_lines(lines, log_q),
        log_total=len(lines),
        duration=_duration(t),
        inference=format_duration(_seconds_between(t.block_inf_start_time, t.block_inf_end_time)),
    )


# Dependency graph ----------------------------------------------------------------------------

NODE_W, NODE_H = 190, 46
H_GAP, V_GAP, WRAP_GAP = 18, 46, 14
MARGIN = 14
MAX_PER_ROW = 7  # wider layers wrap into several rows (the fan-out's 52 tiles: 8 rows)
GROUP_PAD = 10  # room around a wrapped layer's frame
NAME_CHARS = 24


@dataclass
class Badge:
    """The numbered marker of validation errors, centred on (cx, cy)."""

    label: str
    x: float
    y: float
    w: float
    h: float
    text_x: float
    text_y: float

    @classmethod
    def at(cls, numbers: list[int], cx: float, cy: float) -> Badge | None:
        if not numbers:
            return None
        label = "⚠ " + ",".join(str(n) for n in numbers)
        w, h = 14 + 7.5 * len(label), 20
        return cls(label, cx - w / 2, cy - h / 2, w, h, cx, cy + 5)


@dataclass
class GraphNode:
    name: str
    label: str
    status: str  # a Status value, or "component" for a spec component that is not a task
    status_label: str
    icon: str
    x: float
    y: float
    href: str = ""
    markers: list[int] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return self.x + NODE_W / 2

    @property
    def text_x(self) -> float:
        return self.x + 8

    @property
    def name_y(self) -> float:
        return self.y + 19

    @property
    def status_y(self) -> float:
        return self.y + 37

    w: float = NODE_W
    h: float = NODE_H

    @property
    def badge(self) -> Badge | None:
        return Badge.at(self.markers, self.x + NODE_W - 4, self.y)


@dataclass
class GraphEdge:
    source: str
    target: str
    path: str
    mid_x: float
    mid_y: float
    markers: list[int] = field(default_factory=list)
    cycle: bool = False  # part of a dependency cycle (drawn in the warning colour)

    @property
    def invalid(self) -> bool:
        return bool(self.markers)

    @property
    def badge(self) -> Badge | None:
        return Badge.at(self.markers, self.mid_x, self.mid_y)


@dataclass
class PlacedError:
    number: int
    error: JobValidationError
    placement: str  # "edge", "component" or "unplaced"


@dataclass
class GraphGroup:
    """A layer too wide for one row, framed: edges shared by all its members meet the frame."""

    label: str
    x: float
    y: float
    w: float
    h: float

    @property
    def label_x(self) -> float:
        return self.x + 6

    @property
    def label_y(self) -> float:
        return self.y - 4


@dataclass
class Graph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    errors: list[PlacedError]
    width: float
    height: float
    groups: list[GraphGroup] = field(default_factory=list)

    @property
    def unplaced(self) -> list[PlacedError]:
        return [e for e in self.errors if e.placement == "unplaced"]


def _spec_graph(spec: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Component names and edges from the job's workflow spec, when it has that shape."""
    if not isinstance(spec, dict):
        return [], []
    names = [
        str(c["name"])
        for c in spec.get("components") or []
        if isinstance(c, dict) and c.get("name")
    ]
    edges = [
        (str(e["from"]), str(e["to"]))
        for e in spec.get("edges") or []
        if isinstance(e, dict) and e.get("from") and e.get("to")
    ]
    return names, edges


def _layers(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering: a node sits one layer below its deepest parent."""
    parents: dict[str, list[str]] = {n: [] for n in names}
    for src, dst in edges:
        if src in parents and dst in parents and src != dst:
            parents[dst].append(src)
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(name: str) -> int:
        if name in layer:
            return layer[name]
        if name in visiting:  # a cycle: break it here
            return 0
        visiting.add(name)
        value = 1 + max((depth(p) for p in parents[name]), default=-1)
        visiting.discard(name)
        layer[name] = value
        return value

    for n in names:
        depth(n)
    return layer


def build_graph(
    ordered: list[TaskNode],
    errors: list[JobValidationError],
    spec: Any,
    links: dict[str, str],
    cycle_edges: set[tuple[str, str]] = frozenset(),
    cut: set[tuple[str, str]] = frozenset(),
) -> Graph:
    task_by_name = {t.name: t for t in ordered if t.name}
    spec_names, spec_edges = _spec_graph(spec)
    names: list[str] = [t.name for t in ordered if t.name]
    edges: list[tuple[str, str]] = [
        (dep, t.name) for t in ordered for dep in t.depends_on or [] if dep in task_by_name
    ]
    if not names:
        # A job Pixxel rejected has no tasks: draw the workflow's components instead.
        names = list(dict.fromkeys(spec_names))
        edges = [(a, b) for a, b in spec_edges if a in names and b in names]
    else:
        # Spec components named by an error (e.g. a data block) join the graph with their edge.
        known = set(spec_names)
        for err in errors:
            pair = (err.from_component, err.to_component)
            if pair in spec_edges and all(p in known for p in pair):
                for p in pair:
                    if p not in names:
                        names.append(p)
                if pair not in edges:
                    edges.append(pair)
    edges = list(dict.fromkeys(edges))

    # Layered without the edges set aside to break cycles: those are drawn against the flow.
    layer = _layers(names, [e for e in edges if e not in cut])
    rows: dict[int, list[str]] = {}
    for n in names:
        rows.setdefault(layer[n], []).append(n)

    nodes: dict[str, GraphNode] = {}
    per_row = min(MAX_PER_ROW, max((len(r) for r in rows.values()), default=1))
    width = MARGIN * 2 + per_row * NODE_W + (per_row - 1) * H_GAP
    y = MARGIN
    wrapped: list[tuple[list[str], float]] = []  # (members, top y) of layers spanning rows
    for depth_index in sorted(rows):
        members = rows[depth_index]
        if len(members) > MAX_PER_ROW:
            y += GROUP_PAD
            wrapped.append((members, y))
        for start in range(0, len(members), MAX_PER_ROW):
            chunk = members[start : start + MAX_PER_ROW]
            row_w = len(chunk) * NODE_W + (len(chunk) - 1) * H_GAP
            x = (width - row_w) / 2
            for name in chunk:
                t = task_by_name.get(name)
                status = t.status if t else "component"
                label = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
                nodes[name] = GraphNode(
                    name=name,
                    label=label,
                    status=status,
                    status_label=STATUS_LABELS.get(status, "Component"),
                    icon=STATUS_ICONS.get(status, "▭"),
                    x=x,
                    y=y,
                    href=links.get(name, ""),
                )
                x += NODE_W + H_GAP
            y += NODE_H + WRAP_GAP
        if len(members) > MAX_PER_ROW:
            y += GROUP_PAD
        y += V_GAP - WRAP_GAP
    height = max(y - V_GAP + MARGIN + 4, NODE_H + 2 * MARGIN)

    graph_edges: dict[tuple[str, str], GraphEdge] = {}
    for back_index, (src, dst) in enumerate(edges):
        a, b = nodes[src], nodes[dst]
        if b.y > a.y:
            x1, y1 = a.cx, a.y + NODE_H
            x2, y2 = b.cx, b.y - 3
            path, mid_x, mid_y = _curve(x1, y1, x2, y2), (x1 + x2) / 2, (y1 + y2) / 2
        else:
            # An edge against the flow (a cycle, or a task depending on itself) goes round the
            # right-hand side, so it is never hidden behind the boxes it joins.
            path, mid_x, mid_y = _back_curve(a, b, back_index)
            width = max(width, mid_x + NODE_W / 4 + MARGIN)
        graph_edges[(src, dst)] = GraphEdge(
            src, dst, path, mid_x=mid_x, mid_y=mid_y, cycle=(src, dst) in cycle_edges
        )

    placed: list[PlacedError] = []
    for number, err in enumerate(errors, start=1):
        err_pair = (err.from_component, err.to_component)
        if err_pair in graph_edges:
            graph_edges[err_pair].markers.append(number)
    groups = [_bus_edges(members, top, nodes, graph_edges) for members, top in wrapped]
    for number, err in enumerate(errors, start=1):
        edge = graph_edges.get((err.from_component, err.to_component))
        if edge is not None:  # its marker was set before the buses were drawn
            placed.append(PlacedError(number, err, "edge"))
            continue
        node = nodes.get(err.component_name) or nodes.get(err.to_component)
        if node is not None:
            node.markers.append(number)
            placed.append(PlacedError(number, err, "component"))
            continue
        placed.append(PlacedError(number, err, "unplaced"))

    return Graph(
        nodes=list(nodes.values()),
        edges=list(graph_edges.values()),
        errors=placed,
        width=width,
        height=height,
        groups=groups,
    )


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    bend = max(18.0, (y2 - y1) / 2)
    return (
        f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
    )


def _back_curve(a: GraphNode, b: GraphNode, index: int) -> tuple[str, float, float]:
    """From a's right side round to b's right side; a loop when a is b. Returns (path, mid x, y)."""
    reach = 28 + 6 * (index % 4)  # neighbouring back edges do not overlap exactly
    x1, y1 = a.x + NODE_W, a.y + NODE_H / 2 + 6
    x2, y2 = b.x + NODE_W + 3, b.y + NODE_H / 2 - 6
    out = max(x1, x2) + reach
    if a is b:
        path = (
            f"M{x1:.1f},{y1:.1f} C{out:.1f},{y1 + 14:.1f} {out:.1f},{y2 - 14:.1f} {x2:.1f},{y2:.1f}"
        )
    else:
        path = f"M{x1:.1f},{y1:.1f} C{out:.1f},{y1:.1f} {out:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    # The curve's own midpoint (t = 0.5), where a badge goes; it never reaches `out`.
    return path, 0.125 * (x1 + x2) + 0.75 * out, (y1 + y2) / 2


def _bus_edges(
    members: list[str],
    top: float,
    nodes: dict[str, GraphNode],
    graph_edges: dict[tuple[str, str], GraphEdge],
) -> GraphGroup:
    """Frame a wrapped layer; a task linked to *every* member gets one edge to the frame instead
    of one per member (52 crossing curves are unreadable). Edges carrying errors stay."""
    boxes = [nodes[m] for m in members]
    left = min(b.x for b in boxes) - GROUP_PAD
    right = max(b.x for b in boxes) + NODE_W + GROUP_PAD
    bottom = max(b.y for b in boxes) + NODE_H + GROUP_PAD
    group = GraphGroup(f"{len(members)} tasks", left, top - GROUP_PAD, right - left, 0)
    group.h = bottom - group.y
    cx = (left + right) / 2
    member_set = set(members)
    for other in {s for s, d in graph_edges if d in member_set} | {
        d for s, d in graph_edges if s in member_set
    }:
        if other in member_set:
            continue
        for incoming in (True, False):
            keys = [(other, m) if incoming else (m, other) for m in members]
            if not all(k in graph_edges for k in keys):
                continue
            if any(graph_edges[k].markers for k in keys):
                continue
            for k in keys:
                del graph_edges[k]
            o = nodes[other]
            if incoming:
                x1, y1, x2, y2 = o.cx, o.y + NODE_H, cx, group.y - 3
                key = (other, group.label)
            else:
                x1, y1, x2, y2 = cx, group.y + group.h, o.cx, o.y - 3
                key = (group.label, other)
            graph_edges[key] = GraphEdge(
                key[0], key[1], _curve(x1, y1, x2, y2), (x1 + x2) / 2, (y1 + y2) / 2
            )
    return group


# Timeline ------------------------------------------------------------------------------------

LABEL_W, PLOT_W, ROW_H, AXIS_H = 200, 680, 22, 30
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800)


@dataclass
class TimelineRow:
    name: str
    status: str
    status_label: str
    icon: str
    y: float
    text_y: float
    started: bool
    note: str = ""
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


def build_timeline(
    job: Job, ordered: list[Task], bounds: tuple[datetime | None, datetime | None] = (None, None)
) -> Timeline:
    """The tasks' bars on one time axis; `bounds` (the job's start and end) widen it to the whole
    job when only some of its tasks are drawn (one page of a long job)."""
    # "Now" for a task still running is Pixxel's clock (its last update), not ours.
    now = job.pixxel_updated_at or job.exec_updated_at or job.updated_at

    def span(t: Task) -> tuple[datetime, datetime] | None:
        if t.recv_time is None:
            return None
        end = t.send_time or t.finished_at or (now if t.status == Status.RUNNING else None)
        end = end or t.block_inf_end_time or t.recv_time
        return t.recv_time, max(end, t.recv_time)

    spans = {t.pk: span(t) for t in ordered}
    known = [s for s in spans.values() if s]
    starts = [s[0] for s in known] + [m for m in (bounds[0], job.exec_created_at) if m]
    t0 = min(starts, default=None)
    ends = [s[1] for s in known] + ([bounds[1]] if bounds[1] else [])
    if ends and not job.is_terminal and now:
        ends.append(now)  # a task still running elsewhere in the job reaches "now"
    t1 = max(ends, default=None)
    total = max(1.0, (t1 - t0).total_seconds()) if t0 and t1 else 1.0
    scale = PLOT_W / total

    def x_of(moment: datetime) -> float:
        return LABEL_W + (moment - t0).total_seconds() * scale

    rows = []
    for i, t in enumerate(ordered):
        y = AXIS_H + i * ROW_H
        row = TimelineRow(
            name=t.name or t.pixxel_id,
            status=t.status,
            status_label=t.get_status_display(),
            icon=t.status_icon,
            y=y + 4,
            text_y=y + 15,
            started=spans[t.pk] is not None,
        )
        s = spans[t.pk]
        if s is None:
            row.note = (
                "skipped" if (t.state_msg or "").lower().startswith("skipped") else "not started"
            )
        else:
            row.bar_x = x_of(s[0])
            row.bar_w = max(2.0, (s[1] - s[0]).total_seconds() * scale)
            inf_end = t.block_inf_end_time or (now if t.status == Status.RUNNING else None)
            if t.block_inf_start_time and inf_end and inf_end >= t.block_inf_start_time:
                row.has_inference = True
                row.inf_x = x_of(t.block_inf_start_time)
                row.inf_w = max(1.0, (inf_end - t.block_inf_start_time).total_seconds() * scale)
            parts = [f"{row.name}: {t.get_status_display()}"]
            parts.append(f"received {s[0]:%H:%M:%S}")
            if t.block_inf_start_time:
                parts.append(f"inference {t.block_inf_start_time:%H:%M:%S}")
                if t.block_inf_end_time:
                    parts[-1] += f"–{t.block_inf_end_time:%H:%M:%S}"
            if t.send_time:
                parts.append(f"sent {t.send_time:%H:%M:%S}")
            parts.append(f"took {format_duration((s[1] - s[0]).total_seconds())}")
            row.title = ", ".join(parts)
        rows.append(row)

    step = next((s for s in TICK_STEPS if total / s <= 8), TICK_STEPS[-1])
    ticks = []
    if t0 is not None:
        mark = 0
        while mark <= total + 1e-6:
            ticks.append(Tick(LABEL_W + mark * scale, format_duration(mark)))
            mark += step
    height = AXIS_H + max(1, len(ordered)) * ROW_H + 6
    return Timeline(
        rows=rows,
        ticks=ticks,
        width=LABEL_W + PLOT_W + 40,
        height=height,
        axis_y=AXIS_H - 6,
        plot_x=LABEL_W,
        plot_end=LABEL_W + PLOT_W,
        span_label=format_duration(total) if t0 and t1 else "",
    )


# Large jobs: layers collapsed into bands -------------------------------------------------------

GRAPH_MAX_NODES = 100  # beyond this many tasks, the graph and timeline show bands of layers
MAX_BANDS = 20
PAGE_SIZE = 25  # task table rows (and timeline bars) per page


@dataclass
class Band:
    """Consecutive layers of a large job's graph, drawn as one box with its tasks counted."""

    number: int  # 1-based, the `band` query parameter that expands it
    first_layer: int
    last_layer: int
    tasks: list[TaskNode]

    @property
    def label(self) -> str:
        if self.first_layer == self.last_layer:
            return f"Layer {self.first_layer}"
        return f"Layers {self.first_layer}–{self.last_layer}"

    @property
    def status(self) -> str:
        statuses = {t.status for t in self.tasks}
        for status in (Status.FAILED, Status.RUNNING):
            if status in statuses:
                return status
        if statuses == {Status.SUCCEEDED}:
            return Status.SUCCEEDED
        return Status.QUEUED if Status.QUEUED in statuses else Status.UNKNOWN

    @property
    def counts(self) -> str:
        """ "✔ 98 ▶ 1 ◷ 1 of 100": how many of its tasks are in each status (icon and number)."""
        tally: dict[str, int] = {}
        for t in self.tasks:
            tally[t.status] = tally.get(t.status, 0) + 1
        parts = [f"{STATUS_ICONS.get(st, '?')} {n}" for st, n in tally.items()]
        return " ".join(parts) + f" of {len(self.tasks)}"

    def as_node(self, depends_on: list[str]) -> TaskNode:
        """The band as one node, so the graph draws it like a task."""
        return TaskNode(0, self.label, self.label, self.number, depends_on, self.status)


def bands(deps: Dependencies) -> list[Band]:
    """Layers grouped in order into at most about MAX_BANDS boxes of similar task counts."""
    by_layer: dict[int, list[TaskNode]] = {}
    for t in deps.order:
        by_layer.setdefault(deps.layers[t.pk], []).append(t)
    target = max(1, -(-len(deps.order) // MAX_BANDS))
    result: list[Band] = []
    for number in sorted(by_layer):
        members = by_layer[number]
        last = result[-1] if result else None
        if last is not None and len(last.tasks) + len(members) <= target:
            last.tasks.extend(members)
            last.last_layer = number
        else:
            result.append(Band(len(result) + 1, number, number, list(members)))
    return result


def band_graph(deps: Dependencies, band_list: list[Band], expand_url: str) -> Graph:
    """The collapsed graph: one box per band, an edge where a band depends on an earlier one."""
    band_of = {t.name: b for b in band_list for t in b.tasks if t.name}
    pseudo = []
    for b in band_list:
        parents = {
            band_of[d].label
            for t in b.tasks
            for d in t.depends_on or []
            if d in band_of and band_of[d] is not b and (d, t.name) not in deps.cut
        }
        pseudo.append(b.as_node(sorted(parents)))
    links = {b.label: f"{expand_url}band={b.number}#job-graph" for b in band_list}
    graph = build_graph(pseudo, [], None, links)
    counts = {b.label: b.counts for b in band_list}
    for node in graph.nodes:
        node.status_label = counts[node.name]
        node.icon = ""
    return graph


# The page ------------------------------------------------------------------------------------
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
    collapsed: bool  # graph and timeline show bands of layers
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


def job_page(
    job: Job,
    nodes: list[TaskNode],
    errors: list[JobValidationError],
    load_tasks: Callable[[list[int]], dict[int, Task]],
    *,
    page_number: Any = 1,
    only: set[int] | None = None,
    band_number: Any = None,
    task_url: Callable[[TaskNode], str] | None = None,
    expand_url: str = "?",
) -> JobPage:
    """Everything the page draws. Order, graph and bands need only each task's `nodes` entry;
    `load_tasks(pks)` fetches the table's current page in full. `task_url(node)` is a task's own
    page (linked from graph boxes of tasks not on that page); `expand_url` is the page's URL
    ready for `band=N`; `only`, if given, the pks the table lists (a log search's matches)."""
    deps = analyse_dependencies(nodes)
    missing_by_task: dict[str, list[str]] = {}
    for name, dep in deps.missing:
        missing_by_task.setdefault(name, []).append(dep)
    # (number in dependency order, node): a log search lists only its matches, numbered as ever.
    listed = [(i, n) for i, n in enumerate(deps.order, 1) if only is None or n.pk in only]
    page = Paginator(listed, PAGE_SIZE).get_page(page_number)
    full = load_tasks([n.pk for _i, n in page.object_list])
    rows = [
        TaskRow(full[n.pk], i, missing_by_task.get(n.name or n.pixxel_id, []))
        for i, n in page.object_list
        if n.pk in full
    ]
    on_page = {r.task.name: f"#{r.anchor}-details" for r in rows if r.task.name}

    def links(drawn: list[TaskNode]) -> dict[str, str]:
        return {
            n.name: on_page.get(n.name) or (task_url(n) if task_url else "")
            for n in drawn
            if n.name
        }

    # The workflow spec (large for a large job) only matters without tasks or with validation
    # errors to place: only then is it loaded.
    spec = job.spec if errors or not nodes else None
    collapsed = len(nodes) > GRAPH_MAX_NODES
    band = None
    if collapsed:
        band_list = bands(deps)
        band = next((b for b in band_list if str(b.number) == str(band_number)), None)
        if band is not None:
            # One layer can be wider than a readable drawing (a fan-out of thousands): its first
            # GRAPH_MAX_NODES are drawn, the table lists them all.
            drawn = band.tasks[:GRAPH_MAX_NODES]
            graph = build_graph(drawn, errors, spec, links(drawn), deps.cycle_edges, deps.cut)
        else:
            graph = band_graph(deps, band_list, expand_url)
    else:
        graph = build_graph(deps.order, errors, spec, links(deps.order), deps.cycle_edges, deps.cut)
    elapsed, eta, expected = job_header(job)
    return JobPage(
        job=job,
        rows=rows,
        page=page,
        task_count=len(nodes),
        graph=graph,
        # The timeline draws the table's page of tasks, on the whole job's time axis.
        timeline=build_timeline(
            job, [r.task for r in rows], (job.exec_created_at, job.finished_at)
        ),
        deps=deps,
        collapsed=collapsed,
        band=band,
        elapsed=elapsed,
        eta=eta,
        expected_finish=expected,
    )
