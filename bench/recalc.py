"""Benchmark: a plan's fee recalculation job against one raw UPDATE over the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.recalc --db postgres --companies 1000 --items 1000 --workers 1,2,4
    .venv/bin/python -m bench.recalc --db sqlite --companies 1000 --items 1000
    ... --other-resellers 9   # 9,000,000 more items of other plans around the target plan

Builds a scratch database (`partnerhub seed`), then on the target plan (reseller
bench-1's plan: companies x items) measures, each after VACUUM/ANALYZE (of the items
and the rates' tables) and a checkpoint so both start from the same pages:
- raw: one `UPDATE ... FROM` over exactly the plan's items, in one transaction;
- job: wall time from enqueue (in the bench process) to the job's `finished_at` (set
  as it succeeds), run by N real `partnerhub worker` subprocesses (each `--workers`
  count in turn, started afresh and idle before the enqueue), whose peak RSS (VmHWM)
  is reported per process;
- PostgreSQL only: two raw half-`UPDATE`s at once (the issue's floor for 2 workers), and
  the job's own chunks run by two threads of the bench process without the job (what the
  job's machinery costs is the difference to the 2-worker job);
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
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.common import (
    ROOT,
    django_env,
    machine,
    manage,
    median_ms,
    output_path,
    peak_rss_mb,
    scratch_database_url,
    write_result,
)


def _prepare() -> None:
    """Same starting point for every timed run: dead rows vacuumed, stats fresh, no
    pending checkpoint work (PostgreSQL); WAL checkpointed and truncated (SQLite)."""
    from django.db import connection

    from partnerhub.fees.terms import RATES_TABLES

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("VACUUM (ANALYZE) fees_saleitem")
            # And the rates' tables: never analyzed, the small catalogs are guessed at
            # hundreds of rows and the raw UPDATE spills its hash of rates to disk.
            cur.execute("ANALYZE " + ", ".join(RATES_TABLES))
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
        cur.execute(recalculation_sql(where), [now, now, *params, *params])
        rows = cur.rowcount
        hot = None
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_stat_get_xact_tuples_hot_updated('fees_saleitem'::regclass)")
            hot = cur.fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows, "hot_rows": hot}


def raw_halves(company_ids: list[int]) -> float:
    """The floor for two workers: the same statement over each half of the companies, on
    two connections at once (what the issue measured at 0.66-0.69 x one statement)."""
    half = len(company_ids) // 2
    parts = iter((company_ids[:half], company_ids[half:]))
    lock = threading.Lock()

    def run() -> None:
        with lock:
            part = next(parts)
        raw_update(part)

    return _on_two_connections(run)


def _on_two_connections(work: Callable[[], None]) -> float:
    """Run `work` on two threads at once, each on its own database connection (closed
    after); answer the wall time until both are done."""
    from django.db import connection

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


class _Discard(Exception):
    pass


def chunk_layout(plan_id: int, reseller_id: int) -> list[tuple[list[int], Any, Any]]:
    """The chunks a job on the plan gets (companies, item range), planned in a transaction
    that is rolled back."""
    from django.db import transaction

    from partnerhub.core.actor import SYSTEM
    from partnerhub.fees import recalc
    from partnerhub.fees.jobs import recalculation_enqueue
    from partnerhub.fees.models import RecalcChunk

    layout: list[tuple[list[int], Any, Any]] = []
    try:
        with transaction.atomic():
            job = recalculation_enqueue(
                actor=SYSTEM, reseller_id=reseller_id, plan_id=plan_id, reason="bench layout"
            )
            recalc.job_claim(job.pk, "bench:0:layout")
            recalc.chunks_plan_rest(job.pk, "bench:0:layout")
            chunks = RecalcChunk.objects.filter(job=job).order_by("seq")
            layout = [(c.company_ids, c.item_id_from, c.item_id_to) for c in chunks]
            raise _Discard
    except _Discard:
        pass
    return layout


def chunks_on_two_threads(layout: list[tuple[list[int], Any, Any]]) -> float:
    """The job's chunks without the job: two threads of this process take them from a
    queue and run each as a chunk does (`recalculate_items`: its settings, company locks,
    statement, asynchronous commit), with no claim, progress, worker processes or start.
    What the 2-worker job pays beyond this is its machinery."""
    from django.db import transaction

    from partnerhub.fees.recalc import recalculate_items

    pending = list(reversed(layout))
    lock = threading.Lock()

    def run() -> None:
        while True:
            with lock:
                if not pending:
                    return
                companies, lo, hi = pending.pop()
            with transaction.atomic():
                recalculate_items(companies, item_from=lo, item_to=hi, asynchronous_commit=True)

    return _on_two_connections(run)


def start_workers(url: str, count: int) -> list[subprocess.Popen[bytes]]:
    """`count` worker processes (as `partnerhub worker --concurrency N` starts them), idle
    and polling when this returns."""
    logs = [output_path(f"recalc_worker_{i}.log") for i in range(count)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "django", "worker", "--no-startup-delay"],
            env=django_env(url),
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    # Up when each has said so (several starting at once on a loaded machine take far
    # longer than one), then a moment to connect and poll.
    deadline = time.monotonic() + 120
    while not all(b"Starting worker" in log.read_bytes() for log in logs):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)
    time.sleep(1)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> list[float]:
    """Stop them; answer each one's peak RSS in MB."""
    peaks = [peak_rss_mb(w.pid) for w in workers]
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(timeout=30)
    return peaks


