"""The job page's dependency order (graphlib) and layers; dependency problems shown, not hidden:
cycles named and drawn, missing names flagged."""

import re
import types

from pixxel_dashboard.jobs import detail, graph
from pixxel_dashboard.jobs.models import Task
from tests.plugins.jobs import mark_synced, submit

LINEAR = ["Scene fetch", "Cloud mask", "Atmospheric correction", "NDVI", "Export GeoTIFF"]


def node(pk, name, depends_on=(), position=None):
    return graph.TaskNode(
        pk, f"id-{pk}", name, pk if position is None else position, list(depends_on), "queued"
    )


def test_the_order_puts_each_task_after_its_dependencies_ties_by_pixxels_order():
    nodes = [
        node(1, "join", ["left", "right"], position=0),
        node(2, "right", ["root"], position=1),
        node(3, "left", ["root"], position=2),
        node(4, "root", position=3),
    ]
    deps = graph.analyse_dependencies(nodes)
    assert [n.name for n in deps.order] == ["root", "right", "left", "join"]
    assert deps.cycles == [] and deps.missing == []
    assert deps.layers == {4: 1, 2: 2, 3: 2, 1: 3}


def test_a_cycle_is_named_and_its_tasks_still_ordered():
    nodes = [node(1, "a", ["c"]), node(2, "b", ["a"]), node(3, "c", ["b"]), node(4, "d", ["a"])]
    deps = graph.analyse_dependencies(nodes)
    assert len(deps.cycles) == 1
    (sentence,) = deps.cycle_sentences
    assert re.match(r"Tasks (\w) → (\w) → (\w) → \1 form a cycle: ", sentence), sentence
    # Every edge reads "x → y": y depends on x.
    assert deps.cycle_edges == {("a", "b"), ("b", "c"), ("c", "a")}
    assert sorted(n.name for n in deps.order) == ["a", "b", "c", "d"]


def test_a_task_depending_on_itself_is_a_cycle_of_one():
    deps = graph.analyse_dependencies([node(1, "a", ["a"]), node(2, "b", ["a"])])
    assert deps.cycles == [["a", "a"]]
    assert deps.cycle_sentences == ["Task a depends on itself, so Pixxel cannot run it."]
    assert [n.name for n in deps.order] == ["a", "b"]


def linear_page(acme, alice, client_for, pixxel, name: str, depends_on: list[str]) -> str:
    """The page of a linear job whose task `name` Pixxel says depends on `depends_on`."""
    job = submit(acme, alice, pixxel)
    Task.objects.filter(job=job, name=name).update(depends_on=depends_on)
    mark_synced(job)
    return client_for(alice).get(job.get_absolute_url()).content.decode()


def test_the_page_names_a_cycle_and_draws_every_edge(acme, alice, client_for, pixxel):
    # Scene fetch now waits for the last task: the linear chain closes into a ring of five.
    body = linear_page(acme, alice, client_for, pixxel, "Scene fetch", ["Export GeoTIFF"])
    match = re.search(r"Tasks ([^<]+?) form a cycle", body)
    assert match, "the cycle is named"
    names = match.group(1).split(" → ")
    assert len(names) == 6 and names[0] == names[-1] and sorted(names[:-1]) == sorted(LINEAR)
    # All five edges are drawn, the one against the flow round the side, all marked as a cycle.
    edges = re.findall(r'<path d="[^"]+" class="(edge[^"]*)"', body)
    assert len(edges) == 5 and all("edge-cycle" in e for e in edges), edges
    assert body.count('<g class="node node-') == 5
    assert body.count("<title>Export GeoTIFF → Scene fetch (part of a cycle)</title>") == 1
    rows = re.findall(r'<th scope="row"><a href="#task-\d+-details">([^<]+)</a>', body)
    assert sorted(rows) == sorted(LINEAR)


def test_a_task_depending_on_itself_gets_a_loop(acme, alice, client_for, pixxel):
    body = linear_page(acme, alice, client_for, pixxel, "NDVI", ["Atmospheric correction", "NDVI"])
    assert "Task NDVI depends on itself, so Pixxel cannot run it." in body
    assert "<title>NDVI → NDVI (part of a cycle)</title>" in body


def test_a_dependency_on_a_task_that_does_not_exist_is_flagged(acme, alice, client_for, pixxel):
    body = linear_page(acme, alice, client_for, pixxel, "NDVI", ["Atmospheric correction", "Ghost"])
    assert "Task NDVI depends on “Ghost”, which is not a task of this job." in body
    row = re.search(r'<tr id="task-4".*?</tr>', body, re.S).group(0)
    assert "NDVI" in row and "“Ghost” is not a task of this job" in row
    assert "form a cycle" not in body


