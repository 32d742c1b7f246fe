from django.apps import AppConfig


class PixxelConfig(AppConfig):
    name = "pixxel_dashboard.pixxel"
    label = "pixxel"
    verbose_name = "Pixxel API client"
