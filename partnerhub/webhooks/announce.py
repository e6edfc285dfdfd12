"""What the plans, resellers and catalog services call to announce their changes (SPEC §14),
each one line.

Every function here runs inside the caller's transaction and only writes rows: an
event (the outbox, `events.event_emit`) or a `FanOut` for a change that reaches many
companies, which the worker expands (webhooks/fanout.py). A change that rolls back
leaves neither. Companies and recalculation jobs build their own events and call the
outbox directly (companies/announce.py, fees/recalc/progress.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from partnerhub.catalog.models import Limit
from partnerhub.companies.models import Company
from partnerhub.fees.schedules import schedule_snapshot
from partnerhub.plans.models import Plan
from partnerhub.plans.selectors import plan_serialize
from partnerhub.resellers.models import Reseller
from partnerhub.webhooks.entitlements import fees_body, limits_catalog_now
from partnerhub.webhooks.events import event_emit
from partnerhub.webhooks.models import FanOut

PLAN_EVENTS = {
    "plan.create": "plan.created",
    "plan.duplicate": "plan.created",
    "plan.update": "plan.updated",
    "plan.set_enabled": "plan.updated",
    "plan.set_visible": "plan.updated",
    "plan.archive": "plan.archived",
    "plan.unarchive": "plan.unarchived",
    "plan.delete": "plan.deleted",
    "plan.restore": "plan.restored",
}


# --- plans -------------------------------------------------------------------------


def plan_announce(action: str, plan: Plan) -> None:
    """plan.* for an audit action of the plans app (`plan.archive` -> `plan.archived`)."""
    event_type = PLAN_EVENTS.get(action)
    if event_type is not None:
        plan = Plan.objects.get(pk=plan.pk)
        event_emit(type=event_type, reseller_id=plan.reseller_id, data=plan_serialize(plan))


def _feature_rows(through: Any, plan: Plan, keys: Iterable[str]) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = defaultdict(list)
    keys = list(keys)
    if keys:
        for company_id, key in through.objects.filter(
            company__plan=plan, feature__key__in=keys
        ).values_list("company_id", "feature__key"):
            rows[str(company_id)].append(key)
    return dict(rows)


def plan_before(
    plan: Plan, *, added: Iterable[str] = (), removed: Iterable[str] = ()
) -> dict[str, Any]:
    """Take inside plan_update before it writes: the plan as it is, and the company rows the
    edit will delete (exclusions of removed features, direct copies of added ones)."""
    return {
        "plan": {
            "id": plan.pk,
            "name": plan.name,
            "display_name": plan.display_name,
            "features": sorted(plan.features.values_list("key", flat=True)),
            "limits": dict(plan.limits),
            "fees": fees_body(schedule_snapshot(plan.fee_schedule_id)),
        },
        "excluded_removed": _feature_rows(Company.excluded_features.through, plan, removed),
        "direct_removed": _feature_rows(Company.direct_features.through, plan, added),
    }


def plan_update_announce(plan: Plan, before: dict[str, Any]) -> None:
    plan_announce("plan.update", plan)
    FanOut.objects.create(
        reseller_id=plan.reseller_id, plan_id=plan.pk, reason=f"plan {plan.pk} edit", before=before
    )


def plan_delete_announce(plan: Plan, company_ids: list[int]) -> None:
    """Every company on a deleted plan becomes Custom: its body changes (plan: null)."""
    plan_announce("plan.delete", plan)
    if company_ids:
        FanOut.objects.create(
            reseller_id=plan.reseller_id,
            company_ids=sorted(company_ids),
            reason=f"plan {plan.pk} delete",
            before={"all_changed": True},
        )


# --- resellers and the catalog -----------------------------------------------------


def reseller_before(reseller: Reseller) -> dict[str, Any]:
    """Take inside reseller_update before it writes: enabled features and fees."""
    return {
        "reseller": {
            "id": reseller.pk,
            "features": sorted(reseller.features.values_list("key", flat=True)),
            "fees": fees_body(schedule_snapshot(reseller.fee_schedule_id)),
        }
    }


def reseller_update_announce(reseller: Reseller, before: dict[str, Any]) -> None:
    """A funnel or fee change reaches the reseller's companies (and no other reseller's)."""
    if reseller_before(reseller) != before:
        FanOut.objects.create(
            reseller_id=reseller.pk, reason=f"reseller {reseller.pk} update", before=before
        )


def limit_created_announce(limit: Limit) -> None:
    """A new limit shows (unset) in every company's entitlements, of every reseller."""
    before = [[key, period] for key, period in limits_catalog_now() if key != limit.key]
    FanOut.objects.create(
        reseller_id=None, reason=f"limit {limit.key} created", before={"limits": before}
    )
