"""Benchmark: statements (issue #24) — closing a month against one raw GROUP BY over the
same sales, the workers' memory, and a draft statement's read.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.statements --companies 10000 --sales 1000000   # the issue's scale
    .venv/bin/python -m bench.statements                 # SQLite, 1,000 companies, 100,000 sales
    ... --workers 1,2 --repeat 3 --reads 300 --chunk-companies 500
    ... --ingestion                   # also run bench/sales.py (its own figures)

PostgreSQL when DATABASE_URL is set (a scratch database beside it), else a SQLite file
under data/bench. Builds it with `partnerhub seed --companies C --items I --sales S`,
then gives every company a monthly period that is the last ended calendar month M
(anchor = M's first day) and moves 90 % of the sales into M, the rest into the open
period (so drafts have something to add up). Each round, from a clean slate (no
statement, cutoff or numbering) after VACUUM/ANALYZE and a checkpoint:
- raw: ONE `GROUP BY` over M's sales (company, currency, fee type, blended), fetched;
- engine alone: the same chunks closed by statements_close_companies one after the
  other in the bench process (no job, claim, worker or task), and the month's reseller
  statements; what the job costs beyond it is its machinery;
- close: wall time from starting a close job (close_job_start, as the CLI and the worker
  do) to its `finished_at`, run by N real `partnerhub worker` processes (idle before),
  and each worker's peak RSS (VmHWM); every company must get its statements of M (one
  per currency: its subscription's and its sales').
Then, with M closed: the median of GET /api/v1/companies/{id}/statements (the closed
statement and the current draft, computed on read) through Django's test client with a
platform key, warm, and of the selector alone. Targets (issue #24): close <= 2 x raw,
<= 200 MB per worker, draft read <= 10 ms median (PostgreSQL). Results are printed and
written to data/bench/<name>.json; docs/benchmarks.md holds the figures of record.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
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

TARGET_RATIO = 2.0
TARGET_RSS_MB = 200.0
TARGET_READ_MS = 10.0
# Share of the sales left in the open period (the drafts' content); the rest are M's.
OPEN_PERIOD_SHARE = 10  # one sale in ten


def _db_version() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SHOW server_version")
            return f"PostgreSQL {cur.fetchone()[0]}"
        cur.execute("SELECT sqlite_version()")
        return f"SQLite {cur.fetchone()[0]}"


def closing_month(now: datetime) -> date:
    """The last calendar month whose end + the grace has passed at `now`."""
    from partnerhub.statements.close.planning import grace, month_start

    current = month_start((now - grace()).date())  # its end has not passed
    return month_start(current - timedelta(days=1))


def shape(month: date, now: datetime) -> dict[str, int]:
    """Every company on a monthly period that is `month`; sales moved into it (and one in
    OPEN_PERIOD_SHARE into the open period up to now). Answers the sales of each."""
    from django.db import connection, transaction

    from partnerhub.companies.models import Company
    from partnerhub.sales.models import Sale
    from partnerhub.statements.close.planning import midnight, next_month

    start = midnight(month)
    seconds = int((midnight(next_month(month)) - start).total_seconds())
    open_start = midnight(next_month(month))
    open_seconds = max(1, int((now - open_start).total_seconds()) - 60)
    table = Sale._meta.db_table
    with transaction.atomic():
        # Created on M's first day too: a company's period chain starts at its creation.
        Company.objects.update(
            billing_anchor=month,
            billing_cycle="monthly",
            billing_currency="GBP",
            created_at=start,
        )
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                moved = "%s::timestamptz + make_interval(secs => {})"
            else:
                moved = "datetime(%s, '+' || ({}) || ' seconds')"
            cur.execute(
                f"UPDATE {table} SET late_into = NULL, timestamp = CASE"
                f" WHEN id %% {OPEN_PERIOD_SHARE} = 0"
                f" THEN {moved.format(f'(id * 7919) %% {open_seconds}')}"
                f" ELSE {moved.format(f'(id * 7919) %% {seconds}')} END",
                [
                    connection.ops.adapt_datetimefield_value(open_start),
                    connection.ops.adapt_datetimefield_value(start),
                ],
            )
    in_month = Sale.objects.filter(timestamp__gte=start, timestamp__lt=open_start).count()
    return {"sales_in_month": in_month, "sales_open_period": Sale.objects.count() - in_month}


def clean_slate() -> None:
    """No statement, line, numbering, cutoff or close job (but the guard below): each
    round closes the month from scratch."""
    from django.db import connection

    from partnerhub.sales.models import SaleCutoff
    from partnerhub.statements.models import (
        CloseChunk,
        CloseJob,
        Statement,
        StatementLine,
        StatementNumbering,
    )

    with connection.cursor() as cur:
        for model in (StatementLine, Statement, StatementNumbering, SaleCutoff, CloseChunk):
            cur.execute(f"DELETE FROM {model._meta.db_table}")
    CloseJob.objects.exclude(cutoff=_GUARD_CUTOFF).delete()


# The workers start a close job themselves when one is due (close/schedule.py): a job
# that covers a cutoff far ahead keeps them from doing so, so the bench's job is the
# only one they run.
_GUARD_CUTOFF = datetime(9000, 1, 1, tzinfo=UTC)


def guard_periodic_close() -> None:
    from django.utils import timezone

    from partnerhub.statements.models import CloseJob

    if not CloseJob.objects.filter(cutoff=_GUARD_CUTOFF).exists():
        CloseJob.objects.create(
            cutoff=_GUARD_CUTOFF, status=CloseJob.Status.SUCCEEDED, finished_at=timezone.now()
        )


def prepare() -> None:
    from django.db import connection

    from partnerhub.sales.models import Sale

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"VACUUM (ANALYZE) {Sale._meta.db_table}")
            cur.execute("ANALYZE companies_company")
            cur.execute("CHECKPOINT")
        else:
            cur.execute("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def raw_group_by(month: date) -> dict[str, Any]:
    """ONE aggregate over the month's sales: what any statement engine has to read."""
    from django.db import connection, transaction

    from partnerhub.sales.models import Sale
    from partnerhub.statements.close.planning import midnight, next_month

    ops = connection.ops
    bounds = [ops.adapt_datetimefield_value(midnight(m)) for m in (month, next_month(month))]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT company_id, currency, fee_type, blended, COUNT(*), SUM(quantity),"
            " SUM(quantity * price_minor), SUM(quantity * reseller_fee_minor),"
            f" SUM(quantity * gateway_fee_minor) FROM {Sale._meta.db_table}"
            " WHERE timestamp >= %s AND timestamp < %s"
            " GROUP BY company_id, currency, fee_type, blended",
            bounds,
        )
        rows = cur.fetchall()
    return {"seconds": time.perf_counter() - started, "groups": len(rows)}


