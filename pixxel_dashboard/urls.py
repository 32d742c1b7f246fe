from django.contrib import admin
from django.urls import include, path

from pixxel_dashboard.core.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    # Jobs first: a job page's poll, every few seconds per open page, is by far the most frequent
    # request, and Django tries the patterns in order (no jobs pattern matches another app's URL).
    path("", include("pixxel_dashboard.jobs.urls")),
    path("", include("pixxel_dashboard.accounts.urls")),
    path("", include("pixxel_dashboard.keys.urls")),
    path("", include("pixxel_dashboard.costs.urls")),
    path("", include("pixxel_dashboard.notifications.urls")),
    path("", include("pixxel_dashboard.webhooks.urls")),
]
