"""Benchmark: a plan's fee recalculation job against one raw UPDATE over the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.recalc --db postgres --companies 1000 --items 1000
    .venv/bin/python -m bench.recalc --db sqlite --companies 1000 --items 1000
    ... --other-resellers 9   # 9,000,000 more items of other plans around the target plan

Builds a scratch database (`partnerhub seed`), then on the target plan (reseller
bench-1's plan: companies x items) measures, each after VACUUM/ANALYZE and a
checkpoint so both start from the same pages:
- raw: one `UPDATE ... FROM` over exactly the plan's items, in one transaction;
- job: wall time from enqueue (in the bench process) to `succeeded`, run by a
  real `partnerhub worker` subprocess, whose peak RSS (VmHWM) is reported;
- HOT updates (PostgreSQL): share of the rewritten rows that were HOT;
- single-item create / edit and a fee quote through the service layer (medians).
Results are printed and written to data/bench/<name>.json; docs/benchmarks.md
holds the figures of record.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.common import (
    ROOT,
    django_env,
    machine,
    manage,
    median_ms,
    peak_rss_mb,
    scratch_database_url,
    write_result,
)


def _prepare() -> None:
    """Same starting point for every timed run: dead rows vacuumed, stats fresh, no
    pending checkpoint work (PostgreSQL); WAL checkpointed and truncated (SQLite)."""
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("VACUUM (ANALYZE) fees_saleitem")
            cur.execute("CHECKPOINT")
        else:
            cur.execute("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _hot_counters() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname = 'fees_saleitem'"
        )
        upd, hot = cur.fetchone()
    return int(upd), int(hot)


def raw_update(company_ids: list[int]) -> dict[str, Any]:
    """The same statement the job runs per chunk, once, over all the plan's companies."""
    from django.db import connection, transaction
    from django.utils import timezone

    from partnerhub.fees.recalc import company_id_filter, recalculation_sql

    where, params = company_id_filter(company_ids)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(recalculation_sql(where), [now, now, *params, *params, 2**62])
        rows = cur.rowcount
        hot = None
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_stat_get_xact_tuples_hot_updated('fees_saleitem'::regclass)")
            hot = cur.fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows, "hot_rows": hot}


