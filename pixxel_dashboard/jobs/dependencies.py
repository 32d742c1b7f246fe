"""A job's dependency analysis (task order and layers, cycles, missing names, skipped tasks), kept
per task graph.

It changes only when `save_job` stores tasks whose names, order, dependencies or statuses changed
(`Job.graph_digest`), so it is computed then (by the sync, usually in the worker) and put in the
shared cache under that digest; every view and poll of the job reads it from there (and each
process keeps the few it read last: the digest names one graph for good). For a
2,000-task job the analysis costs more than the rest of its page. An analysis the cache no longer
has is computed by whoever asks first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.core.cache import cache
from django.db.models import TextField
from django.db.models.functions import Cast

from . import graph
from .models import Job, Task

# A version's analysis stays this long (a new version is a new key; old ones simply expire).
CACHE_SECONDS = 3600


def task_nodes(job: Job) -> list[graph.TaskNode]:
    """Every task's place in the graph (one query; `depends_on` as JSON text, decoded in one go)."""
    rows = Task.objects.filter(job=job).annotate(depends_json=Cast("depends_on", TextField()))
    fields = [f if f != "depends_on" else "depends_json" for f in graph.NODE_FIELDS]
    return graph.task_nodes(list(rows.values_list(*fields)))


# Part of the cache key: bump it when graph.Dependencies or graph.TaskNode change shape, so a
# deploy never unpickles what the previous code stored.
SCHEMA = 1


def _key(job: Job) -> str:
    # Under the tasks' graph digest: versions that only moved progress share one analysis. A row
    # saved before the digest existed has its analysis under the version.
    if job.graph_digest:
        return f"job-dependencies:{SCHEMA}:{job.pk}:g{job.graph_digest}"
    return f"job-dependencies:{SCHEMA}:{job.pk}:{job.version}"


def store(job: Job) -> graph.Dependencies:
    """Analyse the version `job` holds now and keep the result (called when it is stored)."""
    deps = graph.analyse_dependencies(task_nodes(job))
    cache.set(_key(job), deps, CACHE_SECONDS)
    return deps


# The analyses this process read last, by cache key: a watched job's polls between two changes of
# its task graph (progress moving) reuse one without reading and unpickling it again (a third of
# a 2,000-task job's changed poll). A key names one graph for good, so nothing here goes stale;
# the size bounds the memory (a 2,000-task analysis is about a megabyte).
MEMO_SIZE = 16
_memo: OrderedDict[str, graph.Dependencies] = OrderedDict()
_memo_lock = threading.Lock()


def of(job: Job) -> graph.Dependencies:
    """The analysis of the version `job` holds: from this process, the cache, else computed."""
    key = _key(job)
    with _memo_lock:
        if (deps := _memo.get(key)) is not None:
            _memo.move_to_end(key)
            return deps
    deps = cache.get(key)
    if deps is None:
        deps = store(job)
    with _memo_lock:
        _memo[key] = deps
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return deps


def clear_memo() -> None:
    """Forget this process's copies (tests: row ids, and so keys, are reused between them)."""
    with _memo_lock:
        _memo.clear()
