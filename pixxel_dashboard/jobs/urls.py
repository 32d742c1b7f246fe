from django.urls import include, path

from . import views_history, views_submit

urlpatterns = [
    path("o/<slug:org>/jobs/", views_history.job_list, name="job_list"),
    path("o/<slug:org>/jobs/live/", views_history.job_list_live, name="job_list_live"),
    path("o/<slug:org>/jobs/export.csv", views_history.export_csv, name="job_list_csv"),
    path("o/<slug:org>/jobs/new/", views_submit.submit_job, name="submit_job"),
    path(
        "o/<slug:org>/jobs/new/workflows/",
        views_submit.workflow_options,
        name="workflow_options",
    ),
    path("o/<slug:org>/jobs/new/preflight/", views_submit.preflight, name="preflight"),
    path("o/<slug:org>/jobs/import/", views_history.import_jobs, name="import_jobs"),
    # One job's page, its live partials and downloads.
    path("", include("pixxel_dashboard.jobs.urls_detail")),
]
