from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: the `partnerhub` CLI's own commands (demo, serve, createadmin, apikey)."""

    name = "partnerhub.ops"
    label = "ops"
