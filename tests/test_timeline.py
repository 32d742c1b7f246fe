"""The timeline on plain data (unsaved rows, no HTML): bars in the order given and to scale,
inference apart inside its bar, tasks never started marked, skipped ones as Skipped."""

from datetime import UTC, datetime, timedelta

import pytest

from pixxel_dashboard.jobs import timeline
from pixxel_dashboard.jobs.models import Job, Task
from pixxel_dashboard.jobs.timeline import LABEL_W, PLOT_W

T0 = datetime(2026, 3, 2, 5, 0, 0, tzinfo=UTC)


def at(seconds):
    return None if seconds is None else T0 + timedelta(seconds=seconds)


def task(pk, name, status="succeeded", recv=None, sent=None, inf=(None, None)):
    return Task(
        pk=pk,
        pixxel_id=f"id-{pk}",
        name=name,
        status=status,
        recv_time=at(recv),
        send_time=at(sent),
        block_inf_start_time=at(inf[0]),
        block_inf_end_time=at(inf[1]),
    )


def job(status="succeeded", started=0, now=None):
    return Job(status=status, exec_created_at=at(started), pixxel_updated_at=at(now))


def x_at(seconds, total):
    return LABEL_W + seconds * PLOT_W / total


def test_bars_keep_the_given_order_and_are_drawn_to_scale():
    tasks = [
        task(1, "fetch", recv=0, sent=20),
        task(2, "mask", recv=20, sent=50),
        task(3, "export", recv=50, sent=100),
    ]
    tl = timeline.build_timeline(job(), tasks)
    assert [r.name for r in tl.rows] == ["fetch", "mask", "export"]
    assert [r.y for r in tl.rows] == sorted(r.y for r in tl.rows) and len(
        {r.y for r in tl.rows}
    ) == 3
    # 100 s across the plot: each bar starts where its task was received and lasts as long.
    for r, (start, end) in zip(tl.rows, [(0, 20), (20, 50), (50, 100)], strict=True):
        assert r.bar_x == pytest.approx(x_at(start, 100))
        assert r.bar_w == pytest.approx((end - start) * PLOT_W / 100)
    assert tl.rows[-1].bar_x + tl.rows[-1].bar_w == pytest.approx(tl.plot_end)
    assert tl.span_label == "1m40s"
    assert tl.rows[1].title == "mask: Succeeded, received 05:00:20, sent 05:00:50, took 30s"


def test_the_axis_runs_from_the_jobs_start_and_ticks_at_a_round_step():
    # The job started 100 s before its first task (on this page) was received.
    tl = timeline.build_timeline(job(started=0), [task(1, "late", recv=100, sent=200)])
    assert tl.rows[0].bar_x == pytest.approx(x_at(100, 200))
    assert [t.label for t in tl.ticks] == ["0s", "30s", "1m0s", "1m30s", "2m0s", "2m30s", "3m0s"]
    assert tl.ticks[0].x == LABEL_W and tl.ticks[-1].x == pytest.approx(x_at(180, 200))


def test_inference_is_drawn_apart_inside_its_tasks_bar():
    tl = timeline.build_timeline(job(), [task(1, "ndvi", recv=0, sent=100, inf=(30, 80))])
    (r,) = tl.rows
    assert r.has_inference
    assert r.inf_x == pytest.approx(x_at(30, 100)) and r.inf_w == pytest.approx(50 * PLOT_W / 100)
    assert r.bar_x <= r.inf_x and r.inf_x + r.inf_w <= r.bar_x + r.bar_w
    assert r.inf_y > r.y  # a thinner band inside the bar
    assert "inference 05:00:30–05:01:20" in r.title


def test_a_running_task_reaches_pixxels_now_and_its_inference_too():
    tasks = [task(1, "fetch", recv=0, sent=10), task(2, "ndvi", "running", recv=10, inf=(20, None))]
    tl = timeline.build_timeline(job("running", now=60), tasks)
    running = tl.rows[1]
    assert running.bar_x + running.bar_w == pytest.approx(tl.plot_end)  # 60 s is the axis' end
    assert running.has_inference and running.inf_x + running.inf_w == pytest.approx(tl.plot_end)


def test_tasks_never_started_are_marked_and_skipped_ones_say_so():
    tasks = [
        task(1, "correct", "failed", recv=0, sent=10),
        task(2, "math", "queued"),
        task(3, "preview", "queued"),
    ]
    tl = timeline.build_timeline(job("failed"), tasks, skipped={2})
    failed, skipped, waiting = tl.rows
    assert failed.started and not skipped.started and not waiting.started
    assert skipped.bar_w == 0 and waiting.bar_w == 0
    assert (skipped.note, skipped.status, skipped.icon) == ("Skipped", "skipped", "⊘")
    assert (waiting.note, waiting.status, waiting.icon) == ("not started", "queued", "◷")
    assert tl.any_started


def test_nothing_started_yet_draws_no_bars_and_no_axis():
    tl = timeline.build_timeline(Job(status="queued"), [task(1, "fetch", "queued")])
    assert not tl.any_started and tl.ticks == [] and tl.span_label == ""
    assert tl.rows[0].note == "not started"
