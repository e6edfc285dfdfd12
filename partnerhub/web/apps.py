from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "partnerhub.web"
    label = "web"