def test_a_band_of_one_very_wide_layer_draws_a_readable_part_of_it():
    from pixxel_dashboard.jobs.models import Job

    tiles = [node(i, f"tile {i}", ["root"]) for i in range(2, 1502)]
    nodes = [node(1, "root"), *tiles, node(1502, "mosaic", [t.name for t in tiles])]
    collapsed = detail.job_page(Job(), graph.analyse_dependencies(nodes), [], lambda pks: {})
    assert [n.name for n in collapsed.graph.nodes] == ["Layer 1", "Layer 2", "Layer 3"]
    assert collapsed.graph.nodes[1].status_label == "◷ 1500 of 1500"
    wide = detail.job_page(
        Job(), graph.analyse_dependencies(nodes), [], lambda pks: {}, band_number="2"
    )
    assert wide.band.label == "Layer 2" and len(wide.band.tasks) == 1500
    assert len(wide.graph.nodes) == graph.GRAPH_MAX_NODES


def test_a_sync_analyses_the_new_version_so_its_viewers_do_not(
    acme, alice, client_for, pixxel, sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from pixxel_dashboard.jobs.sync import sync_job

    job = submit(acme, alice, pixxel)
    sandbox.advance(20)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_job(job, force=True)
    mark_synced(job)

    def analysed_by_a_viewer(nodes):
        raise AssertionError("the page analysed dependencies the sync had analysed")

    with monkeypatch.context() as patched:
        patched.setattr(graph, "analyse_dependencies", analysed_by_a_viewer)
        page = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert re.findall(r'data-node="([^"]+)"', page)[: len(LINEAR)] == LINEAR

    # A version the cache no longer has is analysed by whoever asks first.
    cache.clear()
    page = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert re.findall(r'data-node="([^"]+)"', page)[: len(LINEAR)] == LINEAR


def test_an_answer_that_only_moves_progress_reuses_the_analysis_and_a_failure_renews_it(
    acme, alice, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    from pixxel_dashboard.jobs import dependencies
    from pixxel_dashboard.jobs.persist import save_job
    from pixxel_dashboard.pixxel import parsing

    def answer(fetch_status: str, progress: int):
        fetch = {"id": "t1", "name": "Scene fetch", "status": fetch_status, "progress": progress}
        mask = {"id": "t2", "name": "Cloud mask", "status": "queued", "depends_on": ["Scene fetch"]}
        return parsing.parse_job(
            {"id": "job-deps", "workflow_id": "wf", "status": "running", "tasks": [fetch, mask]}
        )

    with django_capture_on_commit_callbacks(execute=True):
        job, _ = save_job(acme, answer("running", 10))
    assert dependencies.of(job).skipped == set()

    analyses = []
    real_analyse = graph.analyse_dependencies
    monkeypatch.setattr(
        graph, "analyse_dependencies", lambda nodes: analyses.append(nodes) or real_analyse(nodes)
    )
    with django_capture_on_commit_callbacks(execute=True) as analysed:
        job, changed = save_job(acme, answer("running", 60))
    assert changed and job.version == 2
    assert analysed == [] and analyses == []  # the same graph: its analysis is reused
    assert dependencies.of(job).skipped == set() and analyses == []

    # The first task fails: the second will never run, and the page says so at once.
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = save_job(acme, answer("failed", 60))
    assert len(analyses) == 1
    mask = Task.objects.get(job=job, name="Cloud mask")
    assert dependencies.of(job).skipped == {mask.pk}
    mark_synced(job)
    page = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert "Skipped" in page
    assert len(analyses) == 1


def test_the_pages_and_polls_of_a_watched_job_read_its_analysis_from_the_cache_once(
    acme, alice, bob, client_for, pixxel, sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    """Between two changes of its task graph, this process keeps the analysis it read: a page or
    poll after the first neither reads nor unpickles it again."""
    from django.core.cache import cache

    from pixxel_dashboard.jobs import dependencies
    from pixxel_dashboard.jobs.sync import sync_job

    job = submit(acme, alice, pixxel)
    sandbox.advance(20)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_job(job, force=True)
    mark_synced(job)
    reads = []
    monkeypatch.setattr(
        dependencies,
        "cache",
        types.SimpleNamespace(get=lambda key: reads.append(key) or cache.get(key), set=cache.set),
    )
    for viewer in (alice, bob, alice):
        page = client_for(viewer).get(job.get_absolute_url()).content.decode()
        assert re.findall(r'data-node="([^"]+)"', page)[: len(LINEAR)] == LINEAR
    assert len(reads) == 1
    # Another graph (a task moved on) is another key: read, or analysed, once more.
    sandbox.advance(60)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_job(job, force=True)
    job.refresh_from_db()
    mark_synced(job)
    client_for(bob).get(job.get_absolute_url())
    assert len(reads) == 2
