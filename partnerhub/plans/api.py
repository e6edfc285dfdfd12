"""REST API: plans and their lifecycle — create, edit (+ preview), duplicate, archive,
unarchive, delete, restore (SPEC §4, §8, §12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Status

from partnerhub.accounts.api_auth import actor_of
from partnerhub.core.caching import cached_json, params_digest
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    MAX_DB_INT,
    VALID_UNICODE,
    WRITE_ERRORS,
    CurrencyCode,
    Description,
    FeeApplyMode,
    FeeEntryIn,
    FeeEntryOut,
    InputSchema,
    Key,
    LimitValue,
    ObjectId,
    OutputSchema,
    PageParams,
    SearchText,
    bounded,
    links,
    omitted,
    response_links,
    responses,
)
from partnerhub.plans.models import PLAN_NAME_MAX_LENGTH
from partnerhub.plans.selectors import (
    gst_rate_bps,
    plan_get_for_actor,
    plan_list_for_actor,
    plan_serialize,
)
from partnerhub.plans.services import (
    plan_archive,
    plan_create,
    plan_delete,
    plan_duplicate,
    plan_preview,
    plan_restore,
    plan_unarchive,
    plan_update,
)
from partnerhub.resellers.versions import plans_version

router = Router(tags=["plans"])
PLAN_LINKS = (
    "get_plan",
    "update_plan",
    "delete_plan",
    "preview_plan",
    "duplicate_plan",
    "archive_plan",
    "unarchive_plan",
    "restore_plan",
)

PlanTypeName = Literal["usage_based", "revenue_sharing"]
BillingCycleName = Literal["monthly", "quarterly", "yearly"]
PlanName = Annotated[str, bounded(PLAN_NAME_MAX_LENGTH, min_length=1), VALID_UNICODE]
# Plan prices are list prices, not sale items: the plan service allows up to 10^15.
PlanAmount = Annotated[int, Field(ge=0, le=10**15)]  # minor units
RevenueShareBps = Annotated[int, Field(ge=1, le=10_000)]  # basis points


class PriceIn(InputSchema):
    currency: CurrencyCode
    billing_cycle: BillingCycleName
    amount_minor: PlanAmount


class PriceOut(OutputSchema):
    currency: str
    billing_cycle: str
    amount_minor: int  # minor units, net of tax
    gst_minor: int | None = Field(
        description="GST on the price at the platform's rate (half up); null when GST is off."
    )  # minor units
    gross_minor: int | None = Field(
        description="amount_minor + gst_minor; null when GST is off."
    )  # minor units


class PlanOut(OutputSchema):
    id: int
    reseller_id: int
    version: int
    plan_type: PlanTypeName
    name: str
    display_name: str
    description: str
    enabled: bool
    visible: bool
    billing_cycles: list[str]
    prices: list[PriceOut]
    gst_enabled: bool
    revenue_share_bps: int | None
    limits: dict[str, int | None]
    features: list[str]
    fees: list[FeeEntryOut]
    blended: dict[str, bool]
    archived: bool
    deleted: bool
    feature_count: int
    company_count: int
    created_at: datetime
    updated_at: datetime


class PlanUpdateOut(PlanOut):
    job_id: int | None  # the fee recalculation this edit started, if any


class PlanPage(OutputSchema):
    items: list[PlanOut]
    count: int


class PlanFields(InputSchema):
    """Every editable plan field; a field left out keeps its value."""

    plan_type: PlanTypeName = omitted()
    name: PlanName = omitted()
    display_name: PlanName = omitted()
    description: Description = omitted()
    enabled: bool = omitted(description="The Status toggle.")
    visible: bool = omitted()
    billing_cycles: list[BillingCycleName] = omitted(min_length=1, max_length=3)
    prices: list[PriceIn] = omitted(max_length=100)
    gst_enabled: bool = omitted()
    revenue_share_bps: RevenueShareBps | None = omitted(
        description="Required for revenue_sharing plans, null otherwise."
    )
    limits: dict[Key, LimitValue] = omitted(description="null = unlimited.")
    features: list[Key] = omitted(max_length=500)
    fees: list[FeeEntryIn] = omitted(max_length=500)
    blended: dict[CurrencyCode, bool] = omitted()


class PlanCreateIn(PlanFields):
    reseller_id: ObjectId = omitted(
        description="Required for platform keys; a reseller key uses its own."
    )
    plan_type: PlanTypeName
    name: PlanName
    billing_cycles: list[BillingCycleName] = Field(min_length=1, max_length=3)


class PlanPatchIn(PlanFields):
    version: int = Field(ge=0, le=MAX_DB_INT, description="The version you read (409 if stale).")
    fee_apply_mode: FeeApplyMode | None = Field(
        default=None,
        description="'all' or 'new'; required when the fees change (see /preview).",
    )


class PlanPreviewIn(PlanFields):
    """The body of a PATCH; `version` and `fee_apply_mode` are accepted and ignored."""

    version: int | None = Field(default=None, ge=0, le=MAX_DB_INT)
    fee_apply_mode: FeeApplyMode | None = None


class PlanRestoreIn(InputSchema):
    new_name: PlanName | None = Field(
        default=None, description="A new name, when the old one is taken by a live plan."
    )


class AffectedCompany(OutputSchema):
    id: int
    name: str


class PlanPreviewOut(OutputSchema):
    removed_features: list[str]
    added_features: list[str]
    affected_companies: list[AffectedCompany] = Field(
        description="Companies whose features would change, the first 100 by name."
    )
    affected_company_count: int
    fees_changed: bool
    blended_changed: bool
    recalculation: Literal["none", "ask", "forced"]


class PlanFilters(PageParams):
    reseller_id: ObjectId | None = None
    name: SearchText | None = Field(default=None, description="Partial match.")
    plan_type: PlanTypeName | None = None
    archived: Literal["hide", "all", "only"] = "hide"
    deleted: bool = False


def _changes(payload: PlanFields) -> dict[str, Any]:
    return payload.model_dump(exclude_unset=True, exclude={"version", "fee_apply_mode"})


@router.get("/plans", response=responses({200: PlanPage}))
def list_plans(request: HttpRequest, filters: Query[PlanFilters]) -> HttpResponse:
    """A page of plans. Cached whole, keyed on the versions of everything it shows: any
    plan, company, reseller or catalog write in the caller's scope makes a new page."""
    actor = actor_of(request)
    version = plans_version(actor)
    key = None
    if version is not None:
        key = f"plans:{actor.role}:{actor.reseller_id}:{version}:{params_digest(filters)}"

    def build() -> dict[str, Any]:
        plans = plan_list_for_actor(
            actor,
            reseller_id=filters.reseller_id,
            name=filters.name,
            plan_type=filters.plan_type,
            archived=filters.archived,
            deleted=filters.deleted,
            company_names=False,
        )
        gst_rate = gst_rate_bps()
        return paginate(plans, filters, lambda plan: plan_serialize(plan, gst_rate))

    return cached_json(request, key, PlanPage, build)