def job_run(plan_id: int, reseller_id: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from partnerhub.core.actor import SYSTEM
    from partnerhub.fees.jobs import recalculation_enqueue
    from partnerhub.fees.models import RecalcJob

    pg = connection.vendor == "postgresql"
    before = _hot_counters() if pg else (0, 0)
    started = time.perf_counter()
    with transaction.atomic():
        job = recalculation_enqueue(
            actor=SYSTEM, reseller_id=reseller_id, plan_id=plan_id, reason="bench"
        )
    while True:
        status = RecalcJob.objects.filter(pk=job.pk).values_list("status", flat=True)[0]
        if status in ("succeeded", "failed"):
            break
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    result = {
        "seconds": seconds,
        "status": job.status,
        "items_done": job.items_done,
        "companies_done": job.companies_done,
        "hot_rows": None,
    }
    if pg:  # the worker's statistics reach the shared counters within a second or two
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            upd, hot = _hot_counters()
            if upd - before[0] >= job.items_done:
                break
            time.sleep(0.25)
        result["hot_rows"] = hot - before[1]
        result["updated_rows"] = upd - before[0]
    return result


def service_timings(company_id: int, runs: int) -> dict[str, float]:
    from partnerhub.core.actor import platform_actor
    from partnerhub.fees.services import fee_quote, sale_item_create, sale_item_update

    actor = platform_actor("bench")
    items: list[int] = []

    def create(i: int) -> None:
        data = {
            "name": f"Bench {i}",
            "currency": "GBP",
            "fee_type": "ticket",
            "price_minor": 1000 + i,
        }
        items.append(sale_item_create(actor=actor, company_id=company_id, data=data).pk)

    def edit(i: int) -> None:
        sale_item_update(actor=actor, item_id=items[i], changes={"price_minor": 5000 + i})

    def quote(i: int) -> None:
        fee_quote(
            actor=actor,
            company_id=company_id,
            currency="EUR",
            fee_type="product",
            price_minor=2000 + i,
        )

    return {
        "create_ms": median_ms(create, runs),
        "edit_ms": median_ms(edit, runs),
        "quote_ms": median_ms(quote, runs),
    }


def _db_version() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SHOW server_version")
            return f"PostgreSQL {cur.fetchone()[0]}"
        cur.execute("SELECT sqlite_version()")
        return f"SQLite {cur.fetchone()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--companies", type=int, default=1000, help="on the target plan")
    parser.add_argument("--items", type=int, default=1000, help="per company")
    parser.add_argument(
        "--other-resellers",
        type=int,
        default=0,
        help="more resellers, each with a plan of as many companies and items",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--service-runs", type=int, default=300)
    parser.add_argument("--name", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep the database of a previous run")
    args = parser.parse_args()
    name = args.name or f"bench_{args.db}_{args.companies}x{args.items}_o{args.other_resellers}"

    url = scratch_database_url(args.db, name, reuse=args.reuse)
    manage(url, "migrate", "-v0", "--skip-checks")
    seed_seconds = 0.0
    if not args.reuse:
        seed_seconds = manage(
            url,
            "seed",
            "--resellers",
            str(1 + args.other_resellers),
            "--companies",
            str(args.companies),
            "--items",
            str(args.items),
            "--skip-checks",
        )
    os.environ.update(django_env(url))
    import django

    django.setup()
    from partnerhub.companies.models import Company
    from partnerhub.fees.models import SaleItem
    from partnerhub.plans.models import Plan

    plan = Plan.objects.get(reseller__slug="bench-1")
    company_ids = list(
        Company.objects.filter(plan=plan, use_plan_fees=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    total_items = SaleItem.objects.count()

    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "worker", "--no-startup-delay"],
        env=django_env(url),
        cwd=ROOT,
    )
    raw, jobs = [], []
    try:
        time.sleep(3)  # the worker is up and polling
        # Interleaved, each from a vacuumed table: both see the same page layout.
        for _ in range(args.repeat):
            _prepare()
            raw.append(raw_update(company_ids))
            _prepare()
            jobs.append(job_run(plan.pk, plan.reseller_id))
        worker_peak_mb = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    services = service_timings(company_ids[0], args.service_runs)

    raw_s = statistics.median(r["seconds"] for r in raw)
    job_s = statistics.median(j["seconds"] for j in jobs)
    raw_min, job_min = min(r["seconds"] for r in raw), min(j["seconds"] for j in jobs)
    result = {
        "name": name,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "database": _db_version(),
        "plan_companies": len(company_ids),
        "plan_items": raw[0]["rows"],
        "table_items": total_items,
        "seed_seconds": round(seed_seconds, 1),
        "chunk_companies": int(os.environ.get("RECALC_CHUNK_COMPANIES", "100")),
        "raw_seconds": [round(r["seconds"], 3) for r in raw],
        "job_seconds": [round(j["seconds"], 3) for j in jobs],
        "raw_median_s": round(raw_s, 3),
        "job_median_s": round(job_s, 3),
        "ratio": round(job_s / raw_s, 3),
        "raw_min_s": round(raw_min, 3),
        "job_min_s": round(job_min, 3),
        "ratio_of_minima": round(job_min / raw_min, 3),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "raw_hot_rows": raw[-1]["hot_rows"],
        "job_hot_rows": jobs[-1]["hot_rows"],
        "job_items_done": jobs[-1]["items_done"],
        "job_status": jobs[-1]["status"],
        "worker_peak_rss_mb": round(worker_peak_mb, 1),
        **{k: round(v, 3) for k, v in services.items()},
    }
    write_result(name, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
