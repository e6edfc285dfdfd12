"""Reading companies, and resolving what a company gets (SPEC §5), tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from partnerhub.catalog.models import Feature, Limit
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, company_scope, company_terms
from partnerhub.core.errors import NotFound
from partnerhub.fees.schedules import ScheduleSnapshot, schedule_snapshot, snapshot_from_entries
from partnerhub.plans.models import Plan


def company_visible_to(actor: Actor, *, pk: int, reseller_id: int) -> bool:
    """`_scope`'s rule for a company known only by its ids (a raw row, companies/cache.py)."""
    terms = company_terms(actor)
    fields = {"pk": pk, "reseller_id": reseller_id}
    return terms is not None and all(fields[name] == value for name, value in terms.items())


def company_get_for_actor(actor: Actor, company_id: int) -> Company:
    """The company, or NotFound — also for another tenant's company (no existence leak)."""
    company = (
        Company.objects.select_related("reseller", "plan").filter(
            company_scope(actor), pk=company_id
        )
    ).first()
    if company is None:
        raise NotFound("Company not found.")
    return company


def company_list_for_actor(
    actor: Actor,
    *,
    reseller_id: int | None = None,
    search: str | None = None,
    plan_id: int | None = None,
    custom: bool | None = None,
) -> QuerySet[Company]:
    qs = Company.objects.filter(company_scope(actor)).select_related("plan")
    if reseller_id is not None:
        qs = qs.filter(reseller_id=reseller_id)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(contact_email__icontains=search))
    if plan_id is not None:
        qs = qs.filter(plan_id=plan_id)
    if custom is not None:
        qs = qs.filter(plan__isnull=custom)
    # The snapshot joins cost no query for companies without one (the prefetches
    # below find nothing to fetch).
    return (
        qs.select_related("plan_snapshot", "snapshot_fee_schedule")
        .prefetch_related(
            Prefetch("direct_features", queryset=Feature.objects.only("id", "key")),
            Prefetch("excluded_features", queryset=Feature.objects.only("id", "key")),
            "fee_schedule__entries",
            Prefetch("plan_snapshot__features", queryset=Feature.objects.only("id", "key")),
            "snapshot_fee_schedule__entries",
        )
        .order_by("name", "id")
    )


@dataclass(frozen=True)
class FeatureLoss:
    """What turning a feature off for a reseller takes away, before it is saved."""

    feature: str  # its name, as people know it
    plans: list[str]  # the reseller's live plans that include it, by name
    companies: list[str]  # the first companies that have it now, by name
    company_count: int


def reseller_feature_loss(
    reseller_id: int, keys: list[str], *, shown: int = 20
) -> list[FeatureLoss]:
    """For each feature about to be disabled on the reseller: its plans and the companies
    that have it now (from their plan unless excluded, or directly)."""
    losses = []
    for feature in Feature.objects.filter(key__in=keys).order_by("name"):
        plans = list(
            Plan.objects.live()
            .filter(reseller_id=reseller_id, features=feature)
            .order_by("name")
            .values_list("name", flat=True)
        )
        companies = (
            Company.objects.filter(reseller_id=reseller_id)
            .filter(
                Q(direct_features=feature)
                | (Q(plan__features=feature) & ~Q(excluded_features=feature))
                # a deleted plan's companies share its frozen features (copy-on-write)
                | (Q(plan_snapshot__features=feature) & ~Q(excluded_features=feature))
            )
            .distinct()
            .order_by("name")
        )
        names = list(companies.values_list("name", flat=True)[:shown])
        count = len(names) if len(names) < shown else companies.count()
        if plans or names:
            losses.append(FeatureLoss(feature.name, plans, names, count))
    return losses


def company_count_on_own_fees(plan_id: int) -> int:
    """Companies on the plan that keep their own fees (a plan fee change leaves them alone)."""
    return Company.objects.filter(plan_id=plan_id, use_plan_fees=False).count()


def company_name(company_id: int) -> str | None:
    return Company.objects.filter(pk=company_id).values_list("name", flat=True).first()


