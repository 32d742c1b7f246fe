"""The benchmark's floor (bench/bench_urls.py: a bare view returning a constant) is served only by
the benchmark's own URLconf, never by the product's."""

import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import Resolver404, resolve

from pixxel_dashboard.jobs.models import Job

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_product_does_not_serve_the_benchmarks_bare_view(client, db):
    assert client.get("/bench/bare/").status_code == 404
    with pytest.raises(Resolver404):
        resolve("/bench/bare/")


def test_the_benchmarks_urlconf_serves_the_bare_view_and_every_product_url(monkeypatch):
    job_admin = admin.site._registry[Job]
    # Importing bench_urls sets the changelist's page size: put it back after the test.
    monkeypatch.setattr(job_admin, "list_per_page", job_admin.list_per_page)
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("bench_urls", None)
    assert resolve("/bench/bare/", urlconf="bench_urls").func.__name__ == "bare"
    assert resolve("/o/acme/jobs/", urlconf="bench_urls").url_name == "job_list"
    assert resolve("/healthz", urlconf="bench_urls").url_name == "healthz"
