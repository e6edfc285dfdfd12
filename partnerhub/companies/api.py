"""REST API: companies, their entitlements, reset-plan-fees and resync-plan (SPEC §5, §12)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Status
from pydantic import TypeAdapter, ValidationError

from partnerhub.accounts.api_auth import ApiKeyAuth, HubSessionAuth, actor_of, key_lookup_extra
from partnerhub.accounts.authentication import KeyLookupExtra
from partnerhub.companies.cache import company_entitlements_cached, stamps_sql
from partnerhub.companies.models import COMPANY_NAME_MAX_LENGTH
from partnerhub.companies.selectors import (
    company_get_for_actor,
    company_list_for_actor,
    company_serialize,
)
from partnerhub.companies.services import (
    company_create,
    company_reset_plan_fees,
    company_resync_plan,
    company_update,
)
from partnerhub.companies.terms import TERM_FIELDS
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    VALID_UNICODE,
    WRITE_ERRORS,
    CurrencyCode,
    Email,
    FeeApplyMode,
    FeeEntryIn,
    FeeEntryOut,
    InputSchema,
    IsoDate,
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

CompanyName = Annotated[str, bounded(COMPANY_NAME_MAX_LENGTH, min_length=1), VALID_UNICODE]

router = Router(tags=["companies"])
COMPANY_LINKS = (
    "get_company",
    "update_company",
    "get_entitlements",
    "reset_plan_fees",
    "resync_plan",
)


class CompanyOut(OutputSchema):
    id: int
    reseller_id: int
    name: str
    contact_email: str
    plan_id: int | None
    plan_name: str | None
    use_plan_fees: bool
    deviates_from_plan: bool
    direct_features: list[str]
    excluded_features: list[str]
    limit_overrides: dict[str, int | None]
    own_limits: dict[str, int | None]
    has_own_fees: bool
    fees: list[FeeEntryOut]
    blended: dict[str, bool]
    billing_cycle: Literal["monthly", "quarterly", "yearly"]
    billing_currency: str  # "" while a Custom company has none
    billing_anchor: date  # usage periods are months counted from this day
    created_at: datetime


class CompanyUpdateOut(CompanyOut):
    job_id: int | None  # the fee recalculation this change started, if any


class CompanyPage(OutputSchema):
    items: list[CompanyOut]
    count: int


class CompanyFields(InputSchema):
    # Not nullable: leave a field out to keep it (None here only means "not sent").
    contact_email: Email = omitted()
    limit_overrides: dict[Key, LimitValue] = omitted()
    own_limits: dict[Key, LimitValue] = omitted()
    direct_features: list[Key] = omitted(max_length=500)
    fees: list[FeeEntryIn] = omitted(max_length=500)
    blended: dict[CurrencyCode, bool] = omitted()
    billing_cycle: Literal["monthly", "quarterly", "yearly"] = omitted(
        description="One of the plan's cycles; default the first it offers."
    )
    billing_currency: CurrencyCode = omitted(
        description="One of the plan's price currencies; default the first by code."
    )
    billing_anchor: IsoDate = omitted(description="Default: the day the company was created.")


class CompanyCreateIn(CompanyFields):
    reseller_id: ObjectId = omitted(
        description="Required for platform keys; a reseller key uses its own."
    )
    name: CompanyName
    plan_id: ObjectId | None = None


class CompanyPatchIn(CompanyFields):
    name: CompanyName = omitted()
    plan_id: ObjectId | None = omitted(description="null sets the company Custom.")
    use_plan_fees: bool = omitted()
    excluded_features: list[Key] = omitted(max_length=500)
    fee_apply_mode: FeeApplyMode | None = omitted(
        description="Required when the change alters fees existing items use."
    )


class ResetPlanFeesIn(InputSchema):
    fee_apply_mode: FeeApplyMode | None = None


class CompanyFilters(PageParams):
    reseller_id: ObjectId | None = None
    search: SearchText | None = None
    plan_id: ObjectId | None = None
    custom: bool | None = Field(default=None, description="true: only companies on no plan.")


class EntitlementPlan(OutputSchema):
    id: int
    name: str
    display_name: str


class EntitlementFeature(OutputSchema):
    key: str
    source: Literal["plan", "direct"]


class EntitlementLimit(OutputSchema):
    value: int | None
    period: str
    source: Literal["override", "plan", "company", "unset"]


class EntitlementFees(OutputSchema):
    source: Literal["plan", "company", "reseller"]
    schedule: list[FeeEntryOut]
    blended: dict[str, bool]


class EntitlementsOut(OutputSchema):
    company_id: int
    plan: EntitlementPlan | None
    features: list[EntitlementFeature]
    limits: dict[str, EntitlementLimit]
    fees: EntitlementFees


def _with_job(company: Any, job: Any) -> dict[str, Any]:
    return {**company_serialize(company), "job_id": job.pk if job is not None else None}


@router.get("/companies", response=responses({200: CompanyPage}))
def list_companies(request: HttpRequest, filters: Query[CompanyFilters]) -> dict[str, Any]:
    companies = company_list_for_actor(
        actor_of(request),
        reseller_id=filters.reseller_id,
        search=filters.search,
        plan_id=filters.plan_id,
        custom=filters.custom,
    )
    return paginate(companies, filters, company_serialize)


@router.post(
    "/companies",
    response=responses({201: CompanyOut}, WRITE_ERRORS),
    openapi_extra=response_links(
        201,
        links("company_id", __name__, *COMPANY_LINKS),
        links("company_id", "partnerhub.fees.api", "list_sale_items", "create_sale_item"),
    ),
)
def create_company(request: HttpRequest, payload: CompanyCreateIn) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    data = payload.model_dump(exclude_unset=True)
    reseller_id = data.pop("reseller_id", None) or actor.reseller_id
    if reseller_id is None:
        raise ValidationFailed.field("reseller_id", "is required for a platform key")
    terms = {field: data.pop(field) for field in TERM_FIELDS if field in data}
    company = company_create(actor=actor, reseller_id=reseller_id, terms=terms, **data)
    return Status(201, company_serialize(company))


@router.get("/companies/{company_id}", response=responses({200: CompanyOut}))
def get_company(request: HttpRequest, company_id: ObjectId) -> dict[str, Any]:
    return company_serialize(company_get_for_actor(actor_of(request), company_id))


@router.patch("/companies/{company_id}", response=responses({200: CompanyUpdateOut}, WRITE_ERRORS))
def update_company(
    request: HttpRequest, company_id: ObjectId, payload: CompanyPatchIn
) -> dict[str, Any]:
    changes = payload.model_dump(exclude_unset=True)
    mode = changes.pop("fee_apply_mode", None)
    result = company_update(
        actor=actor_of(request), company_id=company_id, changes=changes, fee_apply_mode=mode
    )
    return _with_job(result.company, result.job)


def _etags(header: str | None) -> set[str]:
    """The entity tags of an If-None-Match header (weak or strong compare alike, RFC 9110)."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


