"""Resolved entitlements for a batch of companies at once, and "as they were" before a change.

`companies.selectors.resolve_entitlements` answers one company with a few queries; a
fan-out compares thousands, so this module loads a batch in a constant number of
queries and applies the same rule (features = ((plan - exclusions) | direct) & the
reseller's; limits override > plan > own > unset; fees plan > own > reseller). The
rule is the companies app's: `tests/test_fanout.py::test_batch_resolver_matches_selector`
pins this copy to it, because an event must carry exactly what the API answers.

"Before" is the same computation with the snapshot the change's transaction took
substituted for what it overwrote (see `Substitutions`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from partnerhub.catalog.models import Limit
from partnerhub.companies.models import Company, PlanSnapshot
from partnerhub.fees.models import FeeScheduleEntry
from partnerhub.fees.schedules import ScheduleSnapshot, snapshot_from_entries
from partnerhub.plans.models import Plan
from partnerhub.resellers.models import Reseller

FeesBody = dict[str, Any]  # {"schedule": [entry dicts], "blended": {currency: bool}}


def fees_body(snapshot: ScheduleSnapshot) -> FeesBody:
    return {"schedule": snapshot.entries_as_dicts(), "blended": snapshot.blended_dict()}


@dataclass
class PlanState:
    id: int
    name: str
    display_name: str
    feature_keys: set[str]
    limits: dict[str, Any]
    fees: FeesBody


@dataclass
class Substitutions:
    """What a change overwrote, from its `FanOut.before` (all keys optional)."""

    plan: PlanState | None = None
    reseller_id: int | None = None
    reseller_feature_keys: set[str] | None = None
    reseller_fees: FeesBody | None = None
    limits_catalog: list[tuple[str, str]] | None = None
    excluded_removed: dict[int, set[str]] = field(default_factory=dict)
    direct_removed: dict[int, set[str]] = field(default_factory=dict)

    @classmethod
    def from_before(cls, before: Mapping[str, Any]) -> Substitutions:
        plan = before.get("plan")
        reseller = before.get("reseller")
        return cls(
            plan=(
                PlanState(
                    id=plan["id"],
                    name=plan["name"],
                    display_name=plan["display_name"],
                    feature_keys=set(plan["features"]),
                    limits=dict(plan["limits"]),
                    fees=plan["fees"],
                )
                if plan
                else None
            ),
            reseller_id=reseller["id"] if reseller else None,
            reseller_feature_keys=(
                set(reseller["features"]) if reseller and "features" in reseller else None
            ),
            reseller_fees=reseller.get("fees") if reseller else None,
            limits_catalog=(
                [(key, period) for key, period in before["limits"]] if "limits" in before else None
            ),
            excluded_removed={
                int(k): set(v) for k, v in before.get("excluded_removed", {}).items()
            },
            direct_removed={int(k): set(v) for k, v in before.get("direct_removed", {}).items()},
        )


def entitlements_body(
    *,
    company: Company,
    plan: PlanState | None,
    excluded: set[str],
    direct: set[str],
    reseller_keys: set[str],
    reseller_fees: FeesBody,
    own_fees: FeesBody,
    limits_catalog: Sequence[tuple[str, str]],
    own_limits: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The SPEC §12 entitlements body, from already loaded parts. `own_limits`: the
    company's own with a shared deleted plan's snapshot written over them (default:
    the company's column)."""
    from_plan = (plan.feature_keys - excluded) & reseller_keys if plan else set()
    features = [{"key": k, "source": "plan"} for k in from_plan]
    features += [{"key": k, "source": "direct"} for k in (direct & reseller_keys) - from_plan]
    features.sort(key=lambda f: f["key"])
    plan_limits = plan.limits if plan else {}
    limits: dict[str, dict[str, Any]] = {}
    for key, period in limits_catalog:
        for source, values in (
            ("override", company.limit_overrides),
            ("plan", plan_limits),
            ("company", company.own_limits if own_limits is None else own_limits),
        ):
            if key in values:
                limits[key] = {"value": values[key], "period": period, "source": source}
                break
        else:
            limits[key] = {"value": None, "period": period, "source": "unset"}
    if plan is not None and company.use_plan_fees:
        source, fees = "plan", plan.fees
    elif company.has_own_fees:
        source, fees = "company", own_fees
    else:
        source, fees = "reseller", reseller_fees
    return {
        "company_id": company.pk,
        "plan": (
            {"id": plan.id, "name": plan.name, "display_name": plan.display_name} if plan else None
        ),
        "features": features,
        "limits": limits,
        "fees": {"source": source, "schedule": fees["schedule"], "blended": fees["blended"]},
    }


def limits_catalog_now() -> list[tuple[str, str]]:
    return list(Limit.objects.order_by("id").values_list("key", "period"))


def _keys_by(through: Any, owner: str, owner_ids: Iterable[int]) -> dict[int, set[str]]:
    keys: dict[int, set[str]] = defaultdict(set)
    for owner_id, key in through.objects.filter(**{f"{owner}_id__in": set(owner_ids)}).values_list(
        f"{owner}_id", "feature__key"
    ):
        keys[owner_id].add(key)
    return keys


