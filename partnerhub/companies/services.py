"""Writes on companies: create, assign/replace/unlink a plan, features, limits, fees (SPEC §5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from partnerhub.catalog.models import Feature, Limit
from partnerhub.companies import announce
from partnerhub.companies.fee_changes import company_fee_change_recalculation
from partnerhub.companies.models import (
    COMPANY_NAME_MAX_LENGTH,
    Company,
    PlanSnapshot,
    SubscriptionChange,
)
from partnerhub.companies.selectors import (
    company_direct_keys,
    company_excluded_keys,
    company_get_for_actor,
    company_own_limits,
)
from partnerhub.companies.terms import TERM_FIELDS, apply_terms, terms_fit_plan
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound, ValidationFailed
from partnerhub.core.validation import (
    EMAIL_MAX_LENGTH,
    clean_bool,
    clean_keys,
    clean_limits,
    clean_str,
    reject_unknown,
)
from partnerhub.fees.apply import check_fee_apply_mode, fee_change_job
from partnerhub.fees.models import FeeSchedule, FeeScheduleEntry, RecalcJob
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
from partnerhub.resellers.versions import write_recorded

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
    *TERM_FIELDS,
)


@dataclass
class CompanyUpdateResult:
    company: Company
    job: RecalcJob | None


def company_state(company: Company) -> dict[str, Any]:
    """What the audit log records of a company, before and after a write (a deleted plan's
    snapshot the company shares shown as its own, as the selectors show it)."""
    own_schedule_id = company.snapshot_fee_schedule_id or company.fee_schedule_id
    own = schedule_snapshot(own_schedule_id) if company.has_own_fees else None
    return {
        "name": company.name,
        "contact_email": company.contact_email,
        "plan_id": company.plan_id,
        "use_plan_fees": company.use_plan_fees,
        "direct_features": sorted(company_direct_keys(company)),
        "excluded_features": sorted(company_excluded_keys(company)),
        "limit_overrides": dict(company.limit_overrides),
        "own_limits": company_own_limits(company),
        "has_own_fees": company.has_own_fees,
        "fees": own.as_audit() if own else None,
        "billing_cycle": company.billing_cycle,
        "billing_currency": company.billing_currency,
        "billing_anchor": company.billing_anchor.isoformat() if company.billing_anchor else None,
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


def company_detach_from_plan(company: Company) -> set[str]:
    """Set the company to Custom keeping exactly what it had: its plan features become
    direct features, the plan's limits its own, the plan's fees its own schedule.
    Answers the keys of the features it kept from the plan."""
    plan = company.plan
    if plan is None:
        return set()
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
    return kept


def _plan_snapshot_create(plan: Plan) -> PlanSnapshot:
    """The plan's configuration frozen as it is now: features, limits and a copy of its fee
    schedule. A constant number of statements (a plan has a handful of features and fee
    entries, however many companies it has)."""
    schedule = FeeSchedule.objects.create()
    snapshot = PlanSnapshot.objects.create(
        plan=plan, limits=dict(plan.limits), fee_schedule=schedule
    )
    through = PlanSnapshot.features.through._meta.db_table
    plan_features = Plan.features.through._meta.db_table
    entries = FeeScheduleEntry._meta.db_table
    columns = "currency, fee_type, percent_bps, fixed_minor, min_minor, max_minor, blended"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {entries} (schedule_id, {columns}) "
            f"SELECT %s, {columns} FROM {entries} WHERE schedule_id = %s",
            [schedule.pk, plan.fee_schedule_id],
        )
        cursor.execute(
            f"INSERT INTO {through} (plansnapshot_id, feature_id) "
            f"SELECT %s, feature_id FROM {plan_features} WHERE plan_id = %s",
            [snapshot.pk, plan.pk],
        )
    return snapshot


def _detach_sql(vendor: str) -> str:
    """Every company on the plan to Custom, sharing the snapshot, as one UPDATE answering
    the ids. On PostgreSQL the rows are locked in id order first (the order recalculation
    chunks lock companies in, fees/recalc/statement.py), so the two never deadlock."""
    company = Company._meta.db_table
    where = "plan_id = %s"
    if vendor == "postgresql":
        where = f"id IN (SELECT id FROM {company} WHERE plan_id = %s ORDER BY id FOR UPDATE)"
    # SET expressions read the old row: both fee columns follow the old use_plan_fees.
    return (
        f"UPDATE {company} SET plan_snapshot_id = %s, "
        f"snapshot_fee_schedule_id = CASE WHEN use_plan_fees THEN %s ELSE NULL END, "
        f"has_own_fees = CASE WHEN use_plan_fees THEN %s ELSE has_own_fees END, "
        f"use_plan_fees = %s, plan_id = NULL, updated_at = %s WHERE {where} RETURNING id"
    )


def companies_detach_from_plan(plan: Plan) -> list[int]:
    """Set every company on the plan to Custom keeping exactly what it had, like
    company_detach_from_plan for each (SPEC §4 Delete), in a constant number of
    statements whatever the number of companies: copy-on-write.

    The plan's configuration is frozen once into a `PlanSnapshot` and the companies are
    pointed at it by one UPDATE; the selectors present the snapshot as copied onto each
    company (its features less the company's exclusions as direct features, its limits
    over the company's own, its fees as the company's own schedule for those on plan
    fees), and a company's own first write copies it in (company_materialise_snapshot).
    Answers the ids of the companies, sorted."""
    if not Company.objects.filter(plan=plan).exists():
        return []
    snapshot = _plan_snapshot_create(plan)
    with connection.cursor() as cursor:
        cursor.execute(
            _detach_sql(connection.vendor),
            [snapshot.pk, snapshot.fee_schedule_id, True, True, timezone.now(), plan.pk],
        )
        # No SubscriptionChange rows here: the statements read the plan's `deleted_at` as
        # the day its companies became Custom, so the delete stays one UPDATE.
        return sorted(row[0] for row in cursor.fetchall())


def company_materialise_snapshot(company: Company) -> None:
    """Copy-on-write: before a company detached from a deleted plan writes anything of its
    own, the snapshot it shares becomes its own rows, exactly as the selectors presented
    it (so its entitlements do not change). Call with the company locked."""
    snapshot = company.plan_snapshot
    if snapshot is None:
        return
    excluded = {f.pk for f in company.excluded_features.all()}
    company.direct_features.add(*[f for f in snapshot.features.all() if f.pk not in excluded])
    company.excluded_features.clear()
    company.own_limits = {**company.own_limits, **snapshot.limits}
    if company.snapshot_fee_schedule_id is not None:
        fee_schedule_replace(
            schedule_id=company.fee_schedule_id,
            snapshot=schedule_snapshot(company.snapshot_fee_schedule_id),
        )
        company.has_own_fees = True
    company.plan_snapshot = None
    company.snapshot_fee_schedule = None
    # Saved now, whatever the edit does next: its rows above already say what the
    # snapshot said. No updated_at: what the company gets has not changed.
    Company.objects.filter(pk=company.pk).update(
        plan_snapshot=None,
        snapshot_fee_schedule=None,
        own_limits=company.own_limits,
        has_own_fees=company.has_own_fees,
    )


def companies_follow_plan_features(
    plan: Plan, *, added: Iterable[str], removed: Iterable[str]
) -> None:
    """After a plan edit (SPEC §5): the plan takes over features its companies had
    directly, and exclusions of features it no longer has mean nothing any more.
    Set-based, whatever the number of companies."""
    on_plan = Company.objects.filter(plan=plan)
    added, removed = list(added), list(removed)
    if added:
        Company.direct_features.through.objects.filter(
            company__in=on_plan, feature__key__in=added
        ).delete()
    if removed:
        Company.excluded_features.through.objects.filter(
            company__in=on_plan, feature__key__in=removed
        ).delete()


_SUBSCRIPTION_TERMS = ("plan_id", "billing_cycle", "billing_currency")


def _subscription_record(company: Company) -> None:
    """Note the company's plan and cycle from now on, for the statements' proration."""
    SubscriptionChange.objects.create(
        company=company,
        effective_at=timezone.now(),
        plan_id=company.plan_id,
        billing_cycle=company.billing_cycle,
        billing_currency=company.billing_currency,
    )


def _attach_plan(company: Company, plan: Plan) -> None:
    company.plan = plan
    company.use_plan_fees = True  # on by default whenever a plan is assigned
    company.excluded_features.clear()
    _take_over_direct_features(company, plan)


def _lock_fee_sources(company: Company, changes: Mapping[str, Any]) -> None:
    """Share-lock the plan(s) a change of fee source reads (PostgreSQL; SQLite runs one
    writer at a time). A plan fee edit holds its plan row and decides its job's companies
    from those on the plan's fees (fees/jobs.py), so the two edits are ordered: the plan
    job either includes this company or sees it already gone (docs/architecture.md)."""
    if connection.vendor != "postgresql":
        return
    if "plan_id" not in changes and "use_plan_fees" not in changes:
        return
    new_plan = changes.get("plan_id")
    valid = isinstance(new_plan, int) and not isinstance(new_plan, bool)
    ids = {company.plan_id, new_plan if valid else None} - {None}
    if ids:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM plans_plan WHERE id = ANY(%s) ORDER BY id FOR SHARE", [sorted(ids)]
            )


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
    recalculation = company_fee_change_recalculation(company.pk, before, after)
    return fee_change_job(
        actor=actor,
        reseller_id=company.reseller_id,
        recalculation=recalculation,
        fee_apply_mode=fee_apply_mode,
        reason=reason,
        company_ids=[company.pk],
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
    terms: Mapping[str, Any] | None = None,
) -> Company:
    """`terms`: any of billing_cycle, billing_currency, billing_anchor (default: the plan's
    first cycle and currency, and today)."""
    actor.require_write(reseller_id)
    reject_unknown(terms or {}, TERM_FIELDS)
    reseller = Reseller.objects.filter(pk=reseller_id).first()
    if reseller is None:
        raise NotFound("Reseller not found.")
    name = clean_str(name, "name", max_length=COMPANY_NAME_MAX_LENGTH)
    contact_email = clean_str(
        contact_email, "contact_email", max_length=EMAIL_MAX_LENGTH, required=False
    )
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
        company.billing_anchor = company.created_at.date()
        terms_fit_plan(company, plan)
        apply_terms(company, terms or {})
        company.save()
        _subscription_record(company)
        write_recorded(
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


def _apply_plan_change(company: Company, changes: Mapping[str, Any]) -> set[str]:
    """Answers the features kept from a plan the company was unlinked from (SPEC §5)."""
    if "plan_id" not in changes or changes["plan_id"] == company.plan_id:
        return set()
    new_plan_id = changes["plan_id"]
    if new_plan_id is None:
        return company_detach_from_plan(company)
    plan = _assignable_plan(company.reseller, new_plan_id)
    if company.plan_id is not None:
        # Replacing one plan by another: the old plan's features and fees go with it.
        company.excluded_features.clear()
    _attach_plan(company, plan)
    terms_fit_plan(company, plan)
    return set()


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


def _apply_features(company: Company, changes: Mapping[str, Any], kept_from_plan: set[str]) -> None:
    if "direct_features" in changes:
        keys = _clean_direct_features(
            company.reseller, changes["direct_features"], "direct_features"
        )
        # Unlinking in the same update never removes anything: a `direct_features` list
        # written against the company on its plan (the hub's "other features") cannot
        # drop the features it just kept from that plan. Features the reseller does not
        # enable now cannot be listed, so no list drops them either: they come back if
        # the platform enables them again.
        funnelled_out = {
            f.key for f in company.direct_features.all()
        } - company.reseller.feature_keys()
        company.direct_features.set(_features_by_key(set(keys) | kept_from_plan | funnelled_out))
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
        company.name = clean_str(changes["name"], "name", max_length=COMPANY_NAME_MAX_LENGTH)
    if "contact_email" in changes:
        company.contact_email = clean_str(
            changes["contact_email"], "contact_email", max_length=EMAIL_MAX_LENGTH, required=False
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
        _lock_fee_sources(company, changes)
        old = company_state(company)
        entitlements_before = announce.company_entitlements_before(company)
        before = schedule_snapshot(company.effective_fee_schedule_id())
        # Copy-on-write: the edit applies to the company's own rows. An edit that changes
        # nothing rolls the copy back, so an unchanged form post writes nothing.
        copied = transaction.savepoint_create() if company.plan_snapshot_id is not None else None
        company_materialise_snapshot(company)
        kept_from_plan = _apply_plan_change(company, changes)
        apply_terms(company, changes)
        if "use_plan_fees" in changes:
            _apply_use_plan_fees(company, changes["use_plan_fees"])
        _apply_own_fees(company, changes)
        _apply_features(company, changes, kept_from_plan)
        _apply_simple_fields(company, changes)
        new = company_state(company)
        if new == old:
            if copied is not None:
                transaction.savepoint_rollback(copied)
                company.refresh_from_db()
            return CompanyUpdateResult(company=company, job=None)  # nothing to write
        company.save()
        if any(old[term] != new[term] for term in _SUBSCRIPTION_TERMS):
            _subscription_record(company)
        job = _fee_change_job(
            actor=actor,
            company=company,
            before=before,
            fee_apply_mode=fee_apply_mode,
            reason=f"company {company.pk} fees",
        )
        write_recorded(
            actor=actor,
            action="company.update",
            object_type="company",
            object_id=company.pk,
            object_repr=company.name,
            reseller_id=company.reseller_id,
            old=old,
            new=new,
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