_OBJECT_ID: TypeAdapter[int] = TypeAdapter(ObjectId)


class EntitlementsKeyAuth(ApiKeyAuth):
    """The bearer-key check, reading the company's cache-key stamps in the same statement:
    a warm entitlements read then costs the database one round trip, like any
    authenticated request (docs/benchmarks.md). The scope check stays in companies/cache.py."""

    def lookup_extra(self, request: HttpRequest) -> KeyLookupExtra | None:
        match = request.resolver_match
        try:
            company_id = _OBJECT_ID.validate_python(
                match.kwargs.get("company_id") if match else None
            )
        except ValidationError:
            return None  # not an id: the parameter's own validation answers
        return KeyLookupExtra(sql=stamps_sql(), params=(company_id,))


@router.get(
    "/companies/{company_id}/entitlements",
    response=responses({200: EntitlementsOut, 304: None}),
    auth=[EntitlementsKeyAuth(), HubSessionAuth()],
)
def get_entitlements(request: HttpRequest, company_id: ObjectId) -> HttpResponse:
    """The company's effective configuration. Answers an ETag; If-None-Match gives a 304."""
    body, etag = company_entitlements_cached(
        actor_of(request), company_id, stamps=key_lookup_extra(request)
    )
    tags = _etags(request.headers.get("If-None-Match"))
    if etag in tags or "*" in tags:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    # Clients may keep it, but must revalidate: a plan edit changes it at once.
    response["Cache-Control"] = "private, no-cache"
    return response


@router.post(
    "/companies/{company_id}/reset-plan-fees",
    response=responses({200: CompanyUpdateOut}, WRITE_ERRORS),
)
def reset_plan_fees(
    request: HttpRequest, company_id: ObjectId, payload: ResetPlanFeesIn | None = None
) -> dict[str, Any]:
    """Turn 'Use plan fees' back on."""
    mode = payload.fee_apply_mode if payload is not None else None
    result = company_reset_plan_fees(
        actor=actor_of(request), company_id=company_id, fee_apply_mode=mode
    )
    return _with_job(result.company, result.job)


@router.post(
    "/companies/{company_id}/resync-plan", response=responses({200: CompanyOut}, WRITE_ERRORS)
)
def resync_plan(request: HttpRequest, company_id: ObjectId) -> dict[str, Any]:
    """Clear the company's exclusions: it gets every feature of its plan again."""
    company = company_resync_plan(actor=actor_of(request), company_id=company_id)
    return company_serialize(company)
