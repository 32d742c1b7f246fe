from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "pixxel_dashboard.keys"
    label = "keys"
    verbose_name = "Pixxel API keys"
