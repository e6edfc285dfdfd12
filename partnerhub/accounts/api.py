"""REST API: API keys (SPEC §1, §9). Stored hashed; the secret is answered once, at creation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from partnerhub.accounts.api_auth import actor_of
from partnerhub.accounts.models import API_KEY_NAME_MAX_LENGTH
from partnerhub.accounts.selectors import (
    api_key_get_for_actor,
    api_key_list_for_actor,
    api_key_serialize,
)
from partnerhub.accounts.services import api_key_create, api_key_revoke
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    VALID_UNICODE,
    WRITE_ERRORS,
    InputSchema,
    ObjectId,
    OutputSchema,
    PageParams,
    bounded,
    links,
    response_links,
    responses,
)

router = Router(tags=["api keys"])

Scope = Literal["platform", "reseller_admin", "reseller_viewer", "company"]


class ApiKeyOut(OutputSchema):
    id: int
    name: str
    prefix: str  # the public part of the key, to recognise it
    scope: Scope
    reseller_id: int | None
    company_id: int | None
    created_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The secret key. It is shown this once and never again.")


class ApiKeyPage(OutputSchema):
    items: list[ApiKeyOut]
    count: int


class ApiKeyIn(InputSchema):
    scope: Scope
    reseller_id: ObjectId | None = None
    company_id: ObjectId | None = None
    name: Annotated[str, bounded(API_KEY_NAME_MAX_LENGTH), VALID_UNICODE] = ""


@router.get("/api-keys", response=responses({200: ApiKeyPage}))
def list_api_keys(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return paginate(api_key_list_for_actor(actor_of(request)), page, api_key_serialize)


@router.post(
    "/api-keys",
    response=responses({201: ApiKeyCreatedOut}, WRITE_ERRORS),
    openapi_extra=response_links(
        201, links("api_key_id", __name__, "get_api_key", "revoke_api_key")
    ),
)
def create_api_key(request: HttpRequest, payload: ApiKeyIn) -> Status[dict[str, Any]]:
    """A reseller key defaults to the caller's reseller."""
    actor = actor_of(request)
    data = payload.model_dump()
    if data["scope"] in ("reseller_admin", "reseller_viewer") and data["reseller_id"] is None:
        data["reseller_id"] = actor.reseller_id
    key, raw_key = api_key_create(actor=actor, **data)
    return Status(201, {**api_key_serialize(key), "key": raw_key})


@router.get("/api-keys/{api_key_id}", response=responses({200: ApiKeyOut}))
def get_api_key(request: HttpRequest, api_key_id: ObjectId) -> dict[str, Any]:
    return api_key_serialize(api_key_get_for_actor(actor_of(request), api_key_id))


@router.post("/api-keys/{api_key_id}/revoke", response=responses({200: ApiKeyOut}, WRITE_ERRORS))
def revoke_api_key(request: HttpRequest, api_key_id: ObjectId) -> dict[str, Any]:
    """Revoke at once: the key answers 401 from the next request on."""
    return api_key_serialize(api_key_revoke(actor=actor_of(request), api_key_id=api_key_id))