@router.post(
    "/plans",
    response=responses({201: PlanOut}, WRITE_ERRORS),
    openapi_extra=response_links(201, links("plan_id", __name__, *PLAN_LINKS)),
)
def create_plan(request: HttpRequest, payload: PlanCreateIn) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    data = payload.model_dump(exclude_unset=True)
    reseller_id = data.pop("reseller_id", None) or actor.reseller_id
    if reseller_id is None:
        raise ValidationFailed.field("reseller_id", "is required for a platform key")
    plan = plan_create(actor=actor, reseller_id=reseller_id, data=data)
    return Status(201, plan_serialize(plan))


@router.get("/plans/{plan_id}", response=responses({200: PlanOut}))
def get_plan(request: HttpRequest, plan_id: ObjectId) -> dict[str, Any]:
    return plan_serialize(plan_get_for_actor(actor_of(request), plan_id))


@router.patch("/plans/{plan_id}", response=responses({200: PlanUpdateOut}, WRITE_ERRORS))
def update_plan(request: HttpRequest, plan_id: ObjectId, payload: PlanPatchIn) -> dict[str, Any]:
    """Edit a plan; every company on it follows. A fee change needs `fee_apply_mode`."""
    result = plan_update(
        actor=actor_of(request),
        plan_id=plan_id,
        changes=_changes(payload),
        version=payload.version,
        fee_apply_mode=payload.fee_apply_mode,
    )
    job_id = result.job.pk if result.job is not None else None
    return {**plan_serialize(result.plan), "job_id": job_id}


@router.delete("/plans/{plan_id}", response=responses({200: PlanOut}, WRITE_ERRORS))
def delete_plan(request: HttpRequest, plan_id: ObjectId) -> dict[str, Any]:
    """Soft delete: every company on the plan becomes Custom and keeps its features and fees."""
    return plan_serialize(plan_delete(actor=actor_of(request), plan_id=plan_id))


@router.post("/plans/{plan_id}/preview", response=responses({200: PlanPreviewOut}, WRITE_ERRORS))
def preview_plan(request: HttpRequest, plan_id: ObjectId, payload: PlanPreviewIn) -> dict[str, Any]:
    """A dry run of a PATCH: removed features, affected companies, recalculation needed."""
    preview = plan_preview(actor=actor_of(request), plan_id=plan_id, changes=_changes(payload))
    return preview.as_dict()


@router.post(
    "/plans/{plan_id}/duplicate",
    response=responses({201: PlanOut}, WRITE_ERRORS),
    openapi_extra=response_links(201, links("plan_id", __name__, *PLAN_LINKS)),
)
def duplicate_plan(request: HttpRequest, plan_id: ObjectId) -> Status[dict[str, Any]]:
    """A disabled copy named "Copy of NAME", without the assignments."""
    plan = plan_duplicate(actor=actor_of(request), plan_id=plan_id)
    return Status(201, plan_serialize(plan))


@router.post("/plans/{plan_id}/archive", response=responses({200: PlanOut}, WRITE_ERRORS))
def archive_plan(request: HttpRequest, plan_id: ObjectId) -> dict[str, Any]:
    """Archiving plans allows you to hide them as options when assigning to companies but
    keeps them assigned to any existing companies."""
    return plan_serialize(plan_archive(actor=actor_of(request), plan_id=plan_id))


@router.post("/plans/{plan_id}/unarchive", response=responses({200: PlanOut}, WRITE_ERRORS))
def unarchive_plan(request: HttpRequest, plan_id: ObjectId) -> dict[str, Any]:
    return plan_serialize(plan_unarchive(actor=actor_of(request), plan_id=plan_id))


@router.post("/plans/{plan_id}/restore", response=responses({200: PlanOut}, WRITE_ERRORS))
def restore_plan(
    request: HttpRequest, plan_id: ObjectId, payload: PlanRestoreIn | None = None
) -> dict[str, Any]:
    """Make a deleted plan available again; no company is re-assigned. A name now taken
    answers 409 with a `suggested_name`."""
    new_name = payload.new_name if payload is not None else None
    plan = plan_restore(actor=actor_of(request), plan_id=plan_id, new_name=new_name)
    return plan_serialize(plan)
