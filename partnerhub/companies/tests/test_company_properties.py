"""Property: whatever sequence of plan edits, assignments, exclusions, unlinks and deletes
happens, no company gets a feature its reseller lacks, and an unlinked company keeps
exactly what it had."""

from __future__ import annotations

import contextlib

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.companies.models import Company
from partnerhub.companies.selectors import resolve_entitlements
from partnerhub.companies.services import company_create, company_update
from partnerhub.core.errors import DomainError
from partnerhub.plans.models import Plan
from partnerhub.plans.services import plan_create, plan_delete, plan_update
from partnerhub.testing.personas import build_personas

FEATURES = ["plans", "seating", "vouchers", "api_access"]
feature_sets = st.lists(st.sampled_from(FEATURES), unique=True)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("plan_features"), st.integers(0, 1), feature_sets),
        st.tuples(st.just("assign"), st.integers(0, 2), st.integers(0, 1)),
        st.tuples(st.just("unlink"), st.integers(0, 2)),
        st.tuples(st.just("exclude"), st.integers(0, 2), feature_sets),
        st.tuples(st.just("direct"), st.integers(0, 2), feature_sets),
        st.tuples(st.just("delete_plan"), st.integers(0, 1)),
        st.tuples(st.just("reseller_drops"), st.sampled_from(FEATURES[1:])),
    ),
    min_size=1,
    max_size=12,
)


def _features(company: Company) -> set[str]:
    return resolve_entitlements(Company.objects.get(pk=company.pk)).feature_keys()


def _snapshot(company: Company) -> dict:
    ent = resolve_entitlements(Company.objects.get(pk=company.pk)).as_dict()
    return {
        "features": ent["features"] and sorted(f["key"] for f in ent["features"]),
        "limits": {k: v["value"] for k, v in ent["limits"].items()},
        "fees": ent["fees"]["schedule"],
    }


def _apply(p, plans, companies, op) -> None:
    kind = op[0]
    actor = p.admin_a
    if kind == "plan_features":
        plan = Plan.objects.get(pk=plans[op[1]].pk)
        plan_update(actor=actor, plan_id=plan.pk, version=plan.version, changes={"features": op[2]})
    elif kind == "assign":
        company_update(
            actor=actor, company_id=companies[op[1]].pk, changes={"plan_id": plans[op[2]].pk}
        )
    elif kind == "unlink":
        company = companies[op[1]]
        before = _snapshot(company)
        company_update(actor=actor, company_id=company.pk, changes={"plan_id": None})
        assert _snapshot(company) == before, "unlinking changed what the company had"
    elif kind == "exclude":
        company_update(
            actor=actor, company_id=companies[op[1]].pk, changes={"excluded_features": op[2]}
        )
    elif kind == "direct":
        company_update(
            actor=actor, company_id=companies[op[1]].pk, changes={"direct_features": op[2]}
        )
    elif kind == "delete_plan":
        on_plan = list(Company.objects.filter(plan_id=plans[op[1]].pk))
        before = {c.pk: _snapshot(c) for c in on_plan}
        plan_delete(actor=actor, plan_id=plans[op[1]].pk)
        for company in on_plan:
            assert _snapshot(company) == before[company.pk], "plan delete changed a company"
    elif kind == "reseller_drops":
        p.reseller_a.features.remove(*p.reseller_a.features.filter(key=op[1]))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_no_sequence_gives_a_feature_the_reseller_lacks_or_changes_an_unlinked_company(db, ops):
    # One savepoint per example, rolled back at its end: examples never see each other.
    with transaction.atomic():
        p = build_personas()
        plans = [
            plan_create(
                actor=p.admin_a,
                reseller_id=p.reseller_a.pk,
                data={
                    "plan_type": "usage_based",
                    "name": f"p{i}",
                    "billing_cycles": ["monthly"],
                    "prices": [{"currency": "GBP", "billing_cycle": "monthly", "amount_minor": 0}],
                    "features": ["plans", "seating"],
                    "limits": {"messages": 10 * (i + 1)},
                },
            )
            for i in range(2)
        ]
        companies = [
            company_create(
                actor=p.admin_a,
                reseller_id=p.reseller_a.pk,
                name=f"c{i}",
                plan_id=plans[i % 2].pk if i < 2 else None,
            )
            for i in range(3)
        ]
        for op in ops:
            # A rejected operation (e.g. excluding a feature not on the plan) changes nothing.
            with contextlib.suppress(DomainError):
                _apply(p, plans, companies, op)
            allowed = p.reseller_a.feature_keys()
            for company in companies:
                assert _features(company) <= allowed
        transaction.set_rollback(True)
