"""The REST API v1. Each domain app contributes its router (see the apps' api.py)."""

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from partnerhub.accounts import api as accounts_api
from partnerhub.accounts.api_auth import ApiKeyAuth, HubSessionAuth
from partnerhub.api import system
from partnerhub.api import webhooks as webhooks_api
from partnerhub.api.errors import JsonOnlyParser, error_response, install_error_handlers
from partnerhub.audit import api as audit_api
from partnerhub.catalog import api as catalog_api
from partnerhub.companies import api as companies_api
from partnerhub.fees import api as fees_api
from partnerhub.plans import api as plans_api
from partnerhub.registration import api as registration_api
from partnerhub.resellers import api as resellers_api
from partnerhub.sales import api as sales_api
from partnerhub.statements import api as statements_api
from partnerhub.usage import api as usage_api

ERROR_SCHEMA_REF = "#/components/schemas/ErrorOut"


class PartnerhubAPI(NinjaAPI):
    """The NinjaAPI, plus: a path under /api/ that names no operation answers the same
    JSON 404 as a missing object, not the hub's HTML page."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        # csrf_exempt: the catch-all answers every method, and a POST without a CSRF token
        # must get the API's JSON 404, not the hub's HTML "Session expired" page.
        return [*super()._get_urls(), re_path(r"^.*$", csrf_exempt(self._unknown_path))]

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    _declare_framework_statuses(operation)
        return schema

    def _unknown_path(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return error_response(self, request, 404, "not_found", "No such API endpoint.")


def _framework_statuses(operation: dict[str, Any]) -> set[int]:
    """The error statuses the framework itself can answer on `operation`, whatever its
    handler does: the key check, parameter validation, and the body's parsing."""
    statuses: set[int] = set()
    parameters = operation.get("parameters") or []
    if operation.get("security"):
        statuses.add(401)
    if parameters or "requestBody" in operation:
        statuses.add(422)  # a parameter or body that does not validate
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)  # a path that names no object
    if "requestBody" in operation:
        statuses |= {400, 413, 415}  # unparsable, too large, not JSON
    return statuses


def _declare_framework_statuses(operation: dict[str, Any]) -> None:
    """Document every status an operation can answer (issue 11, item 11): the routers
    declare their handlers' own errors, this adds the framework's, in the one error shape."""
    responses = operation["responses"]
    declared = {int(status) for status in responses}
    for status in sorted(_framework_statuses(operation) - declared):
        responses[status] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
        }


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
    parser=JsonOnlyParser(),
)
install_error_handlers(api)

api.add_router("v1/", system.router)
# Django tries URL patterns in order: the metering endpoints, called on every message a
# host platform sends, come right after ping (docs/benchmarks.md, "Usage metering").
api.add_router("v1/", usage_api.router)
api.add_router("v1/", catalog_api.router)
api.add_router("v1/", resellers_api.router)
api.add_router("v1/", plans_api.router)
api.add_router("v1/", companies_api.router)
api.add_router("v1/", fees_api.router)
api.add_router("v1/", sales_api.router)
api.add_router("v1/", registration_api.router)
api.add_router("v1/", audit_api.router)
api.add_router("v1/", accounts_api.router)
api.add_router("v1/", webhooks_api.router)
api.add_router("v1/", statements_api.router)
