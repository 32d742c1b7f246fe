from django.urls import path

from . import views_detail as views

urlpatterns = [
    path("o/<slug:org>/jobs/<str:job>/", views.job_detail, name="job_detail"),
    path("o/<slug:org>/jobs/<str:job>/live/", views.job_poll, name="job_poll"),
    path(
        "o/<slug:org>/jobs/<str:job>/download/",
        views.download_job_results,
        name="download_job_results",
    ),
    path("o/<slug:org>/jobs/<str:job>/tasks/<str:task>/", views.task_detail, name="task_detail"),
    path(
        "o/<slug:org>/jobs/<str:job>/tasks/<str:task>/download/",
        views.download_task_results,
        name="download_task_results",
    ),
    path(
        "o/<slug:org>/jobs/<str:job>/tasks/<str:task>/logs.txt",
        views.task_logs,
        name="task_logs",
    ),
]
