"""Writing the platform's catalog (SPEC §2). Every write here is the platform operator's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from babel.numbers import get_currency_name
from django.db import IntegrityError, transaction

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import (
    CURRENCY_NAME_MAX_LENGTH,
    KEY_MAX_LENGTH,
    LIMIT_UNIT_MAX_LENGTH,
    NAME_MAX_LENGTH,
    Currency,
    Feature,
    FeeType,
    GatewayFee,
    Limit,
    TaxSettings,
)
from partnerhub.core.actor import Actor
from partnerhub.core.errors import Conflict, NotFound, ValidationFailed
from partnerhub.core.iso4217 import ISO4217_EXPONENTS
from partnerhub.resellers.versions import versions_bump
from partnerhub.webhooks.announce import limit_created_announce

# Keys are stable identifiers used in the API and in stored limits: lowercase
# words joined by "_" or "-".
KEY_PATTERN = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
MAX_BPS = 10_000  # 100 %
GATEWAY_FEE_FIELDS = {"currency", "percent_bps", "fixed_minor"}


def _key(value: Any, field: str = "key") -> str:
    key = str(value or "").strip()
    if not key:
        raise ValidationFailed.field(field, "must not be empty")
    if len(key) > KEY_MAX_LENGTH or not KEY_PATTERN.match(key):
        raise ValidationFailed.field(
            field,
            "use lowercase letters, digits, '_' or '-' (at most 64 characters)",
        )
    return key


def _name(value: Any, field: str = "name", *, max_length: int = NAME_MAX_LENGTH) -> str:
    name = str(value or "").strip()
    if not name:
        raise ValidationFailed.field(field, "must not be empty")
    if len(name) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
    return name


def _bps(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BPS:
        raise ValidationFailed.field(field, "must be an integer from 0 to 10000 (basis points)")
    return value


def _create_unique(create: Any, what: str, key: str) -> Any:
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        raise Conflict(
            f"A {what} with key {key!r} already exists.", details={"key": ["already exists"]}
        ) from None


def _audit(actor: Actor, action: str, obj: Any, new: dict[str, Any], old: Any = None) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=action.split(".")[0],
        object_id=obj.pk,
        object_repr=str(obj),
        reseller_id=None,
        old=old,
        new=new,
    )


def _catalog_changed() -> None:
    """Catalog changes can change every company's resolved entitlements (names, limits)."""
    versions_bump(None, entitlements=True)


def feature_create(*, actor: Actor, key: str, name: str, description: str = "") -> Feature:
    actor.require_platform()
    data = {"key": _key(key), "name": _name(name), "description": (description or "").strip()}

    def create() -> Feature:
        feature = Feature.objects.create(**data)
        _audit(actor, "feature.create", feature, data)
        _catalog_changed()
        return feature

    return _create_unique(create, "feature", data["key"])  # type: ignore[no-any-return]


@transaction.atomic
def feature_update(
    *,
    actor: Actor,
    feature_id: int,
    name: str | None = None,
    description: str | None = None,
) -> Feature:
    actor.require_platform()
    feature = Feature.objects.select_for_update().filter(pk=feature_id).first()
    if feature is None:
        raise NotFound("Not found.")
    old = {"name": feature.name, "description": feature.description}
    if name is not None:
        feature.name = _name(name)
    if description is not None:
        feature.description = description.strip()
    new = {"name": feature.name, "description": feature.description}
    if new != old:
        feature.save(update_fields=["name", "description"])
        _audit(actor, "feature.update", feature, new, old)
        _catalog_changed()
    return feature


def limit_create(
    *,
    actor: Actor,
    key: str,
    name: str,
    unit: str = "",
    period: str = "none",
    description: str = "",
    kind: str | None = None,
) -> Limit:
    actor.require_platform()
    if period not in Limit.Period.values:
        raise ValidationFailed.field("period", "must be 'none' or 'month'")
    if kind is None:
        # A monthly limit counts per usage period; one without a period is a current count.
        kind = Limit.Kind.METERED if period == Limit.Period.MONTH else Limit.Kind.GAUGE
    if kind not in Limit.Kind.values:
        raise ValidationFailed.field("kind", "must be 'metered', 'gauge' or 'cap'")
    data = {
        "key": _key(key),
        "name": _name(name),
        "unit": (unit or "").strip()[:LIMIT_UNIT_MAX_LENGTH],
        "period": period,
        "kind": kind,
        "description": (description or "").strip(),
    }

    def create() -> Limit:
        limit = Limit.objects.create(**data)
        _audit(actor, "limit.create", limit, data)
        _catalog_changed()
        limit_created_announce(limit)
        return limit

    return _create_unique(create, "limit", data["key"])  # type: ignore[no-any-return]


