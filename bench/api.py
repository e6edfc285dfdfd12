"""Benchmark: the REST API's hot paths against `partnerhub serve`, with wrk on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.api
    ... --resellers 100 --companies 100 --items 2 --duration 10 --rounds 3 --connections 32
    ... --cache redis://127.0.0.1:6379/14      # the shared cache instead of local memory

Builds a scratch PostgreSQL database `bench_api` (`partnerhub seed`: resellers x
companies = 10,000 companies by default), mints a platform key (`partnerhub apikey
create --platform`), starts `partnerhub serve --workers N` in production mode, and
drives it with wrk (installed with apt-get when missing) at 32 connections:

- ceiling: GET /api/v1/ping — a constant JSON body through the same stack, auth included;
- GET /api/v1/companies/{id}/entitlements, cache warm, over 200 companies;
- the same with If-None-Match (304);
- GET /api/v1/plans?limit=50 (a page of 50 plans, each with its counts and company names);
- POST /api/v1/companies/{id}/sale-items (fees computed and stored, audit row written).

Every scenario runs after a warm-up, in the same run and server configuration; the
scenarios are interleaved over several rounds and each figure is the median of its
rounds, so a change in the machine's load between scenarios does not decide a ratio.
Targets: entitlements >= 0.7 x the ceiling's requests/s with p99 <= 25 ms; plans page
p99 <= 60 ms; no error over the whole run. Results are printed and written to
data/bench/api.json; docs/benchmarks.md ("## REST API") holds the figures of record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    OUTPUT_DIR,
    ROOT,
    django_env,
    machine,
    manage,
    output_path,
    scratch_database_url,
    write_result,
)

DB_NAME = "bench_api"
ROTATION = 200  # companies the entitlement and sale-item scenarios cycle through
TARGET_ENTITLEMENTS_RATIO = 0.7
TARGET_ENTITLEMENTS_P99_MS = 25.0
TARGET_PLANS_P99_MS = 60.0

# wrk script: cycle through prepared requests; report the figures as one JSON line.
WRK_SCRIPT = """
local requests = {}
local i = 0
init = function(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local method, path, etag, body = line:match("^(%S+)\\t(%S+)\\t(%S*)\\t(.*)$")
    local headers = {}
    headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
    if etag ~= "" then headers["If-None-Match"] = etag end
    if body ~= "" then headers["Content-Type"] = "application/json" end
    table.insert(requests, wrk.format(method, path, headers, body ~= "" and body or nil))
  end
  i = math.random(#requests)
end
request = function()
  i = i % #requests + 1
  return requests[i]
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


@dataclass
class Result:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int


def _ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def _platform_key(url: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "django", "apikey", "create", "--platform", "--name", "bench"],
        env=django_env(url),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


def _server_env(url: str, cache_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        PARTNERHUB_DEV="0",  # production mode: DEBUG off, real secret key
        DEBUG="0",
        DJANGO_SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_COOKIES="0",
        CACHE_URL=cache_url,
        PARTNERHUB_DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
    )
    return env


def _start_server(env: dict[str, str], port: int, serve_args: list[str]) -> subprocess.Popen[bytes]:
    log = open(output_path("api-server.log"), "wb")  # noqa: SIM115
    cmd = [sys.executable, "-m", "partnerhub.cli", "serve", "--port", str(port), *serve_args]
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _free_port() -> int:
    """A port nobody listens on. (granian binds with SO_REUSEPORT: a busy fixed port would
    silently share the load with somebody else's server.)"""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _call(base: str, key: str, path: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        base + path, headers={"Authorization": f"Bearer {key}", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, json.loads(response.read() or b"null")


def _wait_ready(base: str, key: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("partnerhub serve exited; see data/bench/api-server.log")
        try:
            if _call(base, key, "/api/v1/ping")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit("partnerhub serve did not answer within 120 s")


def _requests_file(lines: list[tuple[str, str, str, str]]) -> str:
    handle = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)  # noqa: SIM115
    with handle:
        for method, path, etag, body in lines:
            handle.write(f"{method}\t{path}\t{etag}\t{body}\n")
    return handle.name


def _wrk(
    wrk: str, base: str, key: str, requests: str, *, seconds: int, connections: int
) -> dict[str, Any]:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    with script:
        script.write(WRK_SCRIPT)
    env = {**os.environ, "BENCH_KEY": key, "BENCH_REQUESTS": requests}
    threads = min(connections, max(1, (os.cpu_count() or 2)))
    out = subprocess.run(
        # A slow answer is measured as latency, not dropped as a client-side timeout.
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            script.name,
            base,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))  # type: ignore[no-any-return]


def _scenario(name: str, raw: dict[str, Any]) -> Result:
    seconds = raw["duration_us"] / 1e6
    return Result(
        name=name,
        requests=raw["requests"],
        rps=round(raw["requests"] / seconds, 1),
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        max_ms=round(raw["max_us"] / 1000, 2),
        errors=raw["status_errors"] + raw["socket_errors"],
    )


def _median(runs: list[Result]) -> Result:
    """Each figure's median over the rounds; errors are summed."""

    def mid(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    return Result(
        name=runs[0].name,
        requests=sum(r.requests for r in runs),
        rps=mid([r.rps for r in runs]),
        p50_ms=mid([r.p50_ms for r in runs]),
        p99_ms=mid([r.p99_ms for r in runs]),
        max_ms=max(r.max_ms for r in runs),
        errors=sum(r.errors for r in runs),
    )


def _scenarios(base: str, key: str) -> dict[str, list[tuple[str, str, str, str]]]:
    companies = _call(base, key, f"/api/v1/companies?limit={ROTATION}")[2]["items"]
    ids = [c["id"] for c in companies]
    entitlements = [f"/api/v1/companies/{i}/entitlements" for i in ids]
    etags = [_call(base, key, path)[1]["ETag"] for path in entitlements]
    sale_item = json.dumps(
        {"name": "Bench GA", "currency": "GBP", "fee_type": "ticket", "price_minor": 2000}
    )
    return {
        "ceiling: GET /api/v1/ping": [("GET", "/api/v1/ping", "", "")],
        "GET …/entitlements (cache warm)": [("GET", p, "", "") for p in entitlements],
        "GET …/entitlements + If-None-Match (304)": [
            ("GET", p, tag, "") for p, tag in zip(entitlements, etags, strict=True)
        ],
        "GET /api/v1/plans?limit=50": [("GET", "/api/v1/plans?limit=50", "", "")],
        "POST …/sale-items": [
            ("POST", f"/api/v1/companies/{i}/sale-items", "", sale_item) for i in ids
        ],
    }


def _verdict(results: dict[str, Result]) -> dict[str, Any]:
    ceiling = results["ceiling: GET /api/v1/ping"]
    warm = results["GET …/entitlements (cache warm)"]
    not_modified = results["GET …/entitlements + If-None-Match (304)"]
    plans = results["GET /api/v1/plans?limit=50"]
    ratio = round(warm.rps / ceiling.rps, 2)
    ratio_304 = round(not_modified.rps / ceiling.rps, 2)
    errors = sum(r.errors for r in results.values())
    return {
        "entitlements_ratio": ratio,
        "entitlements_304_ratio": ratio_304,
        "entitlements_ratio_ok": ratio >= TARGET_ENTITLEMENTS_RATIO,
        "entitlements_p99_ok": max(warm.p99_ms, not_modified.p99_ms) <= TARGET_ENTITLEMENTS_P99_MS,
        "plans_p99_ok": plans.p99_ms <= TARGET_PLANS_P99_MS,
        "errors": errors,
        "errors_ok": errors == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--resellers", type=int, default=100)
    parser.add_argument("--companies", type=int, default=100, help="per reseller")
    parser.add_argument("--items", type=int, default=2, help="sale items per company")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="partnerhub serve --workers")
    parser.add_argument("--threads", type=int, default=None, help="partnerhub serve --threads")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--cache", default="locmem://", help="CACHE_URL of the server")
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench_api")
    args = parser.parse_args()

    wrk = _ensure_wrk()
    data_dir = OUTPUT_DIR / "api"
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.reuse:
        base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        url = f"{base_url.rsplit('/', 1)[0]}/{DB_NAME}"
        manage(url, "migrate", "--verbosity", "0")
    else:
        url = scratch_database_url("postgres", DB_NAME)
        manage(url, "migrate", "--verbosity", "0")
        seconds = manage(
            url, "seed", "--resellers", str(args.resellers), "--companies", str(args.companies),
            "--items", str(args.items),
        )  # fmt: skip
        print(f"seeded {args.resellers * args.companies} companies in {seconds:.0f} s")
    key = _platform_key(url)
    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    serve_args = []  # partnerhub serve's own defaults unless asked otherwise
    if args.workers is not None:
        serve_args += ["--workers", str(args.workers)]
    if args.threads is not None:
        serve_args += ["--threads", str(args.threads)]
    server = _start_server(_server_env(url, args.cache, data_dir), port, serve_args)
    rounds: dict[str, list[Result]] = {}
    single: dict[str, Result] = {}
    load_before = os.getloadavg()
    try:
        _wait_ready(base, key, server)
        scenarios = {name: _requests_file(lines) for name, lines in _scenarios(base, key).items()}
        # Rounds interleave the scenarios, so a drift in the machine's load hits them alike.
        for round_no in range(1, args.rounds + 1):
            for name, requests in scenarios.items():
                _wrk(wrk, base, key, requests, seconds=args.warmup, connections=args.connections)
                raw = _wrk(
                    wrk, base, key, requests, seconds=args.duration, connections=args.connections
                )
                rounds.setdefault(name, []).append(_scenario(name, raw))
                print(f"round {round_no}:", json.dumps(asdict(rounds[name][-1])))
        # Then one connection at a time: each request's own cost, without queueing.
        for name, requests in scenarios.items():
            raw = _wrk(wrk, base, key, requests, seconds=args.duration, connections=1)
            single[name] = _scenario(name, raw)
            print("1 connection:", json.dumps(asdict(single[name])))
    finally:
        _stop_server(server)
    results = {name: _median(runs) for name, runs in rounds.items()}
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "database": "PostgreSQL",
        "companies": args.resellers * args.companies,
        "server": f"partnerhub serve {' '.join(serve_args) or '(defaults)'} (granian, WSGI), "
        f"CACHE_URL={args.cache}",
        "load": f"wrk, {args.connections} connections, {args.duration} s per scenario "
        f"after {args.warmup} s warm-up, loopback; median of {args.rounds} interleaved rounds",
        "rounds": args.rounds,
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "results": [asdict(r) for r in results.values()],
        "all_rounds": {name: [asdict(r) for r in runs] for name, runs in rounds.items()},
        "one_connection": [asdict(r) for r in single.values()],
        "verdict": _verdict(results),
        "one_connection_ratios": {
            "entitlements": round(
                single["GET …/entitlements (cache warm)"].rps
                / single["ceiling: GET /api/v1/ping"].rps,
                2,
            ),
            "entitlements_304": round(
                single["GET …/entitlements + If-None-Match (304)"].rps
                / single["ceiling: GET /api/v1/ping"].rps,
                2,
            ),
        },
    }
    suffix = "" if args.cache.startswith("locmem") else "-" + args.cache.split(":", 1)[0]
    out = write_result(f"api{suffix}", report)
    print(json.dumps({**report["verdict"], **report["one_connection_ratios"]}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
