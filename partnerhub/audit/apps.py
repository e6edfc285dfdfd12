from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "partnerhub.audit"
    label = "audit"
