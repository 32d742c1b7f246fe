"""The dependency graph on plain data (no database, no HTML): layers, placement, edges, cycles,
missing names, validation errors where they belong, skipped tasks, bands for large jobs."""

import re

from pixxel_dashboard.jobs import graph
from pixxel_dashboard.jobs.models import JobValidationError
from pixxel_dashboard.jobs.skipped import skipped_tasks


def node(pk, name, depends_on=(), status="queued"):
    return graph.TaskNode(pk, f"id-{pk}", name, pk, list(depends_on), status)


def draw(nodes, errors=(), spec=None, links=None):
    deps = graph.analyse_dependencies(nodes)
    return deps, graph.build_graph(deps.order, list(errors), spec, links or {}, deps)


def rows(g):
    """The drawn boxes' names, top to bottom, each row left to right."""
    by_y: dict[float, list] = {}
    for n in g.nodes:
        by_y.setdefault(n.y, []).append(n)
    return [[n.name for n in sorted(by_y[y], key=lambda n: n.x)] for y in sorted(by_y)]


def path_ends(edge):
    """(start, end) points of an edge's SVG path."""
    points = re.findall(r"(-?[\d.]+),(-?[\d.]+)", edge.path)
    (x1, y1), (x2, y2) = points[0], points[-1]
    return (float(x1), float(y1)), (float(x2), float(y2))


CHAIN = [node(1, "fetch"), node(2, "mask", ["fetch"]), node(3, "export", ["mask"])]
DIAMOND = [
    node(1, "root"),
    node(2, "left", ["root"]),
    node(3, "right", ["root"]),
    node(4, "join", ["left", "right"]),
]


# Layering --------------------------------------------------------------------------------------


def test_a_chain_has_one_task_per_layer_in_order():
    deps, g = draw(CHAIN)
    assert [n.name for n in deps.order] == ["fetch", "mask", "export"]
    assert deps.layers == {1: 1, 2: 2, 3: 3}
    assert rows(g) == [["fetch"], ["mask"], ["export"]]


def test_a_diamond_puts_both_branches_in_one_layer_between_root_and_join():
    deps, g = draw(DIAMOND)
    assert deps.layers == {1: 1, 2: 2, 3: 2, 4: 3}
    assert rows(g) == [["root"], ["left", "right"], ["join"]]


def test_a_task_sits_one_layer_below_its_deepest_dependency():
    # "late" depends on the root and on the chain's end: it goes below the end, not beside "a".
    nodes = [
        node(1, "root"),
        node(2, "a", ["root"]),
        node(3, "b", ["a"]),
        node(4, "late", ["root", "b"]),
    ]
    assert graph.layer_rows(
        ["root", "a", "b", "late"], [("root", "a"), ("a", "b"), ("root", "late"), ("b", "late")]
    ) == [
        ["root"],
        ["a"],
        ["b"],
        ["late"],
    ]
    assert graph.analyse_dependencies(nodes).layers[4] == 4


def test_a_wide_fan_out_wraps_into_rows_inside_one_frame_joined_by_two_bus_edges():
    tiles = [node(i, f"tile {i}", ["split"]) for i in range(2, 22)]  # 20 tiles: 3 rows of ≤ 7
    nodes = [node(1, "split"), *tiles, node(22, "merge", [t.name for t in tiles])]
    _deps, g = draw(nodes)
    drawn_rows = rows(g)
    assert drawn_rows[0] == ["split"] and drawn_rows[-1] == ["merge"]
    assert [len(r) for r in drawn_rows[1:-1]] == [7, 7, 6]
    (group,) = g.groups
    assert group.label == "20 tasks"
    for t in g.nodes:
        if t.name.startswith("tile"):
            assert group.x <= t.x and t.x + t.w <= group.x + group.w
            assert group.y <= t.y and t.y + t.h <= group.y + group.h
    # split → the frame, the frame → merge: two edges instead of forty.
    assert sorted((e.source, e.target) for e in g.edges) == [
        ("20 tasks", "merge"),
        ("split", "20 tasks"),
    ]


# Placement -------------------------------------------------------------------------------------


def test_every_box_lies_inside_the_drawing_and_no_two_overlap():
    tiles = [node(i, f"tile {i}", ["split"]) for i in range(2, 12)]
    _deps, g = draw([node(1, "split"), *tiles, node(12, "merge", [t.name for t in tiles])])
    for n in g.nodes:
        assert n.x >= graph.MARGIN and n.x + n.w <= g.width - graph.MARGIN + 0.01
        assert n.y >= graph.MARGIN and n.y + n.h <= g.height - graph.MARGIN
    boxes = [(n.x, n.y) for n in g.nodes]
    assert len(set(boxes)) == len(boxes)
    for a in g.nodes:
        for b in g.nodes:
            if a is not b:
                apart = abs(a.x - b.x) >= graph.NODE_W or abs(a.y - b.y) >= graph.NODE_H
                assert apart, (a.name, b.name)