COMPANY_LABEL_SEPARATOR = " · "


def company_pick_labels(actor: Actor, *, limit: int = 1000) -> list[str]:
    """How a person names a company in a picker: its name, and for the platform (which sees
    every reseller) "name · reseller". The first `limit`, by name; any other is still
    found by company_find_by_label when typed in full."""
    rows = (
        Company.objects.filter(company_scope(actor))
        .order_by("name", "id")
        .values_list("name", "reseller__name")[:limit]
    )
    if actor.is_platform:
        return [f"{name}{COMPANY_LABEL_SEPARATOR}{reseller}" for name, reseller in rows]
    return list(dict.fromkeys(name for name, _ in rows))


def company_find_by_label(actor: Actor, label: str) -> list[Company]:
    """The companies the actor sees that a company_pick_labels label (case aside) names:
    none, one, or two when it is ambiguous."""
    name, _, reseller = label.partition(COMPANY_LABEL_SEPARATOR)
    qs = Company.objects.filter(company_scope(actor), name__iexact=name.strip())
    if reseller.strip():
        qs = qs.filter(reseller__name__iexact=reseller.strip())
    return list(qs.order_by("id")[:2])


def companies_for_actor(actor: Actor, reseller_id: int | None = None) -> QuerySet[Company]:
    """The companies the actor may see, unordered and with nothing fetched (for counts and
    subqueries); the platform may narrow them to one reseller's."""
    qs = Company.objects.filter(company_scope(actor))
    if reseller_id is not None and actor.is_platform:
        qs = qs.filter(reseller_id=reseller_id)
    return qs


def company_deviates_from_plan(company: Company) -> bool:
    return company.plan_id is not None and bool(_keys(company.excluded_features.all()))


def _keys(features: Any) -> set[str]:
    return {f.key for f in features}


def company_own_fees(company: Company) -> ScheduleSnapshot:
    """The company's own schedule: the deleted plan's it shares (copy-on-write), else its own."""
    if company.snapshot_fee_schedule_id is not None:
        return snapshot_from_entries(company.snapshot_fee_schedule.entries.all())  # type: ignore[union-attr]
    return snapshot_from_entries(company.fee_schedule.entries.all())


# Copy-on-write after a plan delete (models.PlanSnapshot): these present a company that
# shares its deleted plan's snapshot exactly as if the snapshot had been copied onto it
# (features direct, exclusions cleared, limits written over its own), which is what a
# company detached from its plan holds (SPEC §4 Delete, §5 unlinking).


def _snapshot_kept_keys(company: Company) -> set[str]:
    """The deleted plan's features the company kept: the snapshot's less its exclusions."""
    snapshot = company.plan_snapshot
    if snapshot is None:
        return set()
    return _keys(snapshot.features.all()) - _keys(company.excluded_features.all())


def company_direct_keys(company: Company) -> set[str]:
    return _keys(company.direct_features.all()) | _snapshot_kept_keys(company)


def company_excluded_keys(company: Company) -> set[str]:
    if company.plan_snapshot_id is not None:
        return set()  # exclusions of the snapshot, already taken out of its features
    return _keys(company.excluded_features.all())


def company_own_limits(company: Company) -> dict[str, Any]:
    snapshot = company.plan_snapshot
    return {**company.own_limits, **snapshot.limits} if snapshot else dict(company.own_limits)


def company_serialize(company: Company) -> dict[str, Any]:
    """The SPEC §12 company shape. Prefetch as company_list_for_actor does to avoid N+1."""
    own = company_own_fees(company) if company.has_own_fees else None
    return {
        "id": company.pk,
        "reseller_id": company.reseller_id,
        "name": company.name,
        "contact_email": company.contact_email,
        "plan_id": company.plan_id,
        "plan_name": company.plan.name if company.plan_id else None,  # type: ignore[union-attr]
        "use_plan_fees": company.use_plan_fees,
        "deviates_from_plan": company_deviates_from_plan(company),
        "direct_features": sorted(company_direct_keys(company)),
        "excluded_features": sorted(company_excluded_keys(company)),
        "limit_overrides": dict(company.limit_overrides),
        "own_limits": company_own_limits(company),
        "has_own_fees": company.has_own_fees,
        "fees": own.entries_as_dicts() if own else [],
        "blended": own.blended_dict() if own else {},
        "billing_cycle": company.billing_cycle,
        "billing_currency": company.billing_currency,
        "billing_anchor": company.billing_anchor or company.created_at.date(),
        "created_at": company.created_at,
    }


