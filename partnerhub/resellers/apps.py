from django.apps import AppConfig


class ResellersConfig(AppConfig):
    name = "partnerhub.resellers"
    label = "resellers"
