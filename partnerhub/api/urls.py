"""The REST API v1. Each domain app contributes its router (see the apps' api.py)."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI

from partnerhub.accounts import api as accounts_api
from partnerhub.api import system
from partnerhub.api import webhooks as webhooks_api
from partnerhub.api.auth import ApiKeyAuth, HubSessionAuth
from partnerhub.api.errors import error_response, install_error_handlers
from partnerhub.audit import api as audit_api
from partnerhub.catalog import api as catalog_api
from partnerhub.companies import api as companies_api
from partnerhub.fees import api as fees_api
from partnerhub.plans import api as plans_api
from partnerhub.registration import api as registration_api
from partnerhub.resellers import api as resellers_api


class PartnerhubAPI(NinjaAPI):
    """The NinjaAPI, plus: a path under /api/ that names no operation answers the same
    JSON 404 as a missing object, not the hub's HTML page."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        return [*super()._get_urls(), re_path(r"^.*$", self._unknown_path)]

    def _unknown_path(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return error_response(self, request, 404, "not_found", "No such API endpoint.")


api = PartnerhubAPI(
    title="Partnerhub API",
    version="1",
    description=(
        "Plans, companies, entitlements and fees of a reseller platform. "
        "Authenticate with `Authorization: Bearer <api key>` "
        "(`partnerhub apikey create`). Errors answer "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=[ApiKeyAuth(), HubSessionAuth()],
)
install_error_handlers(api)

api.add_router("v1/", system.router)
api.add_router("v1/", catalog_api.router)
api.add_router("v1/", resellers_api.router)
api.add_router("v1/", plans_api.router)
api.add_router("v1/", companies_api.router)
api.add_router("v1/", fees_api.router)
api.add_router("v1/", registration_api.router)
api.add_router("v1/", audit_api.router)
api.add_router("v1/", accounts_api.router)
api.add_router("v1/", webhooks_api.router)
