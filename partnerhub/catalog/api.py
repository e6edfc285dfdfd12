"""REST API: the platform's catalog — features, limits, fee types, currencies, gateway fees
and tax (SPEC §2, §12). Every signed-in actor reads it; only the platform writes it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Body, Field, Query, Router, Status

from partnerhub.accounts.api_auth import actor_of
from partnerhub.catalog.models import (
    CURRENCY_NAME_MAX_LENGTH,
    LIMIT_UNIT_MAX_LENGTH,
    NAME_MAX_LENGTH,
)
from partnerhub.catalog.selectors import (
    currency_list,
    currency_serialize,
    feature_list,
    feature_serialize,
    fee_type_list,
    fee_type_serialize,
    gateway_fee_list,
    gateway_fee_serialize,
    limit_list,
    limit_serialize,
    tax_get,
)
from partnerhub.catalog.services import (
    currency_create,
    feature_create,
    feature_update,
    fee_type_create,
    gateway_fees_set,
    limit_create,
    tax_set,
)
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    VALID_UNICODE,
    WRITE_ERRORS,
    Bps,
    CurrencyCode,
    Description,
    InputSchema,
    Key,
    MinorUnits,
    ObjectId,
    OutputSchema,
    PageParams,
    bounded,
    omitted,
    responses,
)

router = Router(tags=["catalog"])

CatalogName = Annotated[str, bounded(NAME_MAX_LENGTH, min_length=1), VALID_UNICODE]
Unit = Annotated[str, bounded(LIMIT_UNIT_MAX_LENGTH), VALID_UNICODE]


class FeatureOut(OutputSchema):
    id: int
    key: str
    name: str
    description: str


class FeaturePage(OutputSchema):
    items: list[FeatureOut]
    count: int


class FeatureIn(InputSchema):
    key: Key
    name: CatalogName
    description: Description = ""


class FeaturePatchIn(InputSchema):
    name: CatalogName = omitted()
    description: Description = omitted()


class LimitOut(OutputSchema):
    id: int
    key: str
    name: str
    unit: str
    period: Literal["none", "month"]
    kind: Literal["metered", "gauge", "cap"]
    description: str


class LimitPage(OutputSchema):
    items: list[LimitOut]
    count: int


class LimitIn(InputSchema):
    key: Key
    name: CatalogName
    unit: Unit = ""
    period: Literal["none", "month"] = "none"
    kind: Literal["metered", "gauge", "cap"] | None = Field(
        default=None, description="Default: metered for a monthly limit, else gauge."
    )
    description: Description = ""


class FeeTypeOut(OutputSchema):
    id: int
    key: str
    name: str


class FeeTypePage(OutputSchema):
    items: list[FeeTypeOut]
    count: int


class FeeTypeIn(InputSchema):
    key: Key
    name: CatalogName


class CurrencyOut(OutputSchema):
    code: str
    name: str
    exponent: int  # digits of the minor unit (ISO 4217)


class CurrencyPage(OutputSchema):
    items: list[CurrencyOut]
    count: int


class CurrencyIn(InputSchema):
    code: CurrencyCode
    name: Annotated[str, bounded(CURRENCY_NAME_MAX_LENGTH), VALID_UNICODE] = ""


class GatewayFeeIn(InputSchema):
    currency: CurrencyCode
    percent_bps: Bps
    fixed_minor: MinorUnits = 0


class GatewayFeeOut(OutputSchema):
    currency: str
    percent_bps: int  # basis points
    fixed_minor: int  # minor units


class TaxIn(InputSchema):
    gst_rate_bps: Bps = Field(description="1800 = 18.00 %")


class TaxOut(OutputSchema):
    gst_rate_bps: int  # basis points


@router.get("/features", response=responses({200: FeaturePage}))
def list_features(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return paginate(feature_list(), page, feature_serialize)


@router.post("/features", response=responses({201: FeatureOut}, WRITE_ERRORS))
def create_feature(request: HttpRequest, payload: FeatureIn) -> Status[dict[str, Any]]:
    feature = feature_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, feature_serialize(feature))


@router.patch("/features/{feature_id}", response=responses({200: FeatureOut}, WRITE_ERRORS))
def update_feature(
    request: HttpRequest, feature_id: ObjectId, payload: FeaturePatchIn
) -> dict[str, Any]:
    feature = feature_update(
        actor=actor_of(request), feature_id=feature_id, **payload.model_dump(exclude_unset=True)
    )
    return feature_serialize(feature)


@router.get("/limits", response=responses({200: LimitPage}))
def list_limits(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return paginate(limit_list(), page, limit_serialize)


@router.post("/limits", response=responses({201: LimitOut}, WRITE_ERRORS))
def create_limit(request: HttpRequest, payload: LimitIn) -> Status[dict[str, Any]]:
    limit = limit_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, limit_serialize(limit))


@router.get("/fee-types", response=responses({200: FeeTypePage}))
def list_fee_types(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return paginate(fee_type_list(), page, fee_type_serialize)


@router.post("/fee-types", response=responses({201: FeeTypeOut}, WRITE_ERRORS))
def create_fee_type(request: HttpRequest, payload: FeeTypeIn) -> Status[dict[str, Any]]:
    fee_type = fee_type_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, fee_type_serialize(fee_type))


@router.get("/currencies", response=responses({200: CurrencyPage}))
def list_currencies(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return paginate(currency_list(), page, currency_serialize)


@router.post("/currencies", response=responses({201: CurrencyOut}, WRITE_ERRORS))
def create_currency(request: HttpRequest, payload: CurrencyIn) -> Status[dict[str, Any]]:
    currency = currency_create(actor=actor_of(request), **payload.model_dump())
    return Status(201, currency_serialize(currency))


@router.get("/gateway-fees", response=responses({200: list[GatewayFeeOut]}))
def list_gateway_fees(request: HttpRequest) -> list[dict[str, Any]]:
    """The platform's payment gateway processing fee per currency."""
    return [gateway_fee_serialize(fee) for fee in gateway_fee_list()]


@router.put("/gateway-fees", response=responses({200: list[GatewayFeeOut]}, WRITE_ERRORS))
def set_gateway_fees(
    request: HttpRequest,
    payload: Annotated[list[GatewayFeeIn], Body()],
) -> list[dict[str, Any]]:
    """Replace every gateway fee: a currency left out has no gateway fee afterwards."""
    fees = gateway_fees_set(
        actor=actor_of(request), entries=[entry.model_dump() for entry in payload]
    )
    return [gateway_fee_serialize(fee) for fee in fees]


@router.get("/tax", response=responses({200: TaxOut}))
def get_tax(request: HttpRequest) -> dict[str, Any]:
    return {"gst_rate_bps": tax_get().gst_rate_bps}


@router.put("/tax", response=responses({200: TaxOut}, WRITE_ERRORS))
def set_tax(request: HttpRequest, payload: TaxIn) -> dict[str, Any]:
    tax = tax_set(actor=actor_of(request), gst_rate_bps=payload.gst_rate_bps)
    return {"gst_rate_bps": tax.gst_rate_bps}
