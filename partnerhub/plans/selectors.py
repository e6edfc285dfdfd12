"""Reading plans, tenant-scoped; the plans list in a constant number of queries (SPEC §8)."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from partnerhub.catalog.models import Feature, TaxSettings
from partnerhub.catalog.selectors import tax_get
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, reseller_scope
from partnerhub.core.errors import FeatureUnavailable, NotFound, ValidationFailed
from partnerhub.fees.arithmetic import percent_of
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


def plan_free_name(reseller_id: int, base: str) -> str:
    """`base`, or the first of "base (2)", "base (3)", … no live plan of the reseller uses
    (names compare without regard to case, as the unique index does)."""
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


def plan_names(plan_ids: set[int]) -> dict[int, str]:
    """{id: name} of these plans, deleted ones included (for history, like the audit log)."""
    if not plan_ids:
        return {}
    return dict(Plan.objects.filter(pk__in=plan_ids).values_list("id", "name"))


def plan_name_clash(reseller_id: int, name: str, exclude_pk: int | None = None) -> str | None:
    """A free name to suggest when another live plan of the reseller is called `name`,
    else None. The hub asks before saving so a clash shows with every other error; the
    service still decides (a concurrent save can take the name in between)."""
    clash = Plan.objects.live().filter(reseller_id=reseller_id, name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    return plan_free_name(reseller_id, name) if clash.exists() else None


def plan_get_for_actor(actor: Actor, plan_id: int) -> Plan:
    plan = Plan.objects.select_related("reseller").filter(reseller_scope(actor), pk=plan_id).first()
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
    qs = Plan.objects.filter(reseller_scope(actor))
    if reseller_id is not None:
        qs = qs.filter(reseller_id=reseller_id)
    if name:
        qs = qs.filter(Q(name__icontains=name) | Q(display_name__icontains=name))
    if plan_type:
        qs = qs.filter(plan_type=plan_type)
    if deleted:
        # The deleted filter shows every deleted plan, archived or not (SPEC §4): a plan
        # archived before it was deleted must stay restorable.
        qs = qs.filter(deleted_at__isnull=False)
    else:
        qs = qs.filter(deleted_at__isnull=True)
        if archived == "hide":
            qs = qs.filter(archived_at__isnull=True)
        elif archived == "only":
            qs = qs.filter(archived_at__isnull=False)
    # What a company on the plan gets: the plan's features within the reseller's (SPEC §4).
    funnelled = Plan.features.through.objects.filter(feature__resellers=OuterRef("reseller_id"))
    return (
        qs.annotate(
            feature_count=_count(funnelled, "plan_id"),
            company_count=_count(Company.objects.all(), "plan_id"),
            gst_rate_bps=_gst_rate_column(),
        )
        .select_related("reseller")
        .prefetch_related(
            Prefetch("features", queryset=Feature.objects.only("id", "key", "name")),
            Prefetch("reseller__features", queryset=Feature.objects.only("id", "key")),
            "prices",
            "fee_schedule__entries",
            *_company_preview(company_names),
        )
        .order_by("name", "id")
    )


def _company_preview(wanted: bool) -> list[Prefetch[Any]]:
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
        .annotate(gst_rate_bps=_gst_rate_column())
        .select_related("reseller")
        .prefetch_related(
            "prices",
            Prefetch("features", queryset=Feature.objects.order_by("key")),
            "reseller__features",
        )
        .order_by("name", "id")
    )


def plan_registration_choices(reseller: Reseller) -> QuerySet[Plan]:
    """The plans a visitor may pick at registration: none unless the reseller turned
    `registration_plan_choice` on (SPEC §7), then its public catalog."""
    if not reseller.registration_plan_choice:
        return Plan.objects.none()
    return plan_public_catalog(reseller)


def plan_features(plan: Plan) -> list[Feature]:
    """The plan's features a company on it actually gets: funnelled by the reseller, whose
    features are the hard ceiling at read time (SPEC §3). Prefetch `reseller__features`."""
    ceiling = plan.reseller.feature_keys()
    return [f for f in plan.features.all() if f.key in ceiling]


def gst_rate_bps() -> int:
    """The platform's GST rate, in basis points."""
    return tax_get().gst_rate_bps


def _gst_rate_column() -> Coalesce:
    """The platform's GST rate as a column of a plan query, so serialising a page of plans
    reads it in the same statement (the default rate before the platform ever set one)."""
    rate = TaxSettings.objects.filter(pk=1).values("gst_rate_bps")
    default = TaxSettings._meta.get_field("gst_rate_bps").get_default()
    return Coalesce(Subquery(rate, output_field=IntegerField()), Value(default))


def _rate_for(plan: Plan, gst_rate: int | None) -> int:
    if gst_rate is not None:
        return gst_rate
    annotated = getattr(plan, "gst_rate_bps", None)
    return gst_rate_bps() if annotated is None else annotated


def plan_prices(plan: Plan, gst_rate: int) -> list[dict[str, Any]]:
    """The plan's prices in cycle order, each with its GST at the platform's rate, rounded
    half up in minor units, and the gross; both null when the plan has no GST (SPEC §4)."""
    entries = []
    for p in sorted(plan.prices.all(), key=lambda p: (p.currency_id, _cycle(p))):
        gst = percent_of(p.amount_minor, gst_rate) if plan.gst_enabled else None
        entries.append(
            {
                "currency": p.currency_id,
                "billing_cycle": p.billing_cycle,
                "amount_minor": p.amount_minor,  # net, minor units
                "gst_minor": gst,  # minor units
                "gross_minor": None if gst is None else p.amount_minor + gst,  # minor units
            }
        )
    return entries


def plan_public_serialize(plan: Plan, gst_rate: int | None = None) -> dict[str, Any]:
    """What a visitor may see of a plan: no internal name, fees, counts or versions."""
    gst_rate = _rate_for(plan, gst_rate)
    return {
        "id": plan.pk,
        "display_name": plan.display_name,
        "description": plan.description,
        "plan_type": plan.plan_type,
        "billing_cycles": list(plan.billing_cycles),
        "prices": plan_prices(plan, gst_rate),
        "gst_enabled": plan.gst_enabled,
        "features": [{"key": f.key, "name": f.name} for f in plan_features(plan)],
        "limits": dict(plan.limits),
    }


def plan_company_names(plan: Plan) -> list[dict[str, Any]]:
    return [{"id": c.pk, "name": c.name} for c in plan.companies.order_by("name", "id")]


def plan_serialize(plan: Plan, gst_rate: int | None = None) -> dict[str, Any]:
    """The SPEC §12 plan shape. Use plan_list_for_actor's prefetches to avoid N+1, and
    pass the GST rate (gst_rate_bps()) when serialising many."""
    gst_rate = _rate_for(plan, gst_rate)
    fees = snapshot_from_entries(plan.fee_schedule.entries.all())
    features = sorted(f.key for f in plan_features(plan))
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
        "prices": plan_prices(plan, gst_rate),
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
