from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "partnerhub.registration"
    label = "registration"
