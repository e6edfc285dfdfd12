"""Benchmark: usage metering (SPEC §13) against `partnerhub serve`, with wrk on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.usage
    ... --companies 1000 --events-per-company 10000 --duration 10 --rounds 3
    ... --database sqlite          # ingestion on the embedded SQLite instead

Builds a scratch database `bench_usage` (`partnerhub seed --usage-events`: 1,000
companies x 10,000 events = 10,000,000 events already stored, written set-based in SQL),
mints a platform key, starts `partnerhub serve` with its defaults in production mode and
drives it with wrk. Scenarios, interleaved over rounds (each figure the median):

- ceiling: GET /api/v1/ping;
- ingestion: POST /api/v1/usage/events, batches of 1,000 new events (ids made up by the
  wrk script, so none is a duplicate) at 4 connections;
- consume at 32 connections over the 1,000 companies;
- consume at 32 connections on one company's one limit (a hot row);
- GET /api/v1/companies/{id}/usage at 32 connections over the 1,000 companies.

In the same run, the raw baseline: the same 1,000-row batches as one multi-row INSERT
into a bare table of the same columns (no index, no constraint), over 4 connections
(PostgreSQL only), and what a durable commit costs (a one-row INSERT with
synchronous_commit on and off: the WAL flush each consume waits for). After the rounds,
the hot row's exactness: its limit is set 5,000 above its count, 32 connections consume
until refused, and the count must land exactly on the limit.

Targets (issue 14): ingestion >= 20,000 events/s and >= 0.3 x the raw INSERT (SQLite
>= 5,000 events/s); consume >= 0.5 x the ceiling with p99 <= 25 ms; hot row >= 0.25 x
the ceiling and exact; usage read >= 0.7 x the ceiling. Results go to
data/bench/usage[-sqlite].json; docs/benchmarks.md holds the figures of record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict
from typing import Any

from bench.api import (
    Result,
    _ensure_wrk,
    _free_port,
    _median,
    _platform_key,
    _requests_file,
    _scenario,
    _server_env,
    _start_server,
    _stop_server,
    _wait_ready,
    _wrk,
)
from bench.common import OUTPUT_DIR, machine, manage, scratch_database_url, write_result

DB_NAME = "bench_usage"
BATCH = 1000
INGEST_CONNECTIONS = 4
HOT_EXACTNESS_HEADROOM = 5000
TARGETS = {
    "ingest_events_per_s": 20_000,
    "ingest_events_per_s_sqlite": 5_000,
    "ingest_vs_raw_insert": 0.3,
    "consume_ratio": 0.5,
    "consume_p99_ms": 25.0,
    "hot_row_ratio": 0.25,
    "usage_read_ratio": 0.7,
}

# wrk script for ingestion: every request a new batch of BATCH events with fresh ids
# (thread id, request number, event number), spread over the companies.
INGEST_SCRIPT = """
local counter = 0
local thread_id = 0
local companies = {}
local stamp = os.getenv("BENCH_TIMESTAMP")
local run = os.getenv("BENCH_RUN")
local batch = tonumber(os.getenv("BENCH_BATCH"))
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
init = function(args)
  for id in string.gmatch(os.getenv("BENCH_COMPANIES"), "%d+") do
    table.insert(companies, id)
  end
end
request = function()
  counter = counter + 1
  local parts = {}
  for n = 1, batch do
    local company = companies[(counter * batch + n) % #companies + 1]
    parts[n] = '{"id":"b' .. run .. '-' .. tid .. '-' .. counter .. '-' .. n ..
      '","company_id":' .. company .. ',"limit":"messages","quantity":1,"timestamp":"' ..
      stamp .. '"}'
  end
  local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
  local headers = {}
  headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/usage/events", headers, body)
end
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("ingest status " .. status .. ": " .. body:sub(1, 200) .. "\\n")
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "status_errors": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def _wrk_ingest(
    wrk: str, base: str, key: str, companies: list[int], *, seconds: int, run: str
) -> dict[str, Any]:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    with script:
        script.write(INGEST_SCRIPT)
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = {
        **os.environ,
        "BENCH_KEY": key,
        "BENCH_COMPANIES": ",".join(map(str, companies)),
        "BENCH_TIMESTAMP": stamp,
        "BENCH_RUN": run,
        "BENCH_BATCH": str(BATCH),
    }
    out = subprocess.run(
        [wrk, f"-t{INGEST_CONNECTIONS}", f"-c{INGEST_CONNECTIONS}", f"-d{seconds}s",
         "--timeout", "60s", "-s", script.name, base],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))  # type: ignore[no-any-return]


