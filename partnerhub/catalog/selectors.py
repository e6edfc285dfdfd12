"""Reading the platform's catalog. The catalog is public to every signed-in actor."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from partnerhub.catalog.models import Currency, Feature, FeeType, GatewayFee, Limit, TaxSettings
from partnerhub.core.errors import NotFound


def feature_list() -> QuerySet[Feature]:
    return Feature.objects.order_by("key")


def feature_get(feature_id: int) -> Feature:
    feature = Feature.objects.filter(pk=feature_id).first()
    if feature is None:
        raise NotFound("Feature not found.")
    return feature


def limit_list() -> QuerySet[Limit]:
    return Limit.objects.order_by("id")


def fee_type_list() -> QuerySet[FeeType]:
    return FeeType.objects.order_by("key")


def currency_list() -> QuerySet[Currency]:
    return Currency.objects.order_by("code")


def gateway_fee_list() -> QuerySet[GatewayFee]:
    return GatewayFee.objects.order_by("currency_id")


def tax_get() -> TaxSettings:
    return TaxSettings.current()


def feature_serialize(feature: Feature) -> dict[str, Any]:
    return {
        "id": feature.pk,
        "key": feature.key,
        "name": feature.name,
        "description": feature.description,
    }


def limit_serialize(limit: Limit) -> dict[str, Any]:
    return {
        "id": limit.pk,
        "key": limit.key,
        "name": limit.name,
        "unit": limit.unit,
        "period": limit.period,
        "kind": limit.kind,
        "description": limit.description,
    }


def fee_type_serialize(fee_type: FeeType) -> dict[str, Any]:
    return {"id": fee_type.pk, "key": fee_type.key, "name": fee_type.name}


def currency_serialize(currency: Currency) -> dict[str, Any]:
    return {"code": currency.code, "name": currency.name, "exponent": currency.exponent}


def gateway_fee_serialize(fee: GatewayFee) -> dict[str, Any]:
    return {
        "currency": fee.currency_id,
        "percent_bps": fee.percent_bps,
        "fixed_minor": fee.fixed_minor,  # minor units
    }


_KEYED: dict[str, Any] = {"feature": Feature, "limit": Limit, "fee_type": FeeType}


def catalog_key_taken(kind: str, key: str) -> bool:
    """Whether a feature, limit or fee type already has `key`. The hub asks before saving,
    so a taken key shows with every other error at once (issue #13); the service's
    unique constraint still decides."""
    return bool(_KEYED[kind].objects.filter(key=key).exists())


def currency_taken(code: str) -> bool:
    return Currency.objects.filter(code=code).exists()
