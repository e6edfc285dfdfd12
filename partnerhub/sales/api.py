"""REST API: record sales (SPEC §15)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router
from pydantic import BaseModel, ConfigDict, StringConstraints

from partnerhub.accounts.api_auth import actor_of
from partnerhub.core.schemas import (
    WRITE_ERRORS,
    InputSchema,
    IsoDatetime,
    ObjectId,
    OutputSchema,
    responses,
)
from partnerhub.sales.models import MAX_SALE_QUANTITY, SALE_ID_MAX_LENGTH
from partnerhub.sales.services import MAX_BATCH, SaleInput, sales_record_parsed

router = Router(tags=["sales"])

SaleId = Annotated[
    str, StringConstraints(min_length=1, max_length=SALE_ID_MAX_LENGTH, pattern=r"^[^\x00]*$")
]


class SaleIn(BaseModel):
    """One sale. A plain pydantic model, not a ninja Schema, for the reason given on
    usage's `UsageEventIn` (1,000 nested Schemas cost more to build than to validate).
    Same rules as `InputSchema`: strict types, an unknown field is a 422."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: SaleId
    sale_item_id: ObjectId
    quantity: Annotated[int, Field(ge=1, le=MAX_SALE_QUANTITY)]
    timestamp: IsoDatetime


class SalesIn(InputSchema):
    sales: list[SaleIn] = Field(min_length=1, max_length=MAX_BATCH)


class SalesOut(OutputSchema):
    accepted: int
    duplicates: int


@router.post("/sales", response=responses({200: SalesOut}, WRITE_ERRORS))
def record_sales(request: HttpRequest, payload: SalesIn) -> dict[str, Any]:
    """Record sold quantities of sale items: 1 to 1000 sales, all or nothing, deduplicated
    by id per reseller. Each keeps its item's price and fees as they are now."""
    sales = [
        SaleInput(
            index=index,
            sale_id=s.id,
            sale_item_id=s.sale_item_id,
            quantity=s.quantity,
            timestamp=s.timestamp,
        )
        for index, s in enumerate(payload.sales)
    ]
    result = sales_record_parsed(actor=actor_of(request), sales=sales)
    return {"accepted": result.accepted, "duplicates": result.duplicates}