def _sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    """One statement on the bench database (PostgreSQL through psycopg, SQLite directly)."""
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as lite:
            return list(lite.execute(statement).fetchall())
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement)
        return list(cur.fetchall()) if cur.description else []


def _raw_insert_rate(url: str, companies: list[int], seconds: int) -> float:
    """Events/s of plain multi-row INSERTs of the same 1,000-event batches into a bare
    table of the same columns, over INGEST_CONNECTIONS connections (PostgreSQL)."""
    import psycopg

    _sql(url, "DROP TABLE IF EXISTS bench_raw_events")
    _sql(
        url,
        "CREATE TABLE bench_raw_events (id bigserial, reseller_id bigint, event_id varchar(200),"
        " company_id bigint, limit_id bigint, quantity bigint, timestamp timestamptz,"
        " period_start date, source varchar(8), recorded_at timestamptz)",
    )
    reseller_id, limit_id = _sql(
        url,
        "SELECT c.reseller_id, l.id FROM companies_company c, catalog_limit l "
        f"WHERE c.id = {companies[0]} AND l.key = 'messages'",
    )[0]
    now = dt.datetime.now(dt.UTC)
    inserted = [0] * INGEST_CONNECTIONS
    deadline = time.monotonic() + seconds
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * BATCH)
    sql = (
        "INSERT INTO bench_raw_events (reseller_id, event_id, company_id, limit_id, quantity,"
        f" timestamp, period_start, source, recorded_at) VALUES {placeholders}"
    )

    def worker(n: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            batch_no = 0
            while time.monotonic() < deadline:
                batch_no += 1
                params: list[Any] = []
                for i in range(BATCH):
                    params += [reseller_id, f"raw-{n}-{batch_no}-{i}",
                               companies[(batch_no * BATCH + i) % len(companies)], limit_id, 1,
                               now, now.date(), "event", now]  # fmt: skip
                conn.execute(sql, params)
                inserted[n] += BATCH

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(INGEST_CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    _sql(url, "DROP TABLE bench_raw_events")
    return round(sum(inserted) / elapsed, 1)


def _commit_latency_ms(url: str, samples: int = 200) -> dict[str, float]:
    """What a durable write costs this PostgreSQL, in the same run: the median time of a
    one-row autocommit INSERT with `synchronous_commit` on (the server's setting: the
    commit waits for the WAL flush) and off (it does not); their difference is the flush
    every consume waits for (docs/benchmarks.md, what bounds each figure)."""
    import statistics

    import psycopg

    medians = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_commit_probe")
        conn.execute("CREATE TABLE bench_commit_probe (n int)")
        for mode in ("on", "off"):
            conn.execute(f"SET synchronous_commit = {mode}")
            times = []
            for n in range(samples):
                started = time.perf_counter()
                conn.execute("INSERT INTO bench_commit_probe VALUES (%s)", [n])
                times.append((time.perf_counter() - started) * 1000)
            medians[f"synchronous_commit_{mode}"] = round(statistics.median(times), 2)
        conn.execute("DROP TABLE bench_commit_probe")
    on, off = medians["synchronous_commit_on"], medians["synchronous_commit_off"]
    medians["flush"] = round(on - off, 2)
    return medians


def _prepare(url: str, args: argparse.Namespace) -> list[int]:
    manage(url, "migrate", "--verbosity", "0")
    if not args.reuse:
        seconds = manage(
            url, "seed", "--resellers", "1", "--companies", str(args.companies), "--items", "0",
            "--usage-events", str(args.events_per_company),
        )  # fmt: skip
        events = args.companies * args.events_per_company
        print(f"seeded {args.companies} companies, {events} usage events in {seconds:.0f} s")
    # Every bench company gets a high messages limit: consumes are checked, never refused.
    _sql(url, """UPDATE companies_company SET limit_overrides = '{"messages": 1000000000000}'""")
    rows = _sql(url, f"SELECT id FROM companies_company ORDER BY id LIMIT {args.companies}")
    return [int(r[0]) for r in rows]


def _scenarios(companies: list[int]) -> dict[str, list[tuple[str, str, str, str]]]:
    consume = json.dumps({"quantity": 1})
    return {
        "ceiling: GET /api/v1/ping": [("GET", "/api/v1/ping", "", "")],
        "POST …/consume (1,000 companies)": [
            ("POST", f"/api/v1/companies/{c}/usage/messages/consume", "", consume)
            for c in companies
        ],
        "POST …/consume (one hot row)": [
            ("POST", f"/api/v1/companies/{companies[0]}/usage/messages/consume", "", consume)
        ],
        "GET …/usage (1,000 companies)": [
            ("GET", f"/api/v1/companies/{c}/usage", "", "") for c in companies
        ],
    }


def _hot_used(url: str, company: int) -> int:
    rows = _sql(
        url,
        "SELECT u.used FROM usage_usagecounter u JOIN catalog_limit l ON l.id = u.limit_id "
        f"WHERE u.company_id = {company} AND l.key = 'messages' ORDER BY u.period_start DESC",
    )
    return int(rows[0][0]) if rows else 0


def _hot_row_exact(
    wrk: str, base: str, key: str, url: str, company: int, requests: str
) -> dict[str, Any]:
    """Set the hot row's limit 5,000 above its count; 32 connections consume past it (for
    at most a minute); the count must land exactly on the limit, never above."""
    limit = _hot_used(url, company) + HOT_EXACTNESS_HEADROOM
    _sql(
        url,
        f"""UPDATE companies_company SET limit_overrides = '{{"messages": {limit}}}' """
        f"WHERE id = {company}",
    )
    deadline = time.monotonic() + 60
    used = _hot_used(url, company)
    while used < limit and time.monotonic() < deadline:
        _wrk(wrk, base, key, requests, seconds=3, connections=32)
        used = _hot_used(url, company)
    print(f"hot row exactness: limit {limit}, counted {used}")
    return {"limit": limit, "counted": used, "reached": used >= limit, "exact": used <= limit}


def _paired_ratios(rounds: dict[str, list[Result]]) -> dict[str, list[float]]:
    """Each scenario's req/s over the ping ceiling of the same round. The machine's speed
    drifts by tens of percent within minutes; a ratio taken seconds apart does not carry
    that drift, a ratio of medians over several minutes does."""
    ceiling = rounds["ceiling: GET /api/v1/ping"]
    return {
        name: [round(r.rps / c.rps, 3) for r, c in zip(runs, ceiling, strict=True)]
        for name, runs in rounds.items()
        if runs is not ceiling
    }


def _verdict(results: dict[str, Result], ingest: Result, raw_rate: float | None, sqlite: bool,
             exact: dict[str, Any] | None,
             paired: dict[str, list[float]]) -> dict[str, Any]:  # fmt: skip
    ceiling = results["ceiling: GET /api/v1/ping"].rps
    consume = results["POST …/consume (1,000 companies)"]
    hot = results["POST …/consume (one hot row)"]
    read = results["GET …/usage (1,000 companies)"]
    events_per_s = ingest.rps * BATCH
    target = TARGETS["ingest_events_per_s_sqlite" if sqlite else "ingest_events_per_s"]
    verdict: dict[str, Any] = {
        "ingest_events_per_s": round(events_per_s),
        "ingest_ok": events_per_s >= target,
        "consume_ratio": round(consume.rps / ceiling, 2),
        "consume_ok": consume.rps / ceiling >= TARGETS["consume_ratio"]
        and consume.p99_ms <= TARGETS["consume_p99_ms"],
        "hot_row_ratio": round(hot.rps / ceiling, 2),
        "hot_row_ok": hot.rps / ceiling >= TARGETS["hot_row_ratio"],
        "hot_row_exact": exact,
        "usage_read_ratio": round(read.rps / ceiling, 2),
        "usage_read_ok": read.rps / ceiling >= TARGETS["usage_read_ratio"],
        # The median of the same-round ratios (see _paired_ratios), beside the ratio of
        # medians above; on a quiet machine the two agree.
        "median_round_ratio": {
            name: round(statistics.median(values), 3) for name, values in paired.items()
        },
        "errors": sum(r.errors for r in results.values()) + ingest.errors,
    }
    if raw_rate:
        verdict["raw_insert_events_per_s"] = raw_rate
        verdict["ingest_vs_raw_insert"] = round(events_per_s / raw_rate, 2)
        verdict["ingest_vs_raw_ok"] = events_per_s / raw_rate >= TARGETS["ingest_vs_raw_insert"]
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--events-per-company", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench_usage")
    args = parser.parse_args()

    wrk = _ensure_wrk()
    sqlite = args.database == "sqlite"
    data_dir = OUTPUT_DIR / "usage"
    data_dir.mkdir(parents=True, exist_ok=True)
    url = scratch_database_url(args.database, DB_NAME, reuse=args.reuse)
    companies = _prepare(url, args)
    key = _platform_key(url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_server(_server_env(url, "locmem://", data_dir), port, [])
    rounds: dict[str, list[Result]] = {}
    ingests: list[Result] = []
    raw_rates: list[float] = []
    commits: list[dict[str, float]] = []
    exact: dict[str, Any] | None = None
    load_before = os.getloadavg()
    try:
        _wait_ready(base, key, server)
        scenarios = {name: _requests_file(lines) for name, lines in _scenarios(companies).items()}
        for round_no in range(1, args.rounds + 1):
            for name, requests in scenarios.items():
                _wrk(wrk, base, key, requests, seconds=args.warmup, connections=args.connections)
                raw = _wrk(
                    wrk, base, key, requests, seconds=args.duration, connections=args.connections
                )
                rounds.setdefault(name, []).append(_scenario(name, raw))
                print(f"round {round_no}:", json.dumps(asdict(rounds[name][-1])))
            raw = _wrk_ingest(
                wrk, base, key, companies, seconds=args.duration, run=f"{time.time_ns()}"
            )
            ingests.append(_scenario("POST /api/v1/usage/events (batches of 1,000)", raw))
            print(f"round {round_no}:", json.dumps(asdict(ingests[-1])))
            if not sqlite:
                raw_rates.append(_raw_insert_rate(url, companies, args.duration))
                print(f"round {round_no}: raw INSERT {raw_rates[-1]} events/s")
                commits.append(_commit_latency_ms(url))
                print(f"round {round_no}: commit ms {json.dumps(commits[-1])}")
        exact = _hot_row_exact(
            wrk, base, key, url, companies[0], scenarios["POST …/consume (one hot row)"]
        )
    finally:
        _stop_server(server)
    results = {name: _median(runs) for name, runs in rounds.items()}
    paired = _paired_ratios(rounds)
    ingest = _median(ingests)
    raw_rate = sorted(raw_rates)[len(raw_rates) // 2] if raw_rates else None
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "database": "SQLite" if sqlite else "PostgreSQL",
        "companies": len(companies),
        "events_stored_before": args.companies * args.events_per_company,
        "server": "partnerhub serve (defaults; granian, WSGI), CACHE_URL=locmem://",
        "load": f"wrk, {args.connections} connections ({INGEST_CONNECTIONS} for ingestion), "
        f"{args.duration} s per scenario after {args.warmup} s warm-up, loopback; "
        f"median of {args.rounds} interleaved rounds",
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "results": [asdict(r) for r in [*results.values(), ingest]],
        # A one-row autocommit INSERT per round, median ms: the WAL flush bounds consume.
        "commit_latency_ms_per_round": commits,
        # Each scenario against the ping measured in the same round, seconds before it.
        "ratios_per_round": paired,
        "verdict": _verdict(results, ingest, raw_rate, sqlite, exact, paired),
    }
    out = write_result(f"usage{'-sqlite' if sqlite else ''}", report)
    print(json.dumps(report["verdict"], indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
