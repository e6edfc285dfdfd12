"""Writes on companies: create, assign/replace/unlink a plan, features, limits, fees (SPEC §5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import Feature, Limit
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_get_for_actor
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound, ValidationFailed
from partnerhub.core.validation import (
    clean_bool,
    clean_keys,
    clean_limits,
    clean_str,
    reject_unknown,
)
from partnerhub.fees.apply import check_fee_apply_mode, recalculation_needed, should_recalculate
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.fees.schedules import (
    EMPTY_SCHEDULE,
    ScheduleSnapshot,
    fee_schedule_create,
    fee_schedule_replace,
    parse_fee_entries,
    schedule_snapshot,
)
from partnerhub.plans.models import Plan
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.versions import versions_bump
from partnerhub.webhooks import announce

COMPANY_FIELDS = (
    "name",
    "contact_email",
    "plan_id",
    "use_plan_fees",
    "limit_overrides",
    "own_limits",
    "direct_features",
    "excluded_features",
    "fees",
    "blended",
)


@dataclass
class CompanyUpdateResult:
    company: Company
    job: RecalcJob | None


def company_state(company: Company) -> dict[str, Any]:
    """What the audit log records of a company, before and after a write."""
    own = schedule_snapshot(company.fee_schedule_id) if company.has_own_fees else None
    return {
        "name": company.name,
        "contact_email": company.contact_email,
        "plan_id": company.plan_id,
        "use_plan_fees": company.use_plan_fees,
        "direct_features": sorted(f.key for f in company.direct_features.all()),
        "excluded_features": sorted(f.key for f in company.excluded_features.all()),
        "limit_overrides": dict(company.limit_overrides),
        "own_limits": dict(company.own_limits),
        "has_own_fees": company.has_own_fees,
        "fees": own.as_audit() if own else None,
    }


def _features_by_key(keys: Iterable[str]) -> list[Feature]:
    return list(Feature.objects.filter(key__in=set(keys)))


def _limit_keys() -> set[str]:
    return set(Limit.objects.values_list("key", flat=True))


def _clean_direct_features(reseller: Reseller, raw: Any, field: str) -> list[str]:
    keys = clean_keys(raw, field)
    not_enabled = sorted(set(keys) - reseller.feature_keys())
    if not_enabled:
        raise ValidationFailed.field(
            field, f"not enabled for this reseller: {', '.join(not_enabled)}"
        )
    return keys


def _assignable_plan(reseller: Reseller, plan_id: Any) -> Plan:
    """Only assignable plans (enabled, not archived, not deleted) of the company's reseller."""
    if isinstance(plan_id, bool) or not isinstance(plan_id, int):
        raise ValidationFailed.field("plan_id", "must be a plan id or null")
    if not reseller.has_plans_feature():
        raise ValidationFailed.field("plan_id", "plans are not enabled for this reseller")
    plan = Plan.objects.filter(pk=plan_id, reseller_id=reseller.pk).first()
    if plan is None or not plan.assignable:
        raise ValidationFailed.field(
            "plan_id",
            "not an assignable plan of this reseller (it must be enabled, "
            "not archived and not deleted)",
        )
    return plan


def _take_over_direct_features(company: Company, plan: Plan) -> None:
    """A feature the company had directly and the plan also gives becomes the plan's, so a
    later removal from the plan removes it here too."""
    plan_feature_ids = list(plan.features.values_list("id", flat=True))
    company.direct_features.remove(*plan_feature_ids)


def company_detach_from_plan(company: Company) -> None:
    """Set the company to Custom keeping exactly what it had: its plan features become
    direct features, the plan's limits its own, the plan's fees its own schedule."""
    plan = company.plan
    if plan is None:
        return
    excluded = {f.key for f in company.excluded_features.all()}
    kept = {f.key for f in plan.features.all()} - excluded
    company.direct_features.add(*_features_by_key(kept))
    company.excluded_features.clear()
    company.own_limits = {**company.own_limits, **plan.limits}
    if company.use_plan_fees:
        fee_schedule_replace(
            schedule_id=company.fee_schedule_id, snapshot=schedule_snapshot(plan.fee_schedule_id)
        )
        company.has_own_fees = True
    company.plan = None
    company.use_plan_fees = True


def _attach_plan(company: Company, plan: Plan) -> None:
    company.plan = plan
    company.use_plan_fees = True  # on by default whenever a plan is assigned
    company.excluded_features.clear()
    _take_over_direct_features(company, plan)


