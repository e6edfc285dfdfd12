from django.apps import AppConfig


class ResellersConfig(AppConfig):
    name = "partnerhub.resellers"
    label = "resellers"

    def ready(self) -> None:
        # Connects the signal that gives every new reseller its cache-version row; in
        # ready() because versions imports models, which apps.py is loaded before.
        from partnerhub.resellers import versions  # noqa: F401
