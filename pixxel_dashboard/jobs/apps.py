from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "pixxel_dashboard.jobs"
    label = "jobs"