def engine_direct(month: date, chunk_companies: int) -> float:
    """The engine without the job: the same chunks closed one after the other in this
    process (statements_close_companies, then the month's reseller statements), with no
    claim, progress, worker or task. What the job costs beyond this is its machinery."""
    from django.db import transaction
    from django.utils import timezone

    from partnerhub.companies.models import Company
    from partnerhub.statements import services
    from partnerhub.statements.close import due_cutoff

    ids = list(Company.objects.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    now = timezone.now()
    for start in range(0, len(ids), chunk_companies):
        with transaction.atomic():
            services.statements_close_companies(
                company_ids=ids[start : start + chunk_companies], cutoff=due_cutoff(now), now=now
            )
    resellers = sorted(set(Company.objects.values_list("reseller_id", flat=True)))
    services.reseller_statements_close(reseller_ids=resellers, month=month, now=now)
    return time.perf_counter() - started


def start_workers(url: str, count: int) -> list[subprocess.Popen[bytes]]:
    """`count` worker processes, idle and polling when this returns."""
    logs = [output_path(f"statements_worker_{i}.log") for i in range(count)]
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
    deadline = time.monotonic() + 120
    while not all(b"Starting worker" in log.read_bytes() for log in logs):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)
    time.sleep(1)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> list[float]:
    peaks = [peak_rss_mb(w.pid) for w in workers]
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(timeout=30)
    return peaks


