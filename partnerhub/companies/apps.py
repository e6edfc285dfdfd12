from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "partnerhub.companies"
    label = "companies"
