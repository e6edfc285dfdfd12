"""Reading plans, tenant-scoped; the plans list in a constant number of queries (SPEC §8)."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor
from partnerhub.core.errors import FeatureUnavailable, NotFound, ValidationFailed
from partnerhub.fees.schedules import snapshot_from_entries
from partnerhub.plans.models import BILLING_CYCLE_ORDER, Plan
from partnerhub.resellers.models import Reseller

ArchivedFilter = Literal["hide", "all", "only"]
# Company names shown in a plan card's expandable list.
CARD_COMPANY_NAMES = 50

PLANS_UNAVAILABLE = (
    "Plans are not enabled for this reseller. Ask the platform operator to enable "
    "the Plans feature."
)


def require_plans_feature(actor: Actor, reseller: Reseller) -> None:
    """Without the `plans` feature a reseller's plan pages and endpoints answer 403.

    The platform operator still reads them (existing assignments keep resolving).
    """
    if not actor.is_platform and not reseller.has_plans_feature():
        raise FeatureUnavailable(PLANS_UNAVAILABLE)


def _scope(actor: Actor) -> Q:
    if actor.is_platform:
        return Q()
    if actor.is_reseller_member:
        return Q(reseller_id=actor.reseller_id)
    return Q(pk__in=[])


def plan_get_for_actor(actor: Actor, plan_id: int) -> Plan:
    plan = Plan.objects.select_related("reseller").filter(_scope(actor), pk=plan_id).first()
    if plan is None:
        raise NotFound("Plan not found.")
    require_plans_feature(actor, plan.reseller)
    return plan


def _count(model_qs: QuerySet[Any], column: str) -> Coalesce:
    sub = (
        model_qs.filter(**{column: OuterRef("pk")})
        .order_by()
        .values(column)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), 0)


def plan_list_for_actor(
    actor: Actor,
    *,
    reseller_id: int | None = None,
    name: str | None = None,
    plan_type: str | None = None,
    archived: ArchivedFilter = "hide",
    deleted: bool = False,
    company_names: bool = True,
) -> QuerySet[Plan]:
    """Plans with `feature_count`, `company_count`, prefetched features, prices, fees and
    (unless `company_names=False`, as for the API's plan shape, which has none) the first
    company names — the same number of queries for 1 plan or 1,000."""
    if archived not in ("hide", "all", "only"):
        raise ValidationFailed.field("archived", "must be one of hide, all, only")
    if actor.is_reseller_member:
        reseller = Reseller.objects.get(pk=actor.reseller_id or 0)
        require_plans_feature(actor, reseller)
    qs = Plan.objects.filter(_scope(actor))
    if reseller_id is not None:
        qs = qs.filter(reseller_id=reseller_id)
    if name:
        qs = qs.filter(Q(name__icontains=name) | Q(display_name__icontains=name))
    if plan_type:
        qs = qs.filter(plan_type=plan_type)
    if archived == "hide":
        qs = qs.filter(archived_at__isnull=True)
    elif archived == "only":
        qs = qs.filter(archived_at__isnull=False)
    qs = qs.filter(deleted_at__isnull=not deleted)
    return (
        qs.annotate(
            feature_count=_count(Plan.features.through.objects.all(), "plan_id"),
            company_count=_count(Company.objects.all(), "plan_id"),
        )
        .prefetch_related(
            Prefetch("features", queryset=Feature.objects.only("id", "key", "name")),
            "prices",
            "fee_schedule__entries",
            *_company_preview(company_names),
        )
        .order_by("name", "id")
    )


def _company_preview(wanted: bool) -> list[Prefetch]:
    if not wanted:
        return []
    first_names = Company.objects.only("id", "name", "plan_id").order_by("name", "id")
    return [
        Prefetch("companies", queryset=first_names[:CARD_COMPANY_NAMES], to_attr="company_preview")
    ]


def plan_assignable_for_reseller(actor: Actor, reseller_id: int) -> QuerySet[Plan]:
    """The plans the company form's dropdown offers: enabled, not archived, not deleted."""
    actor.require_reseller(reseller_id)
    return Plan.objects.assignable().filter(reseller_id=reseller_id).order_by("name")


def plan_public_catalog(reseller: Reseller) -> QuerySet[Plan]:
    """The reseller's public plan catalog: visible plans that can be assigned now, offered
    to visitors and on the registration form. Empty without the Plans feature."""
    if not reseller.has_plans_feature():
        return Plan.objects.none()
    return (
        Plan.objects.assignable()
        .filter(reseller=reseller, visible=True)
        .prefetch_related("prices", Prefetch("features", queryset=Feature.objects.order_by("key")))
        .order_by("name", "id")
    )


def plan_public_serialize(plan: Plan) -> dict[str, Any]:
    """What a visitor may see of a plan: no internal name, fees, counts or versions."""
    return {
        "id": plan.pk,
        "display_name": plan.display_name,
        "description": plan.description,
        "plan_type": plan.plan_type,
        "billing_cycles": list(plan.billing_cycles),
        "prices": [
            {
                "currency": p.currency_id,
                "billing_cycle": p.billing_cycle,
                "amount_minor": p.amount_minor,
            }
            for p in sorted(plan.prices.all(), key=lambda p: (p.currency_id, _cycle(p)))
        ],
        "gst_enabled": plan.gst_enabled,
        "features": [{"key": f.key, "name": f.name} for f in plan.features.all()],
        "limits": dict(plan.limits),
    }


def plan_company_names(plan: Plan) -> list[dict[str, Any]]:
    return [{"id": c.pk, "name": c.name} for c in plan.companies.order_by("name", "id")]


def plan_serialize(plan: Plan) -> dict[str, Any]:
    """The SPEC §12 plan shape. Use plan_list_for_actor's prefetches to avoid N+1."""
    fees = snapshot_from_entries(plan.fee_schedule.entries.all())
    features = sorted(f.key for f in plan.features.all())
    company_count = getattr(plan, "company_count", None)
    if company_count is None:
        company_count = plan.companies.count()
    return {
        "id": plan.pk,
        "reseller_id": plan.reseller_id,
        "version": plan.version,
        "plan_type": plan.plan_type,
        "name": plan.name,
        "display_name": plan.display_name,
        "description": plan.description,
        "enabled": plan.enabled,
        "visible": plan.visible,
        "billing_cycles": list(plan.billing_cycles),
        "prices": [
            {
                "currency": p.currency_id,
                "billing_cycle": p.billing_cycle,
                "amount_minor": p.amount_minor,
            }
            for p in sorted(plan.prices.all(), key=lambda p: (p.currency_id, _cycle(p)))
        ],
        "gst_enabled": plan.gst_enabled,
        "revenue_share_bps": plan.revenue_share_bps,
        "limits": dict(plan.limits),
        "features": features,
        "fees": fees.entries_as_dicts(),
        "blended": fees.blended_dict(),
        "archived": plan.archived,
        "deleted": plan.deleted,
        "feature_count": len(features),
        "company_count": company_count,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
    }


def _cycle(price: Any) -> int:
    return BILLING_CYCLE_ORDER.index(price.billing_cycle)
