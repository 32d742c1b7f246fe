"""A job's dependency analysis (task order and layers, cycles, missing names, skipped tasks), kept
per task graph.

It changes only when `save_job` stores tasks whose names, order, dependencies or statuses changed
(`Job.graph_digest`), so it is computed then (by the sync, usually in the worker) and put in the
shared cache under that digest; every view and poll of the job reads it from there. For a
2,000-task job the analysis costs more than the rest of its page. An analysis the cache no longer
has is computed by whoever asks first.
"""

from __future__ import annotations

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


def of(job: Job) -> graph.Dependencies:
    """The analysis of the version `job` holds: from the cache, else computed and kept."""
    deps = cache.get(_key(job))
    return deps if deps is not None else store(job)
