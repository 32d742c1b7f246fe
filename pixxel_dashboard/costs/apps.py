from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "pixxel_dashboard.costs"
    label = "costs"
