"""REST API: resellers (SPEC §3, §12). The platform writes them; a reseller reads its own and
may change its default registration plan and fee schedule (never its enabled features)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Status
from pydantic import StringConstraints

from partnerhub.accounts.api_auth import actor_of
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    VALID_UNICODE,
    WRITE_ERRORS,
    CurrencyCode,
    FeeApplyMode,
    FeeEntryIn,
    FeeEntryOut,
    InputSchema,
    Key,
    ObjectId,
    OutputSchema,
    PageParams,
    bounded,
    links,
    omitted,
    response_links,
    responses,
)
from partnerhub.resellers.models import RESELLER_NAME_MAX_LENGTH, RESELLER_SLUG_MAX_LENGTH
from partnerhub.resellers.selectors import (
    reseller_get_for_actor,
    reseller_list_for_actor,
    reseller_serialize,
)
from partnerhub.resellers.services import reseller_create, reseller_update

router = Router(tags=["resellers"])

Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=RESELLER_SLUG_MAX_LENGTH, pattern=r"^[a-z0-9-]+$"),
]

ResellerName = Annotated[str, bounded(RESELLER_NAME_MAX_LENGTH, min_length=1), VALID_UNICODE]


class ResellerOut(OutputSchema):
    id: int
    name: str
    slug: str
    features: list[str]
    default_registration_plan_id: int | None
    registration_plan_choice: bool
    fees: list[FeeEntryOut]
    blended: dict[str, bool]


class ResellerUpdateOut(ResellerOut):
    job_id: int | None  # the fee recalculation this change started, if any


class ResellerPage(OutputSchema):
    items: list[ResellerOut]
    count: int


class ResellerCreateIn(InputSchema):
    name: ResellerName
    slug: Slug
    features: list[Key] = Field(default_factory=list, max_length=500)
    fees: list[FeeEntryIn] = Field(default_factory=list, max_length=500)
    blended: dict[CurrencyCode, bool] = Field(default_factory=dict)


class ResellerPatchIn(InputSchema):
    name: ResellerName = omitted(description="Platform only.")
    slug: Slug = omitted(description="Platform only.")
    features: list[Key] = omitted(max_length=500, description="Platform only.")
    default_registration_plan_id: ObjectId | None = omitted()
    registration_plan_choice: bool = omitted(
        description="Offer visitors the visible, assignable plans at registration."
    )
    fees: list[FeeEntryIn] = omitted(max_length=500)
    blended: dict[CurrencyCode, bool] = omitted()
    fee_apply_mode: FeeApplyMode | None = Field(
        default=None, description="Required when the fee change alters existing items' fees."
    )


@router.get("/resellers", response=responses({200: ResellerPage}))
def list_resellers(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return paginate(reseller_list_for_actor(actor_of(request)), page, reseller_serialize)


@router.post(
    "/resellers",
    response=responses({201: ResellerOut}, WRITE_ERRORS),
    openapi_extra=response_links(
        201, links("reseller_id", __name__, "get_reseller", "update_reseller")
    ),
)
def create_reseller(request: HttpRequest, payload: ResellerCreateIn) -> Status[dict[str, Any]]:
    reseller = reseller_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, reseller_serialize(reseller_get_for_actor(actor_of(request), reseller.pk)))


@router.get("/resellers/{reseller_id}", response=responses({200: ResellerOut}))
def get_reseller(request: HttpRequest, reseller_id: ObjectId) -> dict[str, Any]:
    return reseller_serialize(reseller_get_for_actor(actor_of(request), reseller_id))


@router.patch(
    "/resellers/{reseller_id}", response=responses({200: ResellerUpdateOut}, WRITE_ERRORS)
)
def update_reseller(
    request: HttpRequest, reseller_id: ObjectId, payload: ResellerPatchIn
) -> dict[str, Any]:
    changes = payload.model_dump(exclude_unset=True)
    result = reseller_update(
        actor=actor_of(request),
        reseller_id=reseller_id,
        changes=changes,
        fee_apply_mode=changes.pop("fee_apply_mode", None),
    )
    job_id = result.job.pk if result.job is not None else None
    return {**reseller_serialize(result.reseller), "job_id": job_id}
