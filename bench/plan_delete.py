"""Benchmark: deleting a plan of 10,000 companies next to one raw UPDATE of them.

SPEC §4: deleting a plan leaves its companies Custom with exactly what they had, in a
constant number of statements whatever the number of companies; the target (issue 10,
item 19) is at most 3x one raw `UPDATE companies_company SET plan_id = NULL …` of the
same companies. The companies share the deleted plan's frozen configuration
(copy-on-write, docs/architecture.md "Plan delete"); before timing, the bench checks on
a few companies (with and without an exclusion) that what they get is unchanged.

Seeds a scratch database with `partnerhub seed --resellers 1 --companies N --items 0`
(no sale items: a plan delete does not touch them), gives the plan 5 features, a value
for every limit and its 9 fee entries, and every 10th company an exclusion and a limit
override. Then, `--repeat` times and interleaved, after `VACUUM (ANALYZE)`: the raw
UPDATE and `plans.services.plan_delete`, each in a transaction that is rolled back, so
every run starts from the same rows (commit cost is left out of both).

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m
bench.plan_delete` (`--db sqlite` works too). Results are printed and written to
data/bench/plan-delete-<db>.json; docs/benchmarks.md holds the figures of record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time
from typing import Any

from bench.common import django_env, machine, manage, scratch_database_url, write_result

FEATURES = [f"bench-feature-{i}" for i in range(1, 6)]


def _dress_plan() -> Any:
    """The seeded plan with features, limits and exclusions, as a real plan would have."""
    from django.db import connection

    from partnerhub.catalog.models import Feature, Limit
    from partnerhub.companies.models import Company
    from partnerhub.plans.models import Plan

    plan = Plan.objects.select_related("reseller").get(reseller__slug="bench-1")
    features = [Feature.objects.get_or_create(key=k, defaults={"name": k})[0] for k in FEATURES]
    plan.reseller.features.add(*features, Feature.objects.get(key="plans"))
    plan.features.set(features)
    plan.limits = {key: 1000 for key in Limit.objects.values_list("key", flat=True)}
    plan.save()
    excluded = Company.excluded_features.through
    company_ids = list(Company.objects.filter(plan=plan).values_list("pk", flat=True))
    excluded.objects.bulk_create(
        [excluded(company_id=pk, feature_id=features[0].pk) for pk in company_ids[::10]],
        ignore_conflicts=True,
    )
    Company.objects.filter(pk__in=company_ids[::10]).update(limit_overrides={"team_members": 9})
    with connection.cursor() as cur:
        cur.execute("ANALYZE" if connection.vendor != "postgresql" else "VACUUM (ANALYZE)")
    return plan


def _prepare() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for table in (
                "companies_company",
                "companies_company_direct_features",
                "companies_company_excluded_features",
                "fees_feescheduleentry",
            ):
                cur.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cur.execute("ANALYZE")


def _rolled_back_ms(fn: Any) -> float:
    from django.db import transaction

    with transaction.atomic():
        started = time.perf_counter_ns()
        fn()
        elapsed = (time.perf_counter_ns() - started) / 1e6
        transaction.set_rollback(True)
    return elapsed


def _check_entitlements_kept(plan: Any, actor: Any) -> None:
    """The delete being timed keeps what every kind of company gets (rolled back)."""
    from django.db import transaction

    from partnerhub.companies.models import Company
    from partnerhub.companies.selectors import resolve_entitlements
    from partnerhub.plans.services import plan_delete

    def kept(pk: int) -> dict[str, Any]:
        body = resolve_entitlements(Company.objects.get(pk=pk)).as_dict()
        return {
            "features": sorted(f["key"] for f in body["features"]),
            "limits": {k: v["value"] for k, v in body["limits"].items()},
            "fees": [body["fees"]["schedule"], body["fees"]["blended"]],
        }

    on_plan = Company.objects.filter(plan=plan).order_by("pk")
    sample = [
        *on_plan.filter(excluded_features__isnull=False).values_list("pk", flat=True)[:2],
        *on_plan.filter(excluded_features__isnull=True).values_list("pk", flat=True)[:2],
    ]
    assert len(sample) == 4
    before = {pk: kept(pk) for pk in sample}
    with transaction.atomic():
        plan_delete(actor=actor, plan_id=plan.pk)
        assert {pk: kept(pk) for pk in sample} == before, "a company lost what it had"
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    url = scratch_database_url(args.db, f"bench_plan_delete_{args.db}")
    manage(url, "migrate", "-v0", "--skip-checks")
    seed_seconds = manage(
        url, "seed", "--resellers", "1", "--companies", str(args.companies), "--items", "0"
    )
    os.environ.update(django_env(url))
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerhub.companies.models import Company
    from partnerhub.core.actor import platform_actor
    from partnerhub.plans.services import plan_delete

    plan = _dress_plan()
    actor = platform_actor("bench")
    raw_sql = (
        f"UPDATE {Company._meta.db_table} SET plan_id = NULL, updated_at = %s WHERE plan_id = %s"
    )

    def raw_update() -> None:
        with connection.cursor() as cur:
            cur.execute(raw_sql, [dt.datetime.now(dt.UTC), plan.pk])
            assert cur.rowcount == args.companies

    def service_delete() -> None:
        plan_delete(actor=actor, plan_id=plan.pk)
        assert not Company.objects.filter(plan_id=plan.pk).exists()

    _check_entitlements_kept(plan, actor)
    raw, service, statements = [], [], 0
    for _ in range(args.repeat):
        _prepare()
        raw.append(_rolled_back_ms(raw_update))
        _prepare()
        with CaptureQueriesContext(connection) as ctx:
            service.append(_rolled_back_ms(service_delete))
        statements = len(ctx.captured_queries)
    raw_ms, service_ms = statistics.median(raw), statistics.median(service)
    result = {
        "db": args.db,
        "companies": args.companies,
        "repeat": args.repeat,
        "raw_update_ms": round(raw_ms, 1),
        "plan_delete_ms": round(service_ms, 1),
        "ratio": round(service_ms / raw_ms, 2),
        "target_ratio": 3,
        "plan_delete_statements": statements,
        "raw_update_runs_ms": [round(x, 1) for x in raw],
        "plan_delete_runs_ms": [round(x, 1) for x in service],
        "seed_seconds": round(seed_seconds, 1),
        "machine": machine(),
        "python": platform.python_version(),
        "server_version": getattr(connection, "pg_version", None),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    write_result(f"plan-delete-{args.db}", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