def _fee_change_job(
    *,
    actor: Actor,
    company: Company,
    before: ScheduleSnapshot,
    fee_apply_mode: str | None,
    reason: str,
) -> RecalcJob | None:
    """A change of one company's effective schedule: ask only where stored items exist."""
    after = schedule_snapshot(company.effective_fee_schedule_id())
    recalculation = recalculation_needed(before, after)
    if recalculation != "none" and not SaleItem.objects.filter(company_id=company.pk).exists():
        recalculation = "none"
    if not should_recalculate(recalculation, fee_apply_mode):
        return None
    return recalculation_enqueue(
        actor=actor, reseller_id=company.reseller_id, company_ids=[company.pk], reason=reason
    )


def company_create(
    *,
    actor: Actor,
    reseller_id: int,
    name: str,
    contact_email: str = "",
    plan_id: int | None = None,
    direct_features: list[str] | None = None,
    limit_overrides: Mapping[str, Any] | None = None,
    own_limits: Mapping[str, Any] | None = None,
    fees: list[Mapping[str, Any]] | None = None,
    blended: Mapping[str, Any] | None = None,
) -> Company:
    actor.require_write(reseller_id)
    reseller = Reseller.objects.filter(pk=reseller_id).first()
    if reseller is None:
        raise NotFound("Reseller not found.")
    name = clean_str(name, "name", max_length=200)
    contact_email = clean_str(contact_email, "contact_email", max_length=254, required=False)
    plan = _assignable_plan(reseller, plan_id) if plan_id is not None else None
    direct = _clean_direct_features(reseller, direct_features or [], "direct_features")
    limit_keys = _limit_keys()
    overrides = clean_limits(limit_overrides or {}, "limit_overrides", limit_keys)
    own = clean_limits(own_limits or {}, "own_limits", limit_keys)
    own_fees = parse_fee_entries(fees, blended) if fees is not None else None
    with transaction.atomic():
        company = Company.objects.create(
            reseller=reseller,
            name=name,
            contact_email=contact_email,
            limit_overrides=overrides,
            own_limits=own,
            fee_schedule=fee_schedule_create(own_fees),
            has_own_fees=own_fees is not None,
        )
        company.direct_features.set(_features_by_key(direct))
        if plan is not None:
            _attach_plan(company, plan)
            company.save()
        versions_bump(reseller.pk)
        audit_record(
            actor=actor,
            action="company.create",
            object_type="company",
            object_id=company.pk,
            object_repr=company.name,
            reseller_id=reseller.pk,
            old={},
            new=company_state(company),
        )
        announce.company_changed_announce(company, None, created=True)
    return company


def _apply_plan_change(company: Company, changes: Mapping[str, Any]) -> None:
    if "plan_id" not in changes or changes["plan_id"] == company.plan_id:
        return
    new_plan_id = changes["plan_id"]
    if new_plan_id is None:
        company_detach_from_plan(company)
        return
    plan = _assignable_plan(company.reseller, new_plan_id)
    if company.plan_id is not None:
        # Replacing one plan by another: the old plan's features and fees go with it.
        company.excluded_features.clear()
    _attach_plan(company, plan)


def _apply_use_plan_fees(company: Company, value: Any) -> None:
    use = clean_bool(value, "use_plan_fees")
    if company.plan is None:
        if use:
            raise ValidationFailed.field("use_plan_fees", "the company is not on a plan")
        return
    if company.use_plan_fees and not use:
        # Off plan fees: the company keeps the plan's current fees as its own schedule.
        fee_schedule_replace(
            schedule_id=company.fee_schedule_id,
            snapshot=schedule_snapshot(company.plan.fee_schedule_id),
        )
        company.has_own_fees = True
    company.use_plan_fees = use


def _apply_own_fees(company: Company, changes: Mapping[str, Any]) -> None:
    if "fees" not in changes and "blended" not in changes:
        return
    if company.plan_id is not None and company.use_plan_fees:
        raise ValidationFailed.field(
            "fees", "the company inherits its plan's fees: turn use_plan_fees off first"
        )
    current = schedule_snapshot(company.fee_schedule_id) if company.has_own_fees else EMPTY_SCHEDULE
    raw_fees = changes["fees"] if "fees" in changes else current.entries_as_dicts()
    raw_blended = changes["blended"] if "blended" in changes else current.blended_dict()
    if not isinstance(raw_fees, list):
        raise ValidationFailed.field("fees", "must be a list of fee entries")
    fee_schedule_replace(
        schedule_id=company.fee_schedule_id, snapshot=parse_fee_entries(raw_fees, raw_blended)
    )
    company.has_own_fees = True