def job_run(url: str, workers: int, plan_id: int, reseller_id: int) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from partnerhub.core.actor import SYSTEM
    from partnerhub.fees.jobs import recalculation_enqueue
    from partnerhub.fees.models import RecalcChunk, RecalcJob

    pg = connection.vendor == "postgresql"
    processes = start_workers(url, workers)
    try:
        before = _hot_counters() if pg else (0, 0)
        started = timezone.now()
        with transaction.atomic():
            job = recalculation_enqueue(
                actor=SYSTEM, reseller_id=reseller_id, plan_id=plan_id, reason="bench"
            )
        # The end is the job's own finished_at (set by the worker, on this machine's
        # clock, just before its last commit), so the bench can look rarely: polling
        # every 10 ms cost the two cores 100 queries/s that the raw UPDATE never pays.
        while True:
            status, finished = RecalcJob.objects.filter(pk=job.pk).values_list(
                "status", "finished_at"
            )[0]
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.25)
        assert finished is not None
        seconds = (finished - started).total_seconds()
    finally:
        peaks = stop_workers(processes)
    job.refresh_from_db()
    chunks = RecalcChunk.objects.filter(job=job)
    result = {
        "workers": workers,
        "seconds": seconds,
        "status": job.status,
        "items_done": job.items_done,
        "companies_done": job.companies_done,
        "chunks": chunks.count(),
        "chunk_workers": len(set(chunks.values_list("worker_id", flat=True))),
        "peak_rss_mb": [round(p, 1) for p in peaks],
        "hot_rows": None,
    }
    if pg:  # the workers' statistics reach the shared counters within a second or two
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
    parser.add_argument(
        "--workers",
        default="1",
        help="worker process counts to run the job with, each in every round (e.g. 1,2,4)",
    )
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

    counts = [int(n) for n in args.workers.split(",")]
    raw: list[dict[str, Any]] = []
    halves: list[float] = []
    threads: list[float] = []
    layout = chunk_layout(plan.pk, plan.reseller_id) if args.db == "postgres" else []
    jobs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    # Interleaved, each from a vacuumed table: every run sees the same page layout.
    for _ in range(args.repeat):
        _prepare()
        raw.append(raw_update(company_ids))
        if args.db == "postgres":
            _prepare()
            halves.append(raw_halves(company_ids))
            _prepare()
            threads.append(chunks_on_two_threads(layout))
            print(
                f"raw {raw[-1]['seconds']:.2f} s, two raw halves at once {halves[-1]:.2f} s,"
                f" the job's {len(layout)} chunks on two threads {threads[-1]:.2f} s"
            )
        for n in counts:
            _prepare()
            jobs[n].append(job_run(url, n, plan.pk, plan.reseller_id))
            print(f"raw {raw[-1]['seconds']:.2f} s, job on {n}: {jobs[n][-1]['seconds']:.2f} s")
    services = service_timings(company_ids[0], args.service_runs)

    raw_s = statistics.median(r["seconds"] for r in raw)
    per_count = {}
    for n, runs in jobs.items():
        job_s = statistics.median(j["seconds"] for j in runs)
        per_count[str(n)] = {
            "job_seconds": [round(j["seconds"], 3) for j in runs],
            "job_median_s": round(job_s, 3),
            "ratio": round(job_s / raw_s, 3),
            "ratio_per_round": [
                round(j["seconds"] / r["seconds"], 3) for j, r in zip(runs, raw, strict=True)
            ],
            "ratio_of_minima": round(
                min(j["seconds"] for j in runs) / min(r["seconds"] for r in raw), 3
            ),
            "hot_rows": [j["hot_rows"] for j in runs],
            "updated_rows": [j.get("updated_rows") for j in runs],
            "items_done": [j["items_done"] for j in runs],
            "status": sorted({j["status"] for j in runs}),
            "chunks": runs[-1]["chunks"],
            "workers_that_ran_chunks": [j["chunk_workers"] for j in runs],
            "peak_rss_mb_max": max(max(j["peak_rss_mb"]) for j in runs),
        }
    result = {
        "name": name,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "database": _db_version(),
        "plan_companies": len(company_ids),
        "plan_items": raw[0]["rows"],
        "table_items": total_items,
        "seed_seconds": round(seed_seconds, 1),
        "chunk_items": int(os.environ.get("RECALC_CHUNK_ITEMS", "100000")),
        "raw_seconds": [round(r["seconds"], 3) for r in raw],
        "raw_median_s": round(raw_s, 3),
        "raw_hot_rows": [r["hot_rows"] for r in raw],
        "raw_halves_seconds": [round(h, 3) for h in halves],
        "raw_halves_ratio_per_round": [
            round(h / r["seconds"], 3) for h, r in zip(halves, raw[: len(halves)], strict=True)
        ],
        "raw_halves_ratio": round(statistics.median(halves) / raw_s, 3) if halves else None,
        "chunks_on_two_threads_seconds": [round(t, 3) for t in threads],
        "chunks_on_two_threads_ratio_per_round": [
            round(t / r["seconds"], 3) for t, r in zip(threads, raw[: len(threads)], strict=True)
        ],
        "jobs": per_count,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        **{k: round(v, 3) for k, v in services.items()},
    }
    write_result(name, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
