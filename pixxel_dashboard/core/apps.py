from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "pixxel_dashboard.core"
    label = "core"
