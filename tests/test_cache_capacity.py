"""The shared cache without Redis (a database table) holds a busy hour: the analyses of many
running jobs do not push out what the submit form relies on (the catalog's and the pre-flight's
entries), which would send the form back to Pixxel."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache

from pixxel_dashboard.jobs import dependencies

pytestmark = pytest.mark.skipif(
    not isinstance(caches["default"], DatabaseCache),
    reason="the database cache's capacity (no REDIS_URL)",
)


@pytest.mark.django_db
def test_an_hour_of_job_analyses_leaves_the_catalog_and_pre_flight_in_the_cache():
    cache = caches["default"]
    cache.set("catalog-projects-listed:1", "listed", None)
    cache.set("preflight:1:1:p:w", "estimate", 300)
    # 500 running jobs whose task graphs changed twice each within the hour.
    for job_pk in range(1, 501):
        for graph in ("a", "b"):
            cache.set(f"job-dependencies:{dependencies.SCHEMA}:{job_pk}:g{graph}", [job_pk], 3600)
    assert cache.get("catalog-projects-listed:1") == "listed"
    assert cache.get("preflight:1:1:p:w") == "estimate"
    assert cache.get(f"job-dependencies:{dependencies.SCHEMA}:1:ga") == [1]
