from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "pixxel_dashboard.accounts"
    label = "accounts"

    def ready(self):
        # Connects the lockout log line to django-axes' signal.
        from . import throttle  # noqa: F401