def fee_type_create(*, actor: Actor, key: str, name: str) -> FeeType:
    actor.require_platform()
    data = {"key": _key(key), "name": _name(name)}

    def create() -> FeeType:
        fee_type = FeeType.objects.create(**data)
        _audit(actor, "fee_type.create", fee_type, data)
        return fee_type

    return _create_unique(create, "fee type", data["key"])  # type: ignore[no-any-return]


def currency_create(*, actor: Actor, code: str, name: str = "") -> Currency:
    """A currency the platform trades in; its minor units come from the pinned ISO 4217 table."""
    actor.require_platform()
    code = str(code or "").strip().upper()
    if code not in ISO4217_EXPONENTS:
        raise ValidationFailed.field("code", f"{code!r} is not in the pinned ISO 4217 table")
    name = (name or "").strip() or get_currency_name(code, locale="en")
    data = {"code": code, "name": _name(name, max_length=CURRENCY_NAME_MAX_LENGTH)}

    def create() -> Currency:
        currency = Currency.objects.create(**data)
        _audit(actor, "currency.create", currency, data)
        return currency

    return _create_unique(create, "currency", code)  # type: ignore[no-any-return]


def _gateway_entries(entries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    known = set(Currency.objects.values_list("code", flat=True))
    parsed: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(entries):
        where = f"entries[{i}]"
        if not isinstance(raw, Mapping):
            raise ValidationFailed.field(where, "must be an object")
        unknown = set(raw) - GATEWAY_FEE_FIELDS
        if unknown:
            raise ValidationFailed.field(where, f"unknown field(s): {', '.join(sorted(unknown))}")
        code = str(raw.get("currency") or "").upper()
        if code not in known:
            raise ValidationFailed.field(where, f"unknown currency {code!r}")
        if code in parsed:
            raise ValidationFailed.field(where, f"{code} is listed twice")
        percent = _bps(raw.get("percent_bps"), f"{where}.percent_bps")
        fixed = raw.get("fixed_minor", 0)
        if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 0:
            raise ValidationFailed.field(
                f"{where}.fixed_minor", "must be a non-negative integer (minor units)"
            )
        parsed[code] = {"currency": code, "percent_bps": percent, "fixed_minor": fixed}
    return parsed


def _gateway_state() -> list[dict[str, Any]]:
    return [
        {"currency": g.currency_id, "percent_bps": g.percent_bps, "fixed_minor": g.fixed_minor}
        for g in GatewayFee.objects.order_by("currency_id")
    ]


@transaction.atomic
def gateway_fees_set(*, actor: Actor, entries: Iterable[Mapping[str, Any]]) -> list[GatewayFee]:
    """Replace the platform's gateway fees: currencies left out have no gateway fee after it.

    Stored sale items keep the gateway fee they were computed with; the new
    fees apply when an item is created, edited or recalculated.
    """
    actor.require_platform()
    parsed = _gateway_entries(entries)
    old = _gateway_state()
    GatewayFee.objects.exclude(currency_id__in=parsed).delete()
    for code, values in parsed.items():
        GatewayFee.objects.update_or_create(
            currency_id=code,
            defaults={"percent_bps": values["percent_bps"], "fixed_minor": values["fixed_minor"]},
        )
    new = _gateway_state()
    if new != old:
        audit_record(
            actor=actor,
            action="gateway_fees.set",
            object_type="gateway_fees",
            object_id=None,
            object_repr="gateway fees",
            reseller_id=None,
            changes={"entries": {"old": old, "new": new}},
        )
    return list(GatewayFee.objects.order_by("currency_id"))


@transaction.atomic
def tax_set(*, actor: Actor, gst_rate_bps: int) -> TaxSettings:
    actor.require_platform()
    rate = _bps(gst_rate_bps, "gst_rate_bps")
    TaxSettings.current()
    tax = TaxSettings.objects.select_for_update().get(pk=1)
    if tax.gst_rate_bps != rate:
        old = {"gst_rate_bps": tax.gst_rate_bps}
        tax.gst_rate_bps = rate
        tax.save(update_fields=["gst_rate_bps"])
        _audit(actor, "tax.set", tax, {"gst_rate_bps": rate}, old)
        # Plan prices carry their GST at this rate: cached plan lists must be rebuilt.
        _catalog_changed()
    return tax