@dataclass
class Entitlements:
    company_id: int
    plan: dict[str, Any] | None
    features: list[dict[str, str]]  # [{"key", "source": "plan" | "direct"}]
    limits: dict[str, dict[str, Any]]  # key -> {"value", "period", "source"}
    fee_source: str  # "plan" | "company" | "reseller"
    fees: ScheduleSnapshot = field(repr=False)

    def feature_keys(self) -> set[str]:
        return {f["key"] for f in self.features}

    def as_dict(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "plan": self.plan,
            "features": self.features,
            "limits": self.limits,
            "fees": {
                "source": self.fee_source,
                "schedule": self.fees.entries_as_dicts(),
                "blended": self.fees.blended_dict(),
            },
        }


def resolve_entitlements(company: Company) -> Entitlements:
    """The effective configuration, computed now from plan, company and reseller.

    features = ((plan - exclusions) | direct) & reseller enabled: the reseller is
    a hard ceiling, so a feature the platform takes off it is gone at once.
    """
    reseller_keys = _keys(company.reseller.features.all())
    plan = company.plan
    plan_keys = _keys(plan.features.all()) if plan else set()
    excluded = _keys(company.excluded_features.all()) if plan else set()
    direct = company_direct_keys(company)
    from_plan = (plan_keys - excluded) & reseller_keys
    features = [{"key": k, "source": "plan"} for k in sorted(from_plan)]
    features += [
        {"key": k, "source": "direct"} for k in sorted((direct & reseller_keys) - from_plan)
    ]
    features.sort(key=lambda f: f["key"])
    return Entitlements(
        company_id=company.pk,
        plan=(
            {"id": plan.pk, "name": plan.name, "display_name": plan.display_name} if plan else None
        ),
        features=features,
        limits=resolve_limits(company),
        fee_source=fee_source(company),
        fees=schedule_snapshot(company.effective_fee_schedule_id()),
    )


def limit_value_from(
    key: str,
    *,
    overrides: dict[str, Any],
    plan_limits: dict[str, Any] | None,
    own: dict[str, Any],
    snapshot_limits: dict[str, Any] | None = None,
) -> tuple[int | None, str]:
    """(value, source) of one limit: override if set, else the plan's value, else the
    company's own (a shared deleted plan's snapshot written over them: company_own_limits);
    unset means unlimited (None)."""
    own = {**own, **snapshot_limits} if snapshot_limits else own
    for source, values in (("override", overrides), ("plan", plan_limits or {}), ("company", own)):
        if key in values:
            return values[key], source
    return None, "unset"


def resolve_limit_value(company: Company, key: str) -> tuple[int | None, str]:
    """limit_value_from for a company; select its plan with it."""
    return limit_value_from(
        key,
        overrides=company.limit_overrides,
        plan_limits=company.plan.limits if company.plan_id else None,  # type: ignore[union-attr]
        own=company_own_limits(company),
    )


def resolve_limits(company: Company) -> dict[str, dict[str, Any]]:
    resolved: dict[str, dict[str, Any]] = {}
    for limit in Limit.objects.all():
        value, source = resolve_limit_value(company, limit.key)
        resolved[limit.key] = {"value": value, "period": limit.period, "source": source}
    return resolved


def fee_source(company: Company) -> str:
    if company.plan_id is not None and company.use_plan_fees:
        return "plan"
    return "company" if company.has_own_fees else "reseller"


def company_entitlements(actor: Actor, company_id: int) -> Entitlements:
    return resolve_entitlements(company_get_for_actor(actor, company_id))