def test_long_names_are_cut_in_the_box_and_kept_whole_for_links_and_titles():
    name = "A task with a very long name indeed"
    _deps, g = draw([node(1, name)], links={name: "#task-1-details"})
    (n,) = g.nodes
    assert n.label == name[: graph.NAME_CHARS - 1] + "…" and n.name == name
    assert n.href == "#task-1-details"


# Edges -----------------------------------------------------------------------------------------


def test_edges_run_from_each_dependency_down_to_its_dependent():
    _deps, g = draw(DIAMOND)
    assert sorted((e.source, e.target) for e in g.edges) == [
        ("left", "join"),
        ("right", "join"),
        ("root", "left"),
        ("root", "right"),
    ]
    box = {n.name: n for n in g.nodes}
    for e in g.edges:
        (x1, y1), (x2, y2) = path_ends(e)
        src, dst = box[e.source], box[e.target]
        assert (x1, y1) == (src.cx, src.y + graph.NODE_H)  # leaves the bottom of its source
        assert (x2, y2) == (dst.cx, dst.y - graph.ARROW_GAP)  # arrives just above its target
        assert not e.cycle and not e.invalid


# Cycles and missing dependencies ---------------------------------------------------------------


def test_a_cycle_is_named_and_every_one_of_its_edges_drawn_as_part_of_it():
    deps, g = draw(
        [node(1, "a", ["c"]), node(2, "b", ["a"]), node(3, "c", ["b"]), node(4, "d", ["a"])]
    )
    (cycle,) = deps.cycles
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]
    assert len(deps.cut) == 1 and deps.cut <= deps.cycle_edges
    drawn = {(e.source, e.target): e for e in g.edges}
    assert set(drawn) == {("a", "b"), ("b", "c"), ("c", "a"), ("a", "d")}
    assert {k for k, e in drawn.items() if e.cycle} == {("a", "b"), ("b", "c"), ("c", "a")}
    # The edge set aside goes round the right-hand side (against the flow), inside the drawing.
    (back,) = deps.cut
    (x1, _y1), _end = path_ends(drawn[back])
    assert x1 == {n.name: n for n in g.nodes}[back[0]].x + graph.NODE_W
    assert drawn[back].mid_x < g.width


def test_a_task_depending_on_itself_is_a_cycle_drawn_as_a_loop():
    deps, g = draw([node(1, "a", ["a"]), node(2, "b", ["a"])])
    assert deps.cycles == [["a", "a"]]
    loop = next(e for e in g.edges if e.source == e.target == "a")
    assert loop.cycle
    (x1, _), (x2, _) = path_ends(loop)
    assert x1 >= g.nodes[0].x + graph.NODE_W and x2 >= g.nodes[0].x + graph.NODE_W


def test_a_dependency_naming_no_task_is_flagged_and_drawn_nowhere():
    deps, g = draw([node(1, "a"), node(2, "b", ["a", "Ghost"])])
    assert deps.missing == [("b", "Ghost")]
    assert [n.name for n in deps.order] == ["a", "b"]
    assert {n.name for n in g.nodes} == {"a", "b"}
    assert [(e.source, e.target) for e in g.edges] == [("a", "b")]


def test_graphlib_names_each_cycle_and_the_rest_still_orders():
    ordering = graph.order_breaking_cycles({"x": ["y"], "y": ["x"], "z": []})
    assert len(ordering.cycles) == 1 and set(ordering.cycles[0]) == {"x", "y"}
    order, layers = graph.walk(ordering)
    assert sorted(order) == ["x", "y", "z"] and layers["z"] == 1


# Validation errors -----------------------------------------------------------------------------


def test_validation_errors_are_numbered_on_their_edge_their_component_or_listed_unplaced():
    errors = [
        JobValidationError(from_component="root", to_component="left", err="types"),
        JobValidationError(component_name="join", err="missing input"),
        JobValidationError(component_name="Nowhere", from_component="X", to_component="Y"),
        JobValidationError(from_component="root", to_component="left", err="again"),
    ]
    _deps, g = draw(DIAMOND, errors)
    edges = {(e.source, e.target): e for e in g.edges}
    assert edges[("root", "left")].markers == [1, 4] and edges[("root", "left")].invalid
    assert edges[("root", "left")].badge.label == "⚠ 1,4"
    assert not any(e.markers for k, e in edges.items() if k != ("root", "left"))
    nodes = {n.name: n for n in g.nodes}
    assert nodes["join"].markers == [2] and nodes["join"].badge.label == "⚠ 2"
    assert not any(n.markers for name, n in nodes.items() if name != "join")
    assert [(p.number, p.placement) for p in g.errors] == [
        (1, "edge"),
        (2, "component"),
        (3, "unplaced"),
        (4, "edge"),
    ]
    assert [p.number for p in g.unplaced] == [3]


def test_an_error_on_a_spec_component_draws_that_component_with_its_edge():
    spec = {
        "components": [{"name": "AOI"}, {"name": "fetch"}],
        "edges": [{"from": "AOI", "to": "fetch"}],
    }
    errors = [JobValidationError(from_component="AOI", to_component="fetch")]
    _deps, g = draw([node(1, "fetch")], errors, spec)
    nodes = {n.name: n for n in g.nodes}
    assert nodes["AOI"].status == "component" and nodes["AOI"].status_label == "Component"
    (edge,) = g.edges
    assert (edge.source, edge.target, edge.markers) == ("AOI", "fetch", [1])


