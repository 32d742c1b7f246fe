"""The product's URLs plus the benchmark's floor: a bare Django view returning a constant.

Only bench/baselines.py loads this module (in process through override_settings, and in gunicorn
through bench_settings): the product's own urls.py never carries the bare view.
"""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from pixxel_dashboard.jobs.models import Job

BARE_PATH = "bench/bare/"
ADMIN_PAGE_SIZE = 50  # the history's page size: admin and history list the same rows


def bare(request):
    """The floor: every middleware the product runs, then no work at all."""
    return HttpResponse(b"ok", content_type="text/plain")


# The baseline changelist shows 50 rows a page like the history (the app's admin shows more).
admin.site._registry[Job].list_per_page = ADMIN_PAGE_SIZE

urlpatterns = [
    path(BARE_PATH, bare),
    path("", include("pixxel_dashboard.urls")),
]
