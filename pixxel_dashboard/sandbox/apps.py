from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "pixxel_dashboard.sandbox"
    label = "sandbox"
    verbose_name = "Pixxel sandbox"
