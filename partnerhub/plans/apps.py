from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "partnerhub.plans"
    label = "plans"
