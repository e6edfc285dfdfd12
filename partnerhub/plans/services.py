"""Writes on plans: the whole lifecycle of SPEC §4, propagation of SPEC §5, fee apply modes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import Currency, Feature, Limit
from partnerhub.companies.models import Company
from partnerhub.companies.services import companies_detach_from_plan
from partnerhub.core.actor import Actor
from partnerhub.core.errors import Conflict, NotFound, ValidationFailed
from partnerhub.core.validation import (
    clean_bool,
    clean_int,
    clean_keys,
    clean_limits,
    clean_str,
    reject_unknown,
)
from partnerhub.fees.apply import (
    Recalculation,
    check_fee_apply_mode,
    fee_change_job,
    recalculation_needed,
)
from partnerhub.fees.models import RecalcJob
from partnerhub.fees.schedules import (
    EMPTY_SCHEDULE,
    ScheduleSnapshot,
    fee_schedule_create,
    fee_schedule_replace,
    parse_fee_entries,
    snapshot_from_entries,
)
from partnerhub.plans.models import BILLING_CYCLE_ORDER, Plan, PlanPrice, PlanType
from partnerhub.plans.selectors import plan_get_for_actor, require_plans_feature
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.versions import versions_bump
from partnerhub.webhooks import announce

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
# Companies a preview names; affected_company_count gives the total.
PREVIEW_COMPANIES = 100


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


@dataclass
class PlanPreview:
    removed_features: list[str]
    added_features: list[str]
    affected_companies: list[dict[str, Any]]  # the first PREVIEW_COMPANIES, by name
    fees_changed: bool
    blended_changed: bool
    recalculation: Recalculation
    affected_company_count: int = 0  # all of them

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PlanUpdateResult:
    plan: Plan
    job: RecalcJob | None
    preview: PlanPreview


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
            item.get("amount_minor"), f"{where}.amount_minor", maximum=10**15
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
        setattr(draft, name, clean_str(value, name, max_length=120))
    elif name == "description":
        draft.description = clean_str(value, name, max_length=2000, required=False)
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
                "suggested_name": _free_name(reseller_id, name),
            },
        )


def _free_name(reseller_id: int, base: str) -> str:
    taken = {
        name.casefold()
        for name in Plan.objects.live()
        .filter(reseller_id=reseller_id, name__istartswith=base[:100])
        .values_list("name", flat=True)
    }
    if base.casefold() not in taken:
        return base
    n = 2
    while f"{base[:110]} ({n})".casefold() in taken:
        n += 1
    return f"{base[:110]} ({n})"


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


def _reseller_for_write(actor: Actor, reseller_id: int) -> Reseller:
    # require_write scopes first (another tenant's reseller is a 404) and answers a company
    # key's write with the 403 every other write gives it.
    actor.require_write(reseller_id)
    reseller = Reseller.objects.filter(pk=reseller_id).first()
    if reseller is None:
        raise NotFound("Reseller not found.")
    require_plans_feature(actor, reseller)
    return reseller


def plan_create(*, actor: Actor, reseller_id: int, data: Mapping[str, Any]) -> Plan:
    reseller = _reseller_for_write(actor, reseller_id)
    for required in ("plan_type", "name", "billing_cycles"):
        if required not in data:
            raise ValidationFailed.field(required, "is required")
    name = data.get("name")
    base = PlanDraft(plan_type="", name="", display_name=name if isinstance(name, str) else "")
    draft = _clean(reseller, data, base)
    return _insert_plan(actor, reseller, draft, action="plan.create")


def _insert_plan(
    actor: Actor, reseller: Reseller, draft: PlanDraft, *, action: str, **audit_extra: Any
) -> Plan:
    try:
        with transaction.atomic():
            _ensure_name_free(reseller.pk, draft.name)
            plan = Plan(reseller=reseller, fee_schedule=fee_schedule_create())
            _save_draft(plan, draft)
            versions_bump(reseller.pk)
            audit_record(
                actor=actor,
                action=action,
                object_type="plan",
                object_id=plan.pk,
                object_repr=plan.name,
                reseller_id=reseller.pk,
                old={},
                new={**draft.as_audit(), **audit_extra},
            )
            announce.plan_announce(action, plan)
    except IntegrityError:  # a concurrent save took the name after our check
        _ensure_name_free(reseller.pk, draft.name)
        raise
    return plan


def _companies_whose_features_change(
    plan: Plan, removed: list[str], added: list[str], reseller_keys: set[str]
) -> QuerySet[Company]:
    """Companies on the plan whose effective features the edit would change (SPEC §12):
    one loses a removed feature unless it already excludes it or also has it directly,
    gains an added one unless it has it directly; a feature the reseller lacks changes
    nobody (the reseller is the ceiling)."""
    direct = Company.direct_features.through.objects.filter(company_id=OuterRef("pk"))
    excluded = Company.excluded_features.through.objects.filter(company_id=OuterRef("pk"))
    changes: Q | None = None
    for key in sorted(set(removed) & reseller_keys):
        loses = Q(~Exists(excluded.filter(feature__key=key))) & Q(
            ~Exists(direct.filter(feature__key=key))
        )
        changes = loses if changes is None else changes | loses
    for key in sorted(set(added) & reseller_keys):
        gains = Q(~Exists(direct.filter(feature__key=key)))
        changes = gains if changes is None else changes | gains
    if changes is None:
        return Company.objects.none()
    return Company.objects.filter(changes, plan=plan)


def _preview(plan: Plan, current: PlanDraft, draft: PlanDraft) -> PlanPreview:
    stored = {f.key for f in plan.features.all()}
    removed = sorted(stored - set(draft.features))
    added = sorted(set(draft.features) - stored)
    recalculation = recalculation_needed(current.fees, draft.fees)
    fees_changed = recalculation != "none"
    blended_changed = recalculation == "forced"
    affected = _companies_whose_features_change(plan, removed, added, plan.reseller.feature_keys())
    companies = [
        {"id": c.pk, "name": c.name}
        for c in affected.order_by("name", "id").only("id", "name")[:PREVIEW_COMPANIES]
    ]
    count = len(companies) if len(companies) < PREVIEW_COMPANIES else affected.count()
    return PlanPreview(
        removed, added, companies, fees_changed, blended_changed, recalculation, count
    )


def plan_preview(*, actor: Actor, plan_id: int, changes: Mapping[str, Any]) -> PlanPreview:
    """A dry run of plan_update: what it would remove, add, whom it reaches, and whether
    the fee change needs a choice. Nothing is saved."""
    plan = plan_get_for_actor(actor, plan_id)
    current = _draft_from_plan(plan, plan.reseller.feature_keys())
    return _preview(plan, current, _clean(plan.reseller, changes, current))


def _locked_live_plan(actor: Actor, plan_id: int) -> Plan:
    plan = plan_get_for_actor(actor, plan_id)
    actor.require_write(plan.reseller_id)
    require_plans_feature(actor, plan.reseller)
    plan = Plan.objects.select_for_update(of=("self",)).select_related("reseller").get(pk=plan.pk)
    if plan.deleted:
        raise Conflict("This plan is deleted: restore it first.", code="plan_deleted")
    return plan


def _recalculate_plan(
    *, actor: Actor, plan: Plan, preview: PlanPreview, fee_apply_mode: str | None
) -> RecalcJob | None:
    # A plan fee edit always asks (SPEC §6), even before any item exists.
    return fee_change_job(
        actor=actor,
        reseller_id=plan.reseller_id,
        recalculation=preview.recalculation,
        fee_apply_mode=fee_apply_mode,
        reason=f"plan {plan.name} fees",
        plan_id=plan.pk,
    )


def _propagate_features(plan: Plan, preview: PlanPreview) -> None:
    on_plan = Company.objects.filter(plan=plan)
    if preview.added_features:
        # The plan takes over features its companies had directly (SPEC §5).
        Company.direct_features.through.objects.filter(
            company__in=on_plan, feature__key__in=preview.added_features
        ).delete()
    if preview.removed_features:
        # Exclusions of a feature the plan no longer has mean nothing any more.
        Company.excluded_features.through.objects.filter(
            company__in=on_plan, feature__key__in=preview.removed_features
        ).delete()


def plan_update(
    *,
    actor: Actor,
    plan_id: int,
    changes: Mapping[str, Any],
    version: int,
    fee_apply_mode: str | None = None,
) -> PlanUpdateResult:
    """Edit a plan; every company on it follows at once (entitlements resolve at read time).
    A stale `version` is a Conflict: someone saved first."""
    check_fee_apply_mode(fee_apply_mode)
    with transaction.atomic():
        plan = _locked_live_plan(actor, plan_id)
        if plan.version != version:
            raise Conflict(
                "This plan was changed by someone else since you opened it.",
                code="stale_version",
                details={"version": plan.version},
            )
        current = _draft_from_plan(plan, plan.reseller.feature_keys())
        draft = _clean(plan.reseller, changes, current)
        if draft.name.casefold() != plan.name.casefold():
            _ensure_name_free(plan.reseller_id, draft.name, exclude_pk=plan.pk)
        preview = _preview(plan, current, draft)
        if draft == _draft_from_plan(plan, {f.key for f in plan.features.all()}):
            # Nothing changes (a funnelled-out feature still stored is a change: saving
            # drops it): no version, no audit row, no job.
            return PlanUpdateResult(plan=plan, job=None, preview=preview)
        before = announce.plan_before(
            plan, added=preview.added_features, removed=preview.removed_features
        )
        plan.version += 1
        _save_draft(plan, draft)
        _propagate_features(plan, preview)
        job = _recalculate_plan(
            actor=actor, plan=plan, preview=preview, fee_apply_mode=fee_apply_mode
        )
        versions_bump(plan.reseller_id)
        audit_record(
            actor=actor,
            action="plan.update",
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old=current.as_audit(),
            new=draft.as_audit(),
        )
        announce.plan_update_announce(plan, before)
    return PlanUpdateResult(plan=plan, job=job, preview=preview)


def _set_flag(
    actor: Actor,
    plan_id: int,
    action: str,
    *,
    unchanged: Callable[[Plan], bool] | None = None,
    **values: Any,
) -> Plan:
    """Set row fields of a live plan; a write that changes nothing (`unchanged` tells when
    values are not comparable, as a new timestamp) writes nothing: no version, no audit."""
    with transaction.atomic():
        plan = _locked_live_plan(actor, plan_id)
        old = {k: getattr(plan, k) for k in values}
        if old == values or (unchanged is not None and unchanged(plan)):
            return plan
        for k, v in values.items():
            setattr(plan, k, v)
        plan.version += 1
        plan.save()
        versions_bump(plan.reseller_id)
        audit_record(
            actor=actor,
            action=action,
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old=old,
            new=values,
        )
        announce.plan_announce(action, plan)
    return plan


def plan_set_enabled(*, actor: Actor, plan_id: int, enabled: bool) -> Plan:
    """The Status toggle: a disabled plan cannot be newly assigned."""
    return _set_flag(actor, plan_id, "plan.set_enabled", enabled=clean_bool(enabled, "enabled"))


def plan_set_visible(*, actor: Actor, plan_id: int, visible: bool) -> Plan:
    return _set_flag(actor, plan_id, "plan.set_visible", visible=clean_bool(visible, "visible"))


def plan_archive(*, actor: Actor, plan_id: int) -> Plan:
    """Hide the plan from assignment; companies on it stay and keep receiving updates."""
    # Archiving an archived plan is a no-op: it keeps its first archived_at.
    return _set_flag(
        actor,
        plan_id,
        "plan.archive",
        unchanged=lambda plan: plan.archived,
        archived_at=timezone.now(),
    )


def plan_unarchive(*, actor: Actor, plan_id: int) -> Plan:
    return _set_flag(actor, plan_id, "plan.unarchive", archived_at=None)


def plan_duplicate(*, actor: Actor, plan_id: int) -> Plan:
    """Copy everything but the assignments, as "Copy of NAME" (then "(2)", …), disabled."""
    source = plan_get_for_actor(actor, plan_id)
    reseller = _reseller_for_write(actor, source.reseller_id)
    if source.deleted:
        raise Conflict(
            "A deleted plan cannot be duplicated: restore it first.", code="plan_deleted"
        )
    draft = _draft_from_plan(source, reseller.feature_keys())
    draft.name = _free_name(reseller.pk, f"Copy of {source.name}"[:110])
    draft.enabled = False
    return _insert_plan(actor, reseller, draft, action="plan.duplicate", duplicated_from=source.pk)


def plan_delete(*, actor: Actor, plan_id: int) -> Plan:
    """Soft delete: every company on the plan becomes Custom and keeps exactly the
    features, limits and fees it had."""
    with transaction.atomic():
        plan = _locked_live_plan(actor, plan_id)
        company_ids = companies_detach_from_plan(plan)
        plan.deleted_at = timezone.now()
        plan.version += 1
        plan.save()
        versions_bump(plan.reseller_id)
        audit_record(
            actor=actor,
            action="plan.delete",
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old={"deleted": False, "company_ids": company_ids},
            new={"deleted": True, "company_ids": []},
        )
        announce.plan_delete_announce(plan, company_ids)
    return plan


def plan_restore(*, actor: Actor, plan_id: int, new_name: str | None = None) -> Plan:
    """Make a deleted plan available again. Nobody is re-assigned. A name now taken by a
    live plan is a Conflict that suggests a free name."""
    with transaction.atomic():
        plan = plan_get_for_actor(actor, plan_id)
        actor.require_write(plan.reseller_id)
        require_plans_feature(actor, plan.reseller)
        plan = Plan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
        if not plan.deleted:
            raise Conflict("This plan is not deleted.", code="not_deleted")
        name = plan.name if new_name is None else clean_str(new_name, "name", max_length=120)
        _ensure_name_free(plan.reseller_id, name)
        old = {
            "deleted": True,
            "name": plan.name,
            "enabled": plan.enabled,
            "archived": plan.archived,
        }
        plan.name = name
        plan.deleted_at = None
        # Restored means assignable again (SPEC §4): enabled and not archived.
        plan.enabled = True
        plan.archived_at = None
        plan.version += 1
        plan.save()
        versions_bump(plan.reseller_id)
        audit_record(
            actor=actor,
            action="plan.restore",
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old=old,
            new={"deleted": False, "name": name, "enabled": True, "archived": False},
        )
        announce.plan_announce("plan.restore", plan)
    return plan
