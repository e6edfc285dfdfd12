"""Benchmark: the Python client (clients/python) against a real `partnerhub serve`.

    .venv/bin/python -m bench.client                       # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.client

Builds a scratch database (`partnerhub seed`: one reseller, one plan holding
`--companies` companies, 1,000 by default), mints a platform key and starts `partnerhub
serve` (granian + its job worker) on 127.0.0.1. Then, in the same run:

1. **Cached check against an HTTP read.** In this process a `Partnerhub` client reads one
   company's entitlements once, then times `client.entitlements(id).has("plans")`
   `--checks` times, one call per sample; and times `--reads` plain
   `GET /api/v1/companies/{id}/entitlements` over one keep-alive `httpx.Client`.
   Reported: the check's p50/p99, the read's p50/p99, and the ratio of the read's p50
   to the check's p99 (how many cached checks one HTTP read costs).
2. **Plan edit to every cache.** A receiver process (the host platform: one
   `Partnerhub` client whose webhook handler, the one its WSGI/ASGI/Django receivers
   call, sits behind http.server with keep-alive; `--receiver wsgi`: its `wsgi_app()`
   on wsgiref, one connection per delivery) reads all
   the companies' entitlements (its 1,000 subscribed caches) and registers a webhook
   endpoint for `company.entitlements_changed`. Each of `--edits` rounds PATCHes the
   plan's `team_members` limit through the API; the receiver notes when each company's
   cache took the new value. Reported: per-company latency from the PATCH's answer to
   the cache update, p50/p99/max, over every round, and the CPU seconds Partnerhub's
   processes (web + worker) and the receiver spent per round: on a shared machine the
   wall times follow the load, the CPU much less.

Targets (issue 25): the check <= 50 us p99; all 1,000 caches updated <= 5 s p99 on
PostgreSQL. Results go to data/bench/client-<db>.json; docs/benchmarks.md holds the
figures of record.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    ROOT,
    django_env,
    machine,
    manage,
    output_path,
    scratch_database_url,
    write_result,
)
from bench.webhooks import cpu_seconds

# A fresh clone has not installed the client: use it from the repository.
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

from partnerhub_client import Partnerhub


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and all its descendants (so far)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0.0
    for pid in tree:
        with contextlib.suppress(OSError):  # a process gone meanwhile
            total += cpu_seconds(pid)
    return total


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _http_server(client: Partnerhub, port: int) -> Any:
    """`WebhookHandler.handle` (what the WSGI, ASGI and Django receivers call) behind
    http.server with HTTP/1.1 keep-alive, as bench/webhooks.py receives."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    handler = client.webhooks

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            result = handler.handle(body, dict(self.headers.items()))
            self.send_response(result.status)
            self.send_header("content-length", str(len(result.body)))
            self.end_headers()
            self.wfile.write(result.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def _wsgi_server(client: Partnerhub, port: int) -> Any:
    """`client.wsgi_app()` on wsgiref (HTTP/1.0: a connection per delivery), threaded."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Threading(WSGIServer):
        def process_request(self, request: Any, client_address: Any) -> None:
            threading.Thread(target=self._one, args=(request, client_address), daemon=True).start()

        def _one(self, request: Any, client_address: Any) -> None:
            try:
                self.finish_request(request, client_address)
            finally:
                self.shutdown_request(request)

    return make_server(
        "127.0.0.1", port, client.wsgi_app(), server_class=Threading, handler_class=Quiet
    )


def _receiver(
    conn: Connection,
    base_url: str,
    key: str,
    secret: str,
    port: int,
    company_ids: list[int],
    kind: str,
) -> None:
    """The host platform's receiver process: warm every cache, serve webhooks, and note
    when each company's cache took each `team_members` value."""
    client = Partnerhub(base_url, key, webhook_secret=secret, poll_interval=None)
    for company_id in company_ids:
        client.entitlements(company_id)
    updated: dict[tuple[int, int | None], float] = {}
    lock = threading.Lock()

    def noted(payload: dict[str, Any]) -> None:
        company_id = int(payload["data"]["company_id"])
        cached = client.cache.peek(company_id)
        if cached is not None:
            with lock:
                updated.setdefault((company_id, cached.limit("team_members", None)), time.time())

    # Called after the cache took the event (a plain call, not the decorator: mypy sees
    # the client untyped before scripts/test-client installs it).
    client.on("company.entitlements_changed")(noted)
    server = _wsgi_server(client, port) if kind == "wsgi" else _http_server(client, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send("ready")
    while True:
        command = conn.recv()
        if command is None:
            break
        value, timeout = command
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with lock:
                done = sum(1 for c in company_ids if (c, value) in updated)
            if done == len(company_ids):
                break
            time.sleep(0.01)
        with lock:
            times = [updated.get((c, value)) for c in company_ids]
        right = sum(
            1
            for c in company_ids
            if (e := client.cache.peek(c)) is not None and e.limit("team_members", None) == value
        )
        conn.send((times, right))
    server.shutdown()
    client.close()


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "partnerhub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"partnerhub serve exited; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("partnerhub serve did not answer in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_db = (
        "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=default_db)
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument(
        "--receiver",
        choices=["http", "wsgi"],
        default="http",
        help="http: the handler behind http.server, keep-alive (default); "
        "wsgi: client.wsgi_app() on wsgiref, a connection per delivery",
    )
    args = parser.parse_args()

    name = f"bench_client_{args.db}"
    url = scratch_database_url(args.db, name)
    manage(url, "migrate", "-v0", "--skip-checks")
    manage(url, "seed", "--companies", str(args.companies), "--items", "0", "--skip-checks")
    env = django_env(url) | {"PARTNERHUB_WEBHOOK_ALLOW_PRIVATE": "1"}
    key_out = subprocess.run(
        [sys.executable, "-m", "partnerhub.cli", "apikey", "create", "--platform"],
        env=env,
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    key = key_out.stdout.decode().strip().splitlines()[-1]
    port = _free_port()
    log = output_path(f"{name}-serve.log")
    serve = _serve(env, port, log)
    base = f"http://127.0.0.1:{port}"
    receiver: Any = None
    try:
        admin = Partnerhub(base, key, poll_interval=None)
        reseller = admin.list_resellers(limit=1).items[0]
        admin.update_reseller(reseller.id, {"features": ["plans"]})
        plan = admin.list_plans(reseller_id=reseller.id, limit=1).items[0]
        admin.update_plan(
            plan.id, {"features": ["plans"], "version": admin.get_plan(plan.id).version}
        )
        company_ids: list[int] = []
        while len(company_ids) < args.companies:
            page = admin.list_companies(reseller_id=reseller.id, limit=200, offset=len(company_ids))
            company_ids += [c.id for c in page.items]
            if not page.items:
                break

        # 1. The cached check against an HTTP read, same run.
        company = company_ids[0]
        assert admin.entitlements(company).has("plans")
        checks: list[float] = []
        clock = time.perf_counter_ns
        for _ in range(args.checks):
            started = clock()
            admin.entitlements(company).has("plans")
            checks.append((clock() - started) / 1000)  # microseconds
        reads: list[float] = []
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as http:
            path = f"{base}/api/v1/companies/{company}/entitlements"
            for i in range(args.reads + 50):
                started = clock()
                response = http.get(path)
                elapsed = (clock() - started) / 1000
                assert response.status_code == 200
                if i >= 50:  # after warming the connection and the server's cache
                    reads.append(elapsed)

        # 2. Plan edit to every cache of a receiver process.
        receiver_port = _free_port()
        endpoint = admin.create_webhook_endpoint(
            {
                "url": f"http://127.0.0.1:{receiver_port}/",
                "reseller_id": reseller.id,
                "event_types": ["company.entitlements_changed"],
            }
        )
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        receiver = context.Process(
            target=_receiver,
            args=(child, base, key, endpoint.secret, receiver_port, company_ids, args.receiver),
            daemon=True,
        )
        receiver.start()
        assert parent.poll(300) and parent.recv() == "ready"
        time.sleep(2)  # past the one-second ordering margin of the warm-up reads
        latencies: list[float] = []
        rounds: list[dict[str, Any]] = []
        for round_ in range(args.edits):
            value = 100 + round_
            current = admin.get_plan(plan.id)
            limits = {**current.limits, "team_members": value}
            cpu_before = _tree_cpu_seconds(serve.pid), cpu_seconds(receiver.pid)
            admin.update_plan(plan.id, {"limits": limits, "version": current.version})
            committed = time.time()
            parent.send((value, 120.0))
            times, right = parent.recv()
            partnerhub_cpu = _tree_cpu_seconds(serve.pid) - cpu_before[0]
            receiver_cpu = cpu_seconds(receiver.pid) - cpu_before[1]
            got = [t - committed for t in times if t is not None]
            latencies += got
            rounds.append(
                {
                    "updated": len(got),
                    "right_value": right,
                    "p50_s": statistics.median(got) if got else None,
                    "p99_s": _percentile(got, 0.99) if got else None,
                    "max_s": max(got) if got else None,
                    "partnerhub_cpu_s": partnerhub_cpu,
                    "receiver_cpu_s": receiver_cpu,
                    "load_average": os.getloadavg()[0],
                }
            )
            time.sleep(1)
        parent.send(None)
        receiver.join(30)
        admin.close()
    finally:
        if receiver is not None and receiver.is_alive():
            receiver.terminate()
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()

    check_p50, check_p99 = _percentile(checks, 0.5), _percentile(checks, 0.99)
    read_p50, read_p99 = _percentile(reads, 0.5), _percentile(reads, 0.99)
    expected = args.companies * args.edits
    result = {
        "db": args.db,
        "machine": machine(),
        "load_average": os.getloadavg(),
        "companies": args.companies,
        "receiver": args.receiver,
        "checks": args.checks,
        "reads": args.reads,
        "check_p50_us": check_p50,
        "check_p99_us": check_p99,
        "read_p50_us": read_p50,
        "read_p99_us": read_p99,
        "read_p50_over_check_p99": read_p50 / check_p99,
        "rounds": rounds,
        "edit_to_cache_p50_s": statistics.median(latencies) if latencies else None,
        "edit_to_cache_p99_s": _percentile(latencies, 0.99) if latencies else None,
        "edit_to_cache_max_s": max(latencies) if latencies else None,
        "caches_updated": len(latencies),
        "caches_expected": expected,
    }
    out = write_result(f"client-{args.db}", result)
    p99 = result["edit_to_cache_p99_s"]
    print(
        f"""
== bench.client ({args.db}, {args.companies} companies; {machine()}; load {os.getloadavg()[0]:.1f})
cached has()      p50 {check_p50:.2f} us   p99 {check_p99:.2f} us   (target p99 <= 50 us)
HTTP entitlements p50 {read_p50:.0f} us   p99 {read_p99:.0f} us
ratio             one HTTP read (p50) = {read_p50 / check_p99:.0f} cached checks (p99)
plan edit -> {args.companies} caches, {args.edits} edits: \
p50 {result["edit_to_cache_p50_s"]:.2f} s   p99 {p99:.2f} s   \
max {result["edit_to_cache_max_s"]:.2f} s   (target p99 <= 5 s)
caches updated    {len(latencies)} of {expected}; with the right value: \
{sum(r["right_value"] for r in rounds)} of {expected}
results in {out}"""
    )


if __name__ == "__main__":
    main()
