"""The job page's dependency graph, on plain data: dependency order and cycles (the standard
library's `graphlib`), layers, placement, edges, validation errors marked where they belong, and a
large job's layers collapsed into bands.

No queries here: everything works on `TaskNode`s (the few columns order and layout need; 2,000
model instances cost more than the whole rest of the page). The geometry is drawn by
templates/jobs/detail.html as inline SVG (classes only, no style attributes: the CSP forbids
inline styles).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any

from .models import JobValidationError, Status
from .skipped import ICONS, SKIPPED, STATUS_LABELS, shown_status, skipped_tasks

# Geometry, in SVG pixels -----------------------------------------------------------------------

NODE_W, NODE_H = 190, 46  # a task's box
H_GAP = 18  # between boxes side by side
V_GAP = 46  # between layers
WRAP_GAP = 14  # between the rows of one wrapped layer
MARGIN = 14  # around the drawing
MAX_PER_ROW = 7  # wider layers wrap into several rows (the fan-out's 52 tiles: 8 rows)
GROUP_PAD = 10  # room around a wrapped layer's frame
NAME_CHARS = 24  # a longer task name is cut with "…"
TEXT_INSET, NAME_BASELINE, STATUS_BASELINE = 8, 19, 37  # a box's two lines of text
ARROW_GAP = 3  # an edge stops short of its target so the arrowhead shows
MIN_BEND = 18  # the least curvature of an edge between layers
BACK_REACH, BACK_STAGGER = 28, 6  # how far an edge against the flow goes round the right side
LOOP_BULGE = 14  # a task depending on itself: its loop's height
BADGE_H, BADGE_PAD, BADGE_CHAR_W = 20, 14, 7.5  # the numbered marker of validation errors
BADGE_INSET = 4  # a node's badge sits on its top right corner, this far in

# Task nodes ------------------------------------------------------------------------------------


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


# Order and cycles (graphlib) -------------------------------------------------------------------

MAX_CYCLES = 50  # cycles named on the page; more than that is one broken graph, not many problems


@dataclass
class Ordering[N: Hashable]:
    """graphlib's sorter over `parents` (node → the nodes it depends on) without the `cut` edges;
    `sorter` is None when more than MAX_CYCLES cycles were found (then nothing is ordered)."""

    sorter: TopologicalSorter[N] | None
    parents: dict[N, list[N]]
    cycles: list[list[N]]  # each [a, b, …, a]: b depends on a, …, a depends on the last
    cut: set[tuple[N, N]]  # (dependency, dependent): one edge per cycle, set aside


def order_breaking_cycles[N: Hashable](parents: dict[N, list[N]]) -> Ordering[N]:
    """`graphlib` orders the nodes and names each cycle (its `CycleError`); one edge of each cycle
    is set aside so the rest still orders (a cycle's nodes then follow their other parents)."""
    cycles: list[list[N]] = []
    cut: set[tuple[N, N]] = set()
    graph = parents
    while True:
        sorter = TopologicalSorter(graph)
        try:
            sorter.prepare()
        except CycleError as err:
            if len(cycles) >= MAX_CYCLES:
                return Ordering(None, graph, cycles, cut)
            cycle = list(err.args[1])  # each node a parent of the next, the first repeated last
            cycles.append(cycle)
            cut.add((cycle[-2], cycle[-1]))
            graph = {n: [p for p in ps if (p, n) not in cut] for n, ps in parents.items()}
            continue
        return Ordering(sorter, graph, cycles, cut)


def walk[N: Hashable](
    ordering: Ordering[N], rank: Callable[[N], Any] | None = None
) -> tuple[list[N], dict[N, int]]:
    """(nodes in order, node → 1-based layer: one below its deepest parent). Nodes ready together
    come in `rank` order."""
    order: list[N] = []
    layer: dict[N, int] = {}
    sorter = ordering.sorter
    while sorter is not None and sorter.is_active():
        ready = sorter.get_ready()
        if rank is not None and len(ready) > 1:
            ready = tuple(sorted(ready, key=rank))
        for node in ready:
            order.append(node)
            parents = ordering.parents[node]
            layer[node] = 1 + max(map(layer.__getitem__, parents)) if parents else 1
        sorter.done(*ready)
    return order, layer


@dataclass
class Dependencies:
    """Dependency order, and what is wrong with the dependencies (shown on the page, not hidden)."""

    order: list[TaskNode]
    cycles: list[list[str]]  # each [a, b, …, a]: b depends on a, …, a depends on the last
    missing: list[tuple[str, str]]  # (task, the name it depends on that is no task of the job)
    cut: set[tuple[str, str]]  # (dependency, dependent) edges dropped to break the cycles
    layers: dict[int, int]  # task pk → 1-based layer (one below its deepest dependency)
    skipped: set[int] = field(default_factory=set)  # pks of tasks that will never run

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


def _task_parents(tasks: list[TaskNode]) -> tuple[dict[int, list[int]], list[tuple[str, str]]]:
    """(task pk → the pks it depends on, the dependencies naming no task). A dependency on a name
    used twice means its first task (in Pixxel's order); each task keeps its own dependencies,
    whatever its name."""
    pk_of: dict[str, int] = {}
    for t in reversed(tasks):
        if t.name:
            pk_of[t.name] = t.pk
    parents: dict[int, list[int]] = {t.pk: [] for t in tasks}
    missing: list[tuple[str, str]] = []
    for t in tasks:
        for dep in dict.fromkeys(map(str, t.depends_on or ())):
            if dep not in pk_of:
                missing.append((t.name or t.pixxel_id, dep))
            else:
                parents[t.pk].append(pk_of[dep])
    return parents, missing


def analyse_dependencies(tasks: list[TaskNode]) -> Dependencies:
    """Tasks in dependency order (a task after everything it depends on), ties by Pixxel's order;
    cycles named (one edge of each set aside); dependencies naming no task reported and otherwise
    ignored; the tasks that will never run (see skipped.py)."""
    parents, missing = _task_parents(tasks)
    ordering = order_breaking_cycles(parents)
    name_of = {t.pk: t.name for t in tasks}
    cycles = [[name_of[pk] for pk in cycle] for cycle in ordering.cycles]
    cut = {(name_of[a], name_of[b]) for a, b in ordering.cut}
    if ordering.sorter is None:  # too many cycles to order: Pixxel's order, all in one layer
        flat = sorted(tasks, key=lambda t: t.position)
        return Dependencies(flat, cycles, missing, cut, {t.pk: 1 for t in tasks})
    task_of = {t.pk: t for t in tasks}
    pks, layers = walk(ordering, rank=lambda pk: (task_of[pk].position, pk))
    status_of = {t.pk: t.status for t in tasks}
    skipped = skipped_tasks(pks, status_of, ordering.parents)
    return Dependencies([task_of[pk] for pk in pks], cycles, missing, cut, layers, skipped)


# The drawing ------------------------------------------------------------------------------------


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
        w, h = BADGE_PAD + BADGE_CHAR_W * len(label), BADGE_H
        return cls(label, cx - w / 2, cy - h / 2, w, h, cx, cy + 5)


@dataclass
class GraphNode:
    name: str
    label: str
    status: str  # a Status value, "skipped", or "component" for a spec component that is no task
    status_label: str
    icon: str
    x: float
    y: float
    href: str = ""
    markers: list[int] = field(default_factory=list)
    w: float = NODE_W
    h: float = NODE_H

    @property
    def cx(self) -> float:
        return self.x + NODE_W / 2

    @property
    def text_x(self) -> float:
        return self.x + TEXT_INSET

    @property
    def name_y(self) -> float:
        return self.y + NAME_BASELINE

    @property
    def status_y(self) -> float:
        return self.y + STATUS_BASELINE

    @property
    def badge(self) -> Badge | None:
        return Badge.at(self.markers, self.x + NODE_W - BADGE_INSET, self.y)


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


# What is drawn: tasks, or a rejected job's workflow components ----------------------------------


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


def drawn_names_and_edges(
    ordered: list[TaskNode], errors: list[JobValidationError], spec: Any
) -> tuple[list[str], list[tuple[str, str]]]:
    """The boxes and arrows (dependency, dependent) to draw: the tasks, plus any spec component an
    error names with its edge (e.g. a data block); the spec's components when there are no
    tasks (a job Pixxel rejected)."""
    task_names = {t.name for t in ordered if t.name}
    spec_names, spec_edges = _spec_graph(spec)
    names = [t.name for t in ordered if t.name]
    edges = [(dep, t.name) for t in ordered for dep in t.depends_on or [] if dep in task_names]
    if not names:
        names = list(dict.fromkeys(spec_names))
        edges = [(a, b) for a, b in spec_edges if a in names and b in names]
        return names, list(dict.fromkeys(edges))
    known = set(spec_names)
    for err in errors:
        pair = (err.from_component, err.to_component)
        if pair in spec_edges and all(p in known for p in pair):
            for p in pair:
                if p not in names:
                    names.append(p)
            edges.append(pair)
    return names, list(dict.fromkeys(edges))


# Layering and placement ------------------------------------------------------------------------


def layer_rows(
    names: list[str],
    edges: Iterable[tuple[str, str]],
    cut: AbstractSet[tuple[str, str]] = frozenset(),
) -> list[list[str]]:
    """The names by layer, top first (longest path: one layer below the deepest parent), each
    layer in `names` order. `cut` edges (set aside to break cycles) are drawn against the flow;
    any cycle left is broken the same way."""
    parents: dict[str, list[str]] = {n: [] for n in names}
    for src, dst in edges:
        if src in parents and dst in parents and (src, dst) not in cut:
            parents[dst].append(src)
    _order, layer = walk(order_breaking_cycles(parents))
    rows: dict[int, list[str]] = {}
    for n in names:
        rows.setdefault(layer.get(n, 1), []).append(n)
    return [rows[k] for k in sorted(rows)]


@dataclass
class Placement:
    at: dict[str, tuple[float, float]]  # name → the top left corner of its box
    width: float
    height: float
    wrapped: list[tuple[list[str], float]]  # (members, top y) of the layers spanning rows


def _row_width(count: int) -> float:
    return count * NODE_W + (count - 1) * H_GAP


def place(rows: list[list[str]]) -> Placement:
    """Layers top to bottom, each centred; a layer wider than MAX_PER_ROW wraps and is framed."""
    per_row = min(MAX_PER_ROW, max((len(r) for r in rows), default=1))
    width = MARGIN * 2 + _row_width(per_row)
    at: dict[str, tuple[float, float]] = {}
    wrapped: list[tuple[list[str], float]] = []
    y = MARGIN
    for members in rows:
        wraps = len(members) > MAX_PER_ROW
        if wraps:
            y += GROUP_PAD
            wrapped.append((members, y))
        for start in range(0, len(members), MAX_PER_ROW):
            chunk = members[start : start + MAX_PER_ROW]
            x = (width - _row_width(len(chunk))) / 2
            for i, name in enumerate(chunk):
                at[name] = (x + i * (NODE_W + H_GAP), y)
            y += NODE_H + WRAP_GAP
        y += (GROUP_PAD if wraps else 0) + V_GAP - WRAP_GAP
    height = max(y - V_GAP + MARGIN + 4, NODE_H + 2 * MARGIN)
    return Placement(at, width, height, wrapped)


def _node(name: str, status: str, xy: tuple[float, float], href: str) -> GraphNode:
    label = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
    return GraphNode(
        name=name,
        label=label,
        status=status,
        status_label=STATUS_LABELS.get(status, "Component"),
        icon=ICONS.get(status, "▭"),
        x=xy[0],
        y=xy[1],
        href=href,
    )


# Edges -----------------------------------------------------------------------------------------


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    bend = max(MIN_BEND, (y2 - y1) / 2)
    return (
        f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
    )


def _down_edge(src: str, dst: str, x1: float, y1: float, x2: float, y2: float) -> GraphEdge:
    return GraphEdge(src, dst, _curve(x1, y1, x2, y2), (x1 + x2) / 2, (y1 + y2) / 2)


def _back_curve(a: GraphNode, b: GraphNode, index: int) -> tuple[str, float, float]:
    """From a's right side round to b's right side; a loop when a is b. Returns (path, mid x, y)."""
    reach = BACK_REACH + BACK_STAGGER * (index % 4)  # neighbouring back edges do not overlap
    x1, y1 = a.x + NODE_W, a.y + NODE_H / 2 + 6
    x2, y2 = b.x + NODE_W + ARROW_GAP, b.y + NODE_H / 2 - 6
    out = max(x1, x2) + reach
    bulge = LOOP_BULGE if a is b else 0
    path = (
        f"M{x1:.1f},{y1:.1f} C{out:.1f},{y1 + bulge:.1f} {out:.1f},{y2 - bulge:.1f} "
        f"{x2:.1f},{y2:.1f}"
    )
    # The curve's own midpoint (t = 0.5), where a badge goes; it never reaches `out`.
    return path, 0.125 * (x1 + x2) + 0.75 * out, (y1 + y2) / 2


def draw_edges(
    edges: list[tuple[str, str]],
    nodes: dict[str, GraphNode],
    cycle_edges: AbstractSet[tuple[str, str]] = frozenset(),
) -> tuple[dict[tuple[str, str], GraphEdge], float]:
    """Each edge from its dependency down to its dependent, keyed (source, target); an edge
    against the flow (a cycle, a task depending on itself) goes round the right-hand side, so it
    is never hidden behind the boxes it joins. Also returns the width those reach to."""
    drawn: dict[tuple[str, str], GraphEdge] = {}
    right = 0.0
    for index, (src, dst) in enumerate(edges):
        a, b = nodes[src], nodes[dst]
        if b.y > a.y:
            edge = _down_edge(src, dst, a.cx, a.y + NODE_H, b.cx, b.y - ARROW_GAP)
        else:
            path, mid_x, mid_y = _back_curve(a, b, index)
            edge = GraphEdge(src, dst, path, mid_x, mid_y)
            right = max(right, mid_x + NODE_W / 4 + MARGIN)
        edge.cycle = (src, dst) in cycle_edges
        drawn[(src, dst)] = edge
    return drawn, right


def _shared_edges(
    members: list[str], graph_edges: dict[tuple[str, str], GraphEdge]
) -> list[tuple[str, bool]]:
    """(other node, incoming?) for each node linked to *every* member the same way, by edges that
    carry no error."""
    member_set = set(members)
    others = {s for s, d in graph_edges if d in member_set}
    others |= {d for s, d in graph_edges if s in member_set}
    shared = []
    for other in others - member_set:
        for incoming in (True, False):
            keys = [(other, m) if incoming else (m, other) for m in members]
            if all(k in graph_edges and not graph_edges[k].markers for k in keys):
                shared.append((other, incoming))
    return shared


def bus_edges(
    members: list[str],
    top: float,
    nodes: dict[str, GraphNode],
    graph_edges: dict[tuple[str, str], GraphEdge],
) -> GraphGroup:
    """Frame a wrapped layer; a task linked to every member gets one edge to the frame instead
    of one per member (52 crossing curves are unreadable). Edges carrying errors stay."""
    boxes = [nodes[m] for m in members]
    left = min(b.x for b in boxes) - GROUP_PAD
    right = max(b.x for b in boxes) + NODE_W + GROUP_PAD
    bottom = max(b.y for b in boxes) + NODE_H + GROUP_PAD
    group = GraphGroup(f"{len(members)} tasks", left, top - GROUP_PAD, right - left, 0)
    group.h = bottom - group.y
    cx = (left + right) / 2
    for other, incoming in _shared_edges(members, graph_edges):
        for m in members:
            del graph_edges[(other, m) if incoming else (m, other)]
        o = nodes[other]
        if incoming:
            edge = _down_edge(other, group.label, o.cx, o.y + NODE_H, cx, group.y - ARROW_GAP)
        else:
            edge = _down_edge(group.label, other, cx, group.y + group.h, o.cx, o.y - ARROW_GAP)
        graph_edges[(edge.source, edge.target)] = edge
    return group


# Validation errors -----------------------------------------------------------------------------


def mark_error_edges(
    errors: list[JobValidationError], graph_edges: dict[tuple[str, str], GraphEdge]
) -> None:
    """Number each error (1-based) on the edge it names (before buses replace shared edges)."""
    for number, err in enumerate(errors, start=1):
        edge = graph_edges.get((err.from_component, err.to_component))
        if edge is not None:
            edge.markers.append(number)


def place_errors(
    errors: list[JobValidationError],
    graph_edges: dict[tuple[str, str], GraphEdge],
    nodes: dict[str, GraphNode],
) -> list[PlacedError]:
    """Where each error shows: on its edge (marked by mark_error_edges), else on the component it
    names, else listed as naming nothing in the graph."""
    placed = []
    for number, err in enumerate(errors, start=1):
        if (err.from_component, err.to_component) in graph_edges:
            placed.append(PlacedError(number, err, "edge"))
            continue
        node = nodes.get(err.component_name) or nodes.get(err.to_component)
        if node is not None:
            node.markers.append(number)
            placed.append(PlacedError(number, err, "component"))
            continue
        placed.append(PlacedError(number, err, "unplaced"))
    return placed


# The graph -------------------------------------------------------------------------------------


def build_graph(
    ordered: list[TaskNode],
    errors: list[JobValidationError],
    spec: Any,
    links: dict[str, str],
    deps: Dependencies | None = None,
) -> Graph:
    """The drawing of `ordered` (tasks, or band boxes), with `deps`' cycles and skipped tasks."""
    cycle_edges = deps.cycle_edges if deps else set()
    cut = deps.cut if deps else set()
    skipped = deps.skipped if deps else set()
    names, edges = drawn_names_and_edges(ordered, errors, spec)
    placement = place(layer_rows(names, edges, cut))
    status_of = {t.name: shown_status(t.status, t.pk in skipped) for t in ordered if t.name}
    nodes = {
        name: _node(name, status_of.get(name, "component"), xy, links.get(name, ""))
        for name, xy in placement.at.items()
    }
    graph_edges, reach = draw_edges(edges, nodes, cycle_edges)
    mark_error_edges(errors, graph_edges)
    groups = [bus_edges(members, top, nodes, graph_edges) for members, top in placement.wrapped]
    return Graph(
        nodes=list(nodes.values()),
        edges=list(graph_edges.values()),
        errors=place_errors(errors, graph_edges, nodes),
        width=max(placement.width, reach),
        height=placement.height,
        groups=groups,
    )


# Large jobs: layers collapsed into bands -------------------------------------------------------

GRAPH_MAX_NODES = 100  # beyond this many tasks, the graph shows bands of layers
MAX_BANDS = 20


@dataclass
class Band:
    """Consecutive layers of a large job's graph, drawn as one box with its tasks counted."""

    number: int  # 1-based, the `band` query parameter that expands it
    first_layer: int
    last_layer: int
    tasks: list[TaskNode]
    skipped: set[int] = field(default_factory=set)  # the job's skipped pks

    @property
    def label(self) -> str:
        if self.first_layer == self.last_layer:
            return f"Layer {self.first_layer}"
        return f"Layers {self.first_layer}–{self.last_layer}"

    def _statuses(self) -> list[str]:
        return [shown_status(t.status, t.pk in self.skipped) for t in self.tasks]

    @property
    def status(self) -> str:
        statuses = set(self._statuses())
        for status in (Status.FAILED, Status.RUNNING):
            if status in statuses:
                return status
        if statuses == {Status.SUCCEEDED}:
            return Status.SUCCEEDED
        for waiting in (Status.QUEUED, SKIPPED.status):
            if waiting in statuses:
                return waiting
        return Status.UNKNOWN

    @property
    def counts(self) -> str:
        """ "✔ 98 ▶ 1 ◷ 1 of 100": how many of its tasks are in each status (icon and number)."""
        tally: dict[str, int] = {}
        for status in self._statuses():
            tally[status] = tally.get(status, 0) + 1
        parts = [f"{ICONS.get(st, '?')} {n}" for st, n in tally.items()]
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
            result.append(Band(len(result) + 1, number, number, list(members), deps.skipped))
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