def close_run(url: str, workers: int, chunk_companies: int) -> dict[str, Any]:
    from django.utils import timezone

    from partnerhub.core.actor import SYSTEM
    from partnerhub.statements.close import close_job_start, due_cutoff
    from partnerhub.statements.models import CloseChunk, CloseJob, Statement

    processes = start_workers(url, workers)
    try:
        started = timezone.now()
        job = close_job_start(
            actor=SYSTEM, cutoff=due_cutoff(started), chunk_companies=chunk_companies
        )
        # The end is the job's own finished_at (set just before its last commit), so the
        # bench looks rarely and costs the two cores next to nothing.
        while True:
            status, finished = CloseJob.objects.filter(pk=job.pk).values_list(
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
    chunks = CloseChunk.objects.filter(job=job)
    return {
        "workers": workers,
        "seconds": seconds,
        "status": job.status,
        "error": job.error,
        "companies_done": job.companies_done,
        "statements_closed": job.statements_closed,
        # One per company and currency (its subscription's, and its sales' others).
        "company_statements": Statement.objects.filter(kind="company", status="closed").count(),
        "companies_closed": Statement.objects.filter(kind="company", status="closed")
        .values("company_id")
        .distinct()
        .count(),
        "chunks": chunks.count(),
        "chunk_workers": len(set(chunks.values_list("worker_id", flat=True))),
        "peak_rss_mb": [round(p, 1) for p in peaks],
    }


def draft_reads(url: str, reads: int) -> dict[str, float]:
    """GET /api/v1/companies/{id}/statements (closed M + the draft of the open period)
    through the whole Django stack, and the selector alone; warm (each company read once
    first)."""
    from django.test import Client

    from partnerhub.companies.models import Company
    from partnerhub.core.actor import platform_actor
    from partnerhub.statements.selectors import company_statements_for_actor

    key = (
        subprocess.run(
            [sys.executable, "-m", "django", "apikey", "create", "--platform", "--name", "bench"],
            env=django_env(url),
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ids = list(Company.objects.order_by("?").values_list("pk", flat=True)[:50])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    actor = platform_actor("bench")

    def api(i: int) -> None:
        response = client.get(f"/api/v1/companies/{ids[i % len(ids)]}/statements")
        assert response.status_code == 200, response.content[:300]
        assert any(s["status"] == "draft" for s in response.json()["items"])

    def selector(i: int) -> None:
        statements = company_statements_for_actor(actor, ids[i % len(ids)])
        assert any(s.status == "draft" for s in statements)

    for i in range(len(ids)):  # warm: every company once, each way
        api(i)
        selector(i)
    return {
        "api_median_ms": median_ms(api, reads),
        "selector_median_ms": median_ms(selector, reads),
    }


def ingestion(extra: str) -> dict[str, Any]:
    """The hook for sales ingestion: bench/sales.py (the sales benchmark, with its own
    raw multi-row INSERT baseline) run in the same session; its figures are its own."""
    if not (ROOT / "bench" / "sales.py").exists():
        return {"skipped": "bench/sales.py is not in this checkout"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.sales", *shlex.split(extra)], cwd=ROOT)
    return {"returncode": done.returncode, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    default_db = (
        "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=default_db)
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--resellers", type=int, default=1, help="the companies spread over them")
    parser.add_argument("--items", type=int, default=10, help="sale items per company")
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--workers", default="1", help="worker counts, each every round (1,2)")
    parser.add_argument("--chunk-companies", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--name", default=None)
    parser.add_argument("--reuse", action="store_true", help="the database of an earlier run")
    parser.add_argument("--ingestion", action="store_true", help="also run bench/sales.py")
    parser.add_argument("--ingestion-args", default="", help="arguments for bench/sales.py")
    args = parser.parse_args()
    name = args.name or f"statements_{args.db}_{args.companies}c_{args.sales}s"

    url = scratch_database_url(args.db, name, reuse=args.reuse)
    manage(url, "migrate", "-v0", "--skip-checks")
    seed_seconds = 0.0
    if not args.reuse:
        per_reseller = max(1, args.companies // args.resellers)
        seed_seconds = manage(
            url, "seed", "--resellers", str(args.resellers), "--companies", str(per_reseller),
            "--items", str(args.items), "--sales", str(args.sales), "--skip-checks",
        )  # fmt: skip
    os.environ.update(django_env(url))
    import django

    django.setup()
    from django.utils import timezone

    from partnerhub.companies.models import Company
    from partnerhub.statements.close import CHUNK_COMPANIES

    now = timezone.now()
    month = closing_month(now)
    sales = shape(month, now)
    companies = Company.objects.count()
    guard_periodic_close()
    chunk = args.chunk_companies or CHUNK_COMPANIES

    counts = [int(n) for n in args.workers.split(",")]
    raw: list[dict[str, Any]] = []
    engine: list[float] = []
    closes: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    for _ in range(args.repeat):  # interleaved: a change in the machine's load hits both
        for n in counts:
            clean_slate()
            prepare()
            raw.append(raw_group_by(month))
            if n == counts[0]:
                clean_slate()
                prepare()
                engine.append(engine_direct(month, chunk))
            clean_slate()
            prepare()
            run = close_run(url, n, chunk)
            assert run["status"] == "succeeded", run
            assert run["companies_closed"] == companies, run
            closes[n].append(run)
            print(
                f"raw GROUP BY {raw[-1]['seconds']:.3f} s; engine alone {engine[-1]:.3f} s;"
                f" close on {n} worker(s)"
                f" {run['seconds']:.3f} s ({run['statements_closed']} statements)"
            )
    reads = draft_reads(url, args.reads)

    raw_s = statistics.median(r["seconds"] for r in raw)
    per_count = {}
    for n, runs in closes.items():
        close_s = statistics.median(r["seconds"] for r in runs)
        rss = max(max(r["peak_rss_mb"]) for r in runs)
        per_count[str(n)] = {
            "close_seconds": [round(r["seconds"], 3) for r in runs],
            "close_median_s": round(close_s, 3),
            "ratio": round(close_s / raw_s, 3),
            "job_over_engine_alone": round(close_s / statistics.median(engine), 3),
            "ratio_target_met": close_s / raw_s <= TARGET_RATIO,
            "statements_closed": runs[-1]["statements_closed"],
            "company_statements": runs[-1]["company_statements"],
            "chunks": runs[-1]["chunks"],
            "workers_that_ran_chunks": [r["chunk_workers"] for r in runs],
            "peak_rss_mb_max": rss,
            "rss_target_met": rss <= TARGET_RSS_MB,
        }
    result = {
        "name": name,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "database": _db_version(),
        "companies": companies,
        "month": month.isoformat(),
        **sales,
        "seed_seconds": round(seed_seconds, 1),
        "chunk_companies": chunk,
        "raw_seconds": [round(r["seconds"], 3) for r in raw],
        "raw_median_s": round(raw_s, 3),
        "raw_groups": raw[-1]["groups"],
        "engine_alone_seconds": [round(e, 3) for e in engine],
        "engine_alone_ratio": round(statistics.median(engine) / raw_s, 3),
        "close": per_count,
        "draft_read_api_median_ms": round(reads["api_median_ms"], 2),
        "draft_read_selector_median_ms": round(reads["selector_median_ms"], 2),
        "draft_read_target_met": reads["api_median_ms"] <= TARGET_READ_MS,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    if args.ingestion:
        result["ingestion"] = ingestion(args.ingestion_args)
    write_result(name, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
