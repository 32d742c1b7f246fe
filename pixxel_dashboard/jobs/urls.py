from django.urls import include, path

from . import views

urlpatterns = [
    path("o/<slug:org>/jobs/", views.job_list, name="job_list"),
    path("o/<slug:org>/jobs/new/", views.submit_job, name="submit_job"),
    path("o/<slug:org>/jobs/new/workflows/", views.workflow_options, name="workflow_options"),
    path("o/<slug:org>/jobs/new/preflight/", views.preflight, name="preflight"),
    path("o/<slug:org>/jobs/import/", views.import_jobs, name="import_jobs"),
    # One job's page, its live partials and downloads.
    path("", include("pixxel_dashboard.jobs.urls_detail")),
]