def _apply_features(company: Company, changes: Mapping[str, Any]) -> None:
    if "direct_features" in changes:
        keys = _clean_direct_features(
            company.reseller, changes["direct_features"], "direct_features"
        )
        company.direct_features.set(_features_by_key(keys))
        if company.plan is not None:
            _take_over_direct_features(company, company.plan)
    if "excluded_features" in changes:
        keys = clean_keys(changes["excluded_features"], "excluded_features")
        if keys and company.plan is None:
            raise ValidationFailed.field("excluded_features", "the company is not on a plan")
        plan_keys = {f.key for f in company.plan.features.all()} if company.plan else set()
        not_in_plan = sorted(set(keys) - plan_keys)
        if not_in_plan:
            raise ValidationFailed.field(
                "excluded_features", f"not features of the plan: {', '.join(not_in_plan)}"
            )
        company.excluded_features.set(_features_by_key(keys))


def _apply_simple_fields(company: Company, changes: Mapping[str, Any]) -> None:
    if "name" in changes:
        company.name = clean_str(changes["name"], "name", max_length=200)
    if "contact_email" in changes:
        company.contact_email = clean_str(
            changes["contact_email"], "contact_email", max_length=254, required=False
        )
    limit_keys = _limit_keys()
    if "limit_overrides" in changes:
        company.limit_overrides = clean_limits(
            changes["limit_overrides"], "limit_overrides", limit_keys
        )
    if "own_limits" in changes:
        company.own_limits = clean_limits(changes["own_limits"], "own_limits", limit_keys)


def company_update(
    *,
    actor: Actor,
    company_id: int,
    changes: Mapping[str, Any],
    fee_apply_mode: str | None = None,
) -> CompanyUpdateResult:
    """Any subset of COMPANY_FIELDS. Plan change first (it resets use_plan_fees and
    exclusions), then the fee switch, own fees, features, limits and names."""
    reject_unknown(changes, COMPANY_FIELDS)
    check_fee_apply_mode(fee_apply_mode)
    with transaction.atomic():
        company = company_get_for_actor(actor, company_id)
        actor.require_write(company.reseller_id)
        company = (
            Company.objects.select_for_update(of=("self",))
            .select_related("reseller", "plan")
            .get(pk=company.pk)
        )
        old = company_state(company)
        entitlements_before = announce.company_entitlements_before(company)
        before = schedule_snapshot(company.effective_fee_schedule_id())
        _apply_plan_change(company, changes)
        if "use_plan_fees" in changes:
            _apply_use_plan_fees(company, changes["use_plan_fees"])
        _apply_own_fees(company, changes)
        _apply_features(company, changes)
        _apply_simple_fields(company, changes)
        company.save()
        job = _fee_change_job(
            actor=actor,
            company=company,
            before=before,
            fee_apply_mode=fee_apply_mode,
            reason=f"company {company.pk} fees",
        )
        versions_bump(company.reseller_id)
        audit_record(
            actor=actor,
            action="company.update",
            object_type="company",
            object_id=company.pk,
            object_repr=company.name,
            reseller_id=company.reseller_id,
            old=old,
            new=company_state(company),
        )
        announce.company_changed_announce(company, entitlements_before)
    return CompanyUpdateResult(company=company, job=job)


def company_resync_plan(*, actor: Actor, company_id: int) -> Company:
    """Clear the company's exclusions: it gets every feature of its plan again."""
    company = company_get_for_actor(actor, company_id)
    actor.require_write(company.reseller_id)
    if company.plan_id is None:
        raise ValidationFailed.field("plan_id", "the company is not on a plan")
    return company_update(
        actor=actor, company_id=company_id, changes={"excluded_features": []}
    ).company


def company_reset_plan_fees(
    *, actor: Actor, company_id: int, fee_apply_mode: str | None = None
) -> CompanyUpdateResult:
    """Turn 'Use plan fees' back on: the company follows its plan's current fee schedule."""
    company = company_get_for_actor(actor, company_id)
    actor.require_write(company.reseller_id)
    if company.plan_id is None:
        raise ValidationFailed.field("plan_id", "the company is not on a plan")
    return company_update(
        actor=actor,
        company_id=company_id,
        changes={"use_plan_fees": True},
        fee_apply_mode=fee_apply_mode,
    )
