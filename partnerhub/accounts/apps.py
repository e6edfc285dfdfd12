from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "partnerhub.accounts"
    label = "accounts"
