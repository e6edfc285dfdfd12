"""A plan's editable state as a draft: cleaning and validating the SPEC §12 plan data
that plan_create and plan_update take, and saving a draft onto a plan row."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from partnerhub.catalog.models import Currency, Feature, Limit
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.limits import MAX_PLAN_PRICE_MINOR
from partnerhub.core.validation import (
    clean_bool,
    clean_int,
    clean_keys,
    clean_limits,
    clean_str,
    reject_unknown,
)
from partnerhub.fees.schedules import (
    EMPTY_SCHEDULE,
    ScheduleSnapshot,
    fee_schedule_replace,
    parse_fee_entries,
    snapshot_from_entries,
)
from partnerhub.plans.models import (
    BILLING_CYCLE_ORDER,
    PLAN_DESCRIPTION_MAX_LENGTH,
    PLAN_NAME_MAX_LENGTH,
    Plan,
    PlanPrice,
    PlanType,
)
from partnerhub.plans.selectors import plan_free_name
from partnerhub.resellers.models import Reseller

PLAN_FIELDS = (
    "plan_type",
    "name",
    "display_name",
    "description",
    "enabled",
    "visible",
    "billing_cycles",
    "prices",
    "gst_enabled",
    "revenue_share_bps",
    "limits",
    "features",
    "fees",
    "blended",
)
# Stored on the plan row itself; prices, features and fees have tables of their own.
PLAN_ROW_FIELDS = tuple(
    f for f in PLAN_FIELDS if f not in ("prices", "features", "fees", "blended")
)
PriceKey = tuple[str, str]  # (currency, billing cycle)


@dataclass
class PlanDraft:
    """A plan's whole editable state, cleaned: what plan_create and plan_update save."""

    plan_type: str
    name: str
    display_name: str
    description: str = ""
    enabled: bool = True
    visible: bool = True
    billing_cycles: list[str] = field(default_factory=list)
    prices: dict[PriceKey, int] = field(default_factory=dict)  # minor units
    gst_enabled: bool = False
    revenue_share_bps: int | None = None
    limits: dict[str, int | None] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    fees: ScheduleSnapshot = EMPTY_SCHEDULE

    def as_audit(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["prices"] = [
            {"currency": c, "billing_cycle": b, "amount_minor": a}
            for (c, b), a in sorted(self.prices.items())
        ]
        data.update(self.fees.as_audit())
        return data


def _draft_from_plan(plan: Plan, reseller_keys: set[str]) -> PlanDraft:
    """The stored plan as a draft. Features the reseller no longer has are left out,
    so saving the plan drops them (and the preview lists them as removed)."""
    return PlanDraft(
        plan_type=plan.plan_type,
        name=plan.name,
        display_name=plan.display_name,
        description=plan.description,
        enabled=plan.enabled,
        visible=plan.visible,
        billing_cycles=list(plan.billing_cycles),
        prices={(p.currency_id, p.billing_cycle): p.amount_minor for p in plan.prices.all()},
        gst_enabled=plan.gst_enabled,
        revenue_share_bps=plan.revenue_share_bps,
        limits=dict(plan.limits),
        features=sorted({f.key for f in plan.features.all()} & reseller_keys),
        fees=snapshot_from_entries(plan.fee_schedule.entries.all()),
    )


def _clean_cycles(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed.field(
            "billing_cycles", "choose one or more of " + ", ".join(BILLING_CYCLE_ORDER)
        )
    unknown = [c for c in raw if c not in BILLING_CYCLE_ORDER]
    if unknown:
        raise ValidationFailed.field("billing_cycles", f"unknown billing cycle {unknown[0]!r}")
    return [c for c in BILLING_CYCLE_ORDER if c in raw]


def _clean_prices(raw: Any) -> dict[PriceKey, int]:
    if not isinstance(raw, list):
        raise ValidationFailed.field("prices", "must be a list of prices")
    currencies = set(Currency.objects.values_list("code", flat=True))
    prices: dict[PriceKey, int] = {}
    for i, item in enumerate(raw):
        where = f"prices[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed.field(where, "must be an object")
        reject_unknown(item, ("currency", "billing_cycle", "amount_minor"))
        currency = str(item.get("currency") or "").upper()
        if currency not in currencies:
            raise ValidationFailed.field(where, f"unknown currency {currency!r}")
        cycle = item.get("billing_cycle")
        if cycle not in BILLING_CYCLE_ORDER:
            raise ValidationFailed.field(where, f"unknown billing cycle {cycle!r}")
        if (currency, cycle) in prices:
            raise ValidationFailed.field(where, f"{currency} {cycle} is priced twice")
        prices[(currency, cycle)] = clean_int(
            item.get("amount_minor"), f"{where}.amount_minor", maximum=MAX_PLAN_PRICE_MINOR
        )
    return prices


def _limit_keys() -> list[str]:
    return sorted(Limit.objects.values_list("key", flat=True))


def _every_limit(limits: Mapping[str, int | None], keys: list[str]) -> dict[str, int | None]:
    """A plan holds a value for every catalog limit: one left blank in the hub or omitted
    in the API is unlimited, stored as null (SPEC §4), so both resolve alike."""
    return {key: limits.get(key) for key in keys}


def _apply_field(draft: PlanDraft, name: str, value: Any, reseller: Reseller) -> None:
    if name == "plan_type":
        if value not in PlanType.values:
            raise ValidationFailed.field("plan_type", "must be usage_based or revenue_sharing")
        draft.plan_type = value
    elif name in ("name", "display_name"):
        setattr(draft, name, clean_str(value, name, max_length=PLAN_NAME_MAX_LENGTH))
    elif name == "description":
        draft.description = clean_str(
            value, name, max_length=PLAN_DESCRIPTION_MAX_LENGTH, required=False
        )
    elif name in ("enabled", "visible", "gst_enabled"):
        setattr(draft, name, clean_bool(value, name))
    elif name == "billing_cycles":
        draft.billing_cycles = _clean_cycles(value)
    elif name == "prices":
        draft.prices = _clean_prices(value)
    elif name == "revenue_share_bps":
        draft.revenue_share_bps = (
            None if value is None else clean_int(value, name, minimum=1, maximum=10_000)
        )
    elif name == "limits":
        draft.limits = clean_limits(value, "limits", _limit_keys())
    elif name == "features":
        keys = clean_keys(value, "features")
        not_enabled = sorted(set(keys) - reseller.feature_keys())
        if not_enabled:
            raise ValidationFailed.field(
                "features", f"not enabled for this reseller: {', '.join(not_enabled)}"
            )
        draft.features = keys


def _clean(reseller: Reseller, data: Mapping[str, Any], draft: PlanDraft) -> PlanDraft:
    """Apply client data over a draft and check the whole: the rules that span fields."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("The body must be an object.")
    reject_unknown(data, PLAN_FIELDS)
    draft = dataclasses.replace(draft)
    for name in PLAN_FIELDS:
        if name in data and name not in ("fees", "blended"):
            _apply_field(draft, name, data[name], reseller)
    if "fees" in data or "blended" in data:
        raw_fees = data["fees"] if "fees" in data else draft.fees.entries_as_dicts()
        if not isinstance(raw_fees, list):
            raise ValidationFailed.field("fees", "must be a list of fee entries")
        raw_blended = data["blended"] if "blended" in data else draft.fees.blended_dict()
        draft.fees = parse_fee_entries(raw_fees, raw_blended)
    if not draft.billing_cycles:
        raise ValidationFailed.field("billing_cycles", "choose one or more billing cycles")
    draft.limits = _every_limit(draft.limits, _limit_keys())
    if draft.plan_type == PlanType.REVENUE_SHARING and draft.revenue_share_bps is None:
        raise ValidationFailed.field("revenue_share_bps", "is required for a revenue-sharing plan")
    if draft.plan_type == PlanType.USAGE_BASED and draft.revenue_share_bps is not None:
        raise ValidationFailed.field("revenue_share_bps", "applies only to revenue-sharing plans")
    _check_prices_cover_cycles(draft)
    return draft


def _check_prices_cover_cycles(draft: PlanDraft) -> None:
    """At least one currency, with one price per (currency, enabled billing cycle): none
    missing, none for a cycle that is not offered (SPEC §4, on every channel)."""
    if not draft.prices:
        raise ValidationFailed.field(
            "prices",
            "Add a price in at least one currency for every enabled billing cycle "
            f"({', '.join(draft.billing_cycles)}).",
        )
    for currency, cycle in sorted(draft.prices):
        if cycle not in draft.billing_cycles:
            raise ValidationFailed.field(
                "prices",
                f"{currency} has a {cycle} price but {cycle} is not an enabled billing cycle",
            )
    for currency in sorted({c for c, _ in draft.prices}):
        for cycle in draft.billing_cycles:
            if (currency, cycle) not in draft.prices:
                raise ValidationFailed.field("prices", f"{currency} needs a {cycle} price")


def _ensure_name_free(reseller_id: int, name: str, exclude_pk: int | None = None) -> None:
    # Without regard to case: "Gold" clashes with "gold" (SPEC §4); the database holds
    # the same rule as a unique index on lower(name).
    clash = Plan.objects.live().filter(reseller_id=reseller_id, name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict(
            f'A plan named "{name}" already exists.',
            code="name_taken",
            details={
                "name": [f'A plan named "{name}" already exists. Choose another name.'],
                "suggested_name": plan_free_name(reseller_id, name),
            },
        )


def _save_draft(plan: Plan, draft: PlanDraft) -> None:
    for name in PLAN_ROW_FIELDS:
        setattr(plan, name, getattr(draft, name))
    plan.save()
    plan.features.set(Feature.objects.filter(key__in=draft.features))
    PlanPrice.objects.filter(plan=plan).delete()
    PlanPrice.objects.bulk_create(
        PlanPrice(plan=plan, currency_id=c, billing_cycle=b, amount_minor=a)
        for (c, b), a in sorted(draft.prices.items())
    )
    fee_schedule_replace(schedule_id=plan.fee_schedule_id, snapshot=draft.fees)
