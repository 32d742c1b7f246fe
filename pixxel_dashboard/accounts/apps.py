from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "pixxel_dashboard.accounts"
    label = "accounts"