def _schedules(schedule_ids: Iterable[int]) -> dict[int, FeesBody]:
    entries: dict[int, list[FeeScheduleEntry]] = defaultdict(list)
    ids = set(schedule_ids)
    for entry in FeeScheduleEntry.objects.filter(schedule_id__in=ids):
        entries[entry.schedule_id].append(entry)
    return {sid: fees_body(snapshot_from_entries(entries.get(sid, []))) for sid in ids}


def companies_for_resolution(ids: Iterable[int] | None = None) -> Any:
    """Companies with just the columns `EntitlementsBatch` reads."""
    qs = Company.objects.only(
        "id",
        "reseller_id",
        "plan_id",
        "use_plan_fees",
        "has_own_fees",
        "fee_schedule_id",
        "limit_overrides",
        "own_limits",
        "plan_snapshot_id",
        "snapshot_fee_schedule_id",
    )
    return qs if ids is None else qs.filter(pk__in=list(ids))


class EntitlementsBatch:
    """Now and before for a list of companies loaded by `companies_for_resolution`.

    Every relation is read by one query for the whole batch into plain sets (a related
    manager per company costs more than the comparison itself)."""

    def __init__(self, companies: Sequence[Company]) -> None:
        self.companies = companies
        company_ids = [c.pk for c in companies]
        reseller_ids = {c.reseller_id for c in companies}
        plans = {
            p.pk: p
            for p in Plan.objects.filter(
                pk__in={c.plan_id for c in companies if c.plan_id is not None}
            ).only("id", "name", "display_name", "limits", "fee_schedule_id")
        }
        plan_keys = _keys_by(Plan.features.through, "plan", plans)
        self.excluded = _keys_by(Company.excluded_features.through, "company", company_ids)
        self.direct = _keys_by(Company.direct_features.through, "company", company_ids)
        self.reseller_keys = _keys_by(Reseller.features.through, "reseller", reseller_ids)
        # Companies sharing a deleted plan's snapshot (copy-on-write, companies/models.py);
        # none in a batch costs no query (an empty IN runs nothing).
        snapshot_ids = {c.plan_snapshot_id for c in companies if c.plan_snapshot_id is not None}
        self.snapshot_limits = dict(
            PlanSnapshot.objects.filter(pk__in=snapshot_ids).values_list("pk", "limits")
        )
        self.snapshot_keys = _keys_by(PlanSnapshot.features.through, "plansnapshot", snapshot_ids)
        reseller_schedule = dict(
            Reseller.objects.filter(pk__in=reseller_ids).values_list("pk", "fee_schedule_id")
        )
        schedules = _schedules(
            [p.fee_schedule_id for p in plans.values()]
            + list(reseller_schedule.values())
            + [c.fee_schedule_id for c in companies if c.has_own_fees]
            + [c.snapshot_fee_schedule_id for c in companies if c.snapshot_fee_schedule_id]
        )
        self.plans = {
            pk: PlanState(
                id=pk,
                name=p.name,
                display_name=p.display_name,
                feature_keys=plan_keys.get(pk, set()),
                limits=dict(p.limits),
                fees=schedules[p.fee_schedule_id],
            )
            for pk, p in plans.items()
        }
        self.reseller_fees = {rid: schedules[sid] for rid, sid in reseller_schedule.items()}
        self.own_fees = {
            c.pk: schedules[c.snapshot_fee_schedule_id or c.fee_schedule_id]
            for c in companies
            if c.has_own_fees or c.snapshot_fee_schedule_id
        }
        self.limits_catalog = limits_catalog_now()

    def now(self, company: Company) -> dict[str, Any]:
        return self._body(company, Substitutions())

    def before(self, company: Company, subs: Substitutions) -> dict[str, Any]:
        return self._body(company, subs)

    def _body(self, company: Company, subs: Substitutions) -> dict[str, Any]:
        plan = self.plans.get(company.plan_id) if company.plan_id else None
        if plan is not None and subs.plan is not None and subs.plan.id == plan.id:
            plan = subs.plan
        mine = subs.reseller_id == company.reseller_id
        reseller_keys = self.reseller_keys.get(company.reseller_id, set())
        if mine and subs.reseller_feature_keys is not None:
            reseller_keys = subs.reseller_feature_keys
        reseller_fees = self.reseller_fees[company.reseller_id]
        if mine and subs.reseller_fees is not None:
            reseller_fees = subs.reseller_fees
        excluded = self.excluded.get(company.pk, set()) | subs.excluded_removed.get(
            company.pk, set()
        )
        direct = self.direct.get(company.pk, set()) | subs.direct_removed.get(company.pk, set())
        own_limits = None
        if company.plan_snapshot_id is not None:
            # As companies.selectors presents it: the snapshot's features less the
            # exclusions are direct, its limits are written over the company's own.
            snapshot_keys = self.snapshot_keys.get(company.plan_snapshot_id, set())
            direct = direct | (snapshot_keys - excluded)
            own_limits = {
                **company.own_limits,
                **self.snapshot_limits.get(company.plan_snapshot_id, {}),
            }
        return entitlements_body(
            company=company,
            plan=plan,
            excluded=excluded if plan else set(),
            direct=direct,
            reseller_keys=reseller_keys,
            reseller_fees=reseller_fees,
            own_fees=self.own_fees.get(company.pk, {"schedule": [], "blended": {}}),
            limits_catalog=(
                self.limits_catalog if subs.limits_catalog is None else subs.limits_catalog
            ),
            own_limits=own_limits,
        )
