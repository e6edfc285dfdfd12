"""REST API: sale items, the fee quote and recalculation jobs (SPEC §6, §12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status

from partnerhub.accounts.api_auth import actor_of
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    VALID_UNICODE,
    WRITE_ERRORS,
    CurrencyCode,
    InputSchema,
    Key,
    MinorUnits,
    ObjectId,
    OutputSchema,
    PageParams,
    bounded,
    links,
    omitted,
    response_links,
    responses,
)
from partnerhub.fees.models import SALE_ITEM_NAME_MAX_LENGTH, SALE_ITEM_REF_MAX_LENGTH
from partnerhub.fees.selectors import (
    job_get_for_actor,
    job_list_for_actor,
    job_serialize,
    sale_item_get_for_actor,
    sale_item_list_for_actor,
    sale_item_serialize,
)
from partnerhub.fees.services import fee_quote, sale_item_create, sale_item_update

router = Router(tags=["fees"])

ItemName = Annotated[str, bounded(SALE_ITEM_NAME_MAX_LENGTH, min_length=1), VALID_UNICODE]
ExternalRef = Annotated[str, bounded(SALE_ITEM_REF_MAX_LENGTH), VALID_UNICODE]
JobStatus = Literal["queued", "running", "succeeded", "failed"]


class SaleItemOut(OutputSchema):
    id: int
    company_id: int
    external_ref: str
    name: str
    currency: str
    fee_type: str
    price_minor: int  # minor units
    reseller_fee_minor: int  # minor units
    gateway_fee_minor: int  # minor units
    blended: bool
    fee_revision: int
    fees_updated_at: datetime | None


class SaleItemPage(OutputSchema):
    items: list[SaleItemOut]
    count: int


class SaleItemCreateIn(InputSchema):
    external_ref: ExternalRef = ""
    name: ItemName
    currency: CurrencyCode
    fee_type: Key
    price_minor: MinorUnits


class SaleItemPatchIn(InputSchema):
    external_ref: ExternalRef = omitted()
    name: ItemName = omitted()
    currency: CurrencyCode = omitted()
    fee_type: Key = omitted()
    price_minor: MinorUnits = omitted()


class FeeQuoteIn(InputSchema):
    company_id: ObjectId
    currency: CurrencyCode
    fee_type: Key
    price_minor: MinorUnits


class Charge(OutputSchema):
    label: Literal["fees", "reseller_fee", "gateway_fee"]
    amount_minor: int  # minor units


class FeeQuoteOut(OutputSchema):
    company_id: int
    currency: str
    fee_type: str
    price_minor: int  # minor units
    reseller_fee_minor: int  # minor units
    gateway_fee_minor: int  # minor units
    blended: bool
    total_fee_minor: int  # minor units
    charges: list[Charge]  # one combined charge when blended, else two


class JobOut(OutputSchema):
    id: int
    kind: Literal["fee_recalculation"]
    status: JobStatus
    reseller_id: int
    plan_id: int | None
    reason: str
    companies_total: int
    companies_done: int
    items_total: int
    items_done: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class JobPage(OutputSchema):
    items: list[JobOut]
    count: int


class JobFilters(PageParams):
    reseller_id: ObjectId | None = None
    plan_id: ObjectId | None = None
    status: JobStatus | None = None


@router.get("/companies/{company_id}/sale-items", response=responses({200: SaleItemPage}))
def list_sale_items(
    request: HttpRequest, company_id: ObjectId, page: Query[PageParams]
) -> dict[str, Any]:
    items = sale_item_list_for_actor(actor_of(request), company_id)
    return paginate(items, page, sale_item_serialize)


@router.post(
    "/companies/{company_id}/sale-items",
    response=responses({201: SaleItemOut}, WRITE_ERRORS),
    openapi_extra=response_links(
        201, links("item_id", __name__, "get_sale_item", "update_sale_item")
    ),
)
def create_sale_item(
    request: HttpRequest, company_id: ObjectId, payload: SaleItemCreateIn
) -> Status[dict[str, Any]]:
    """Create an item; its fees are computed now from the company's effective schedule."""
    item = sale_item_create(
        actor=actor_of(request), company_id=company_id, data=payload.model_dump()
    )
    return Status(201, sale_item_serialize(item))


@router.get("/sale-items/{item_id}", response=responses({200: SaleItemOut}))
def get_sale_item(request: HttpRequest, item_id: ObjectId) -> dict[str, Any]:
    return sale_item_serialize(sale_item_get_for_actor(actor_of(request), item_id))


@router.patch("/sale-items/{item_id}", response=responses({200: SaleItemOut}, WRITE_ERRORS))
def update_sale_item(
    request: HttpRequest, item_id: ObjectId, payload: SaleItemPatchIn
) -> dict[str, Any]:
    """Edit an item; a new price, currency or fee type recomputes its fees."""
    item = sale_item_update(
        actor=actor_of(request), item_id=item_id, changes=payload.model_dump(exclude_unset=True)
    )
    return sale_item_serialize(item)


@router.post("/fees/quote", response=responses({200: FeeQuoteOut}, WRITE_ERRORS))
def quote_fees(request: HttpRequest, payload: FeeQuoteIn) -> dict[str, Any]:
    """The fees an item would get now, for a company; nothing is stored."""
    quote = fee_quote(actor=actor_of(request), **payload.model_dump())
    return quote.as_dict()


@router.get("/jobs", response=responses({200: JobPage}))
def list_jobs(request: HttpRequest, filters: Query[JobFilters]) -> dict[str, Any]:
    jobs = job_list_for_actor(
        actor_of(request),
        reseller_id=filters.reseller_id,
        plan_id=filters.plan_id,
        status=filters.status,
    )
    return paginate(jobs, filters, job_serialize)


@router.get("/jobs/{job_id}", response=responses({200: JobOut}))
def get_job(request: HttpRequest, job_id: ObjectId) -> dict[str, Any]:
    """A recalculation's progress: companies and items done of total."""
    return job_serialize(job_get_for_actor(actor_of(request), job_id))