def test_a_job_without_tasks_draws_its_workflow_components():
    spec = {
        "components": [{"name": "a"}, {"name": "b"}, {"name": "b"}],
        "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "nowhere"}, {"bad": 1}],
    }
    _deps, g = draw([], spec=spec)
    assert rows(g) == [["a"], ["b"]]
    assert [(e.source, e.target) for e in g.edges] == [("a", "b")]


# Skipped ---------------------------------------------------------------------------------------


def test_tasks_queued_behind_a_failed_task_are_skipped_directly_and_transitively():
    nodes = [
        node(1, "fetch", status="succeeded"),
        node(2, "correct", ["fetch"], status="failed"),
        node(3, "math", ["correct"]),
        node(4, "export", ["math"]),
        node(5, "preview", ["fetch"]),  # another branch: it can still run
        node(6, "report", ["preview", "export"]),
    ]
    deps, g = draw(nodes)
    assert deps.skipped == {3, 4, 6}
    shown = {n.name: (n.status, n.icon, n.status_label) for n in g.nodes}
    assert shown["math"] == shown["export"] == shown["report"] == ("skipped", "⊘", "Skipped")
    assert shown["preview"] == ("queued", "◷", "Queued")
    assert shown["correct"] == ("failed", "✖", "Failed")


def test_only_a_task_that_has_not_started_is_skipped():
    status = {1: "failed", 2: "running", 3: "succeeded", 4: "queued", 5: "queued"}
    parents = {2: [1], 3: [1], 4: [1], 5: [2]}
    # A task already running or done behind a failure keeps its status; so does one behind a
    # task still running.
    assert skipped_tasks([1, 2, 3, 4, 5], status, parents) == {4}


# Bands ------------------------------------------------------------------------------------------


def test_above_the_threshold_the_layers_collapse_into_bands_that_count_their_tasks():
    n = graph.GRAPH_MAX_NODES * 3
    nodes = [node(1, "s1", status="succeeded")]
    nodes += [node(i, f"s{i}", [f"s{i - 1}"], status="succeeded") for i in range(2, n - 1)]
    nodes += [node(n - 1, f"s{n - 1}", [f"s{n - 2}"], status="failed")]
    nodes += [node(n, f"s{n}", [f"s{n - 1}"])]
    deps = graph.analyse_dependencies(nodes)
    band_list = graph.bands(deps)
    assert len(band_list) == graph.MAX_BANDS
    assert sum(len(b.tasks) for b in band_list) == n
    assert band_list[0].label == "Layers 1–15" and band_list[-1].label == f"Layers {n - 14}–{n}"
    g = graph.band_graph(deps, band_list, "?p=2&")
    assert [b.name for b in g.nodes] == [b.label for b in band_list]
    assert g.nodes[0].status == "succeeded" and g.nodes[0].status_label == "✔ 15 of 15"
    assert g.nodes[-1].status == "failed" and g.nodes[-1].status_label == "✔ 13 ✖ 1 ⊘ 1 of 15"
    assert g.nodes[1].href == "?p=2&band=2#job-graph"
    # A chain of bands: each band's edge comes from the one before it.
    assert sorted((e.source, e.target) for e in g.edges) == sorted(
        (a.label, b.label) for a, b in zip(band_list, band_list[1:], strict=False)
    )


def test_at_the_threshold_every_task_is_drawn():
    from pixxel_dashboard.jobs.detail import job_page
    from pixxel_dashboard.jobs.models import Job

    nodes = [node(1, "t1")] + [node(i, f"t{i}", [f"t{i - 1}"]) for i in range(2, 101)]
    page = job_page(Job(), graph.analyse_dependencies(nodes), [], lambda pks: {})
    assert not page.collapsed and len(page.graph.nodes) == graph.GRAPH_MAX_NODES
    page = job_page(
        Job(), graph.analyse_dependencies([*nodes, node(101, "t101", ["t100"])]), [], lambda pks: {}
    )
    assert page.collapsed and len(page.graph.nodes) <= graph.MAX_BANDS


def test_a_tasks_dependencies_are_its_own_even_when_its_name_is_shared_or_missing():
    # Two tasks named "a" and one without a name, all after "b", which failed: the second "a" and
    # the nameless one wait for "b" (layer 2) and will never run; the first "a" is free.
    nodes = [
        graph.TaskNode(1, "t1", "a", 0, [], "queued"),
        graph.TaskNode(2, "t2", "b", 1, [], "failed"),
        graph.TaskNode(3, "t3", "a", 2, ["b"], "queued"),
        graph.TaskNode(4, "t4", "", 3, ["b"], "queued"),
    ]
    deps = graph.analyse_dependencies(nodes)
    assert deps.layers == {1: 1, 2: 1, 3: 2, 4: 2}
    assert deps.skipped == {3, 4}
