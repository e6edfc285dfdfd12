"""The REST API v1. Each domain app contributes its router (see the apps' api.py)."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Partnerhub API",
    version="1",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
