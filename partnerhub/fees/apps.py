from django.apps import AppConfig


class FeesConfig(AppConfig):
    name = "partnerhub.fees"
    label = "fees"
