"""Benchmark: a plan edit reaching 10,000 companies, announced by webhooks (SPEC §14).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.webhooks --db postgres --companies 10000

Builds a scratch database (`partnerhub seed`: one reseller, one plan holding every
company), starts a real `partnerhub worker` and a receiver process on 127.0.0.1 that
verifies every request with the `standardwebhooks` package, then measures:
- the edit's latency (`plan_update`, the service the API and hub call) with no endpoint
  configured, and the same edit with one endpoint (medians, same run);
- first verified delivery after the edit's commit, and all N verified deliveries;
- the worker's peak RSS (VmHWM), and the CPU seconds the worker(s) and the receiver
  spent per edit (on a shared machine the wall times depend on the load; these less).
`--workers N` starts N workers, to see how deliveries scale.
Targets (issue 15): latency ratio <= 1.2, first delivery <= 2 s, all <= 30 s,
worker peak RSS <= 200 MB. Results go to data/bench/<name>.json; docs/benchmarks.md
holds the figures of record.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    django_env,
    machine,
    manage,
    peak_rss_mb,
    scratch_database_url,
    write_result,
)


def _receive(port: int, secret: str, stats: dict[str, Synchronized[Any]]) -> None:
    """The receiver process: verify, count, remember the first and last arrival."""
    from standardwebhooks import Webhook

    hook = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                hook.verify(body, headers)
                ok = True
            except Exception:
                ok = False
            now = time.time()
            with stats["verified"].get_lock():
                if ok:
                    stats["verified"].value += 1
                else:
                    stats["bad"].value += 1
                if not stats["first"].value:
                    stats["first"].value = now
                stats["last"].value = now
            self.send_response(200 if ok else 400)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _fanouts_done() -> bool:
    from partnerhub.webhooks.models import FanOut

    return not FanOut.objects.filter(done=False).exists()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--name", default=None)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (scaling)")
    args = parser.parse_args()
    name = args.name or f"bench_hooks_{args.db}_{args.companies}"

    url = scratch_database_url(args.db, name)
    manage(url, "migrate", "-v0", "--skip-checks")
    manage(url, "seed", "--companies", str(args.companies), "--items", "0", "--skip-checks")
    env = django_env(url) | {"PARTNERHUB_WEBHOOK_ALLOW_PRIVATE": "1"}
    os.environ.update(env)
    import django

    django.setup()
    from django.db import transaction

    from partnerhub.core.actor import platform_actor
    from partnerhub.plans.models import Plan
    from partnerhub.plans.services import plan_update
    from partnerhub.webhooks.models import Delivery
    from partnerhub.webhooks.services import endpoint_create

    operator = platform_actor("bench")
    plan = Plan.objects.get(reseller__slug="bench-1")

    def edit(value: int) -> tuple[float, float]:
        """(latency in ms, commit time) of an edit that changes every company's limits.
        Both phases first let the worker and the database settle for a second (the
        previous edit's last writes, autovacuum), so neither edit pays for the other."""
        time.sleep(1)
        plan.refresh_from_db()
        started = time.perf_counter()
        with transaction.atomic():
            plan_update(
                actor=operator,
                plan_id=plan.pk,
                changes={"limits": {**plan.limits, "team_members": value}},
                version=plan.version,
            )
        committed = time.time()
        return (time.perf_counter() - started) * 1000, committed

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "django", "worker", "--no-startup-delay"], env=env, cwd=ROOT
        )
        for _ in range(args.workers)
    ]

    def workers_cpu() -> float:
        return sum(cpu_seconds(w.pid) for w in workers)

    receiver = None
    try:
        time.sleep(3)
        plain = []
        for i in range(args.repeat):
            plain.append(edit(1000 + i)[0])
            _wait(_fanouts_done, 120)  # the fan-out (events, no deliveries) is done
        endpoint = endpoint_create(
            actor=operator, reseller_id=plan.reseller_id, url=f"http://127.0.0.1:{args.port}/in"
        )
        stats = {
            "verified": multiprocessing.Value("l", 0),
            "bad": multiprocessing.Value("l", 0),
            "first": multiprocessing.Value("d", 0.0),
            "last": multiprocessing.Value("d", 0.0),
        }
        receiver = multiprocessing.Process(
            target=_receive, args=(args.port, endpoint.secret, stats), daemon=True
        )
        receiver.start()
        assert receiver.pid is not None
        time.sleep(1)
        hooked, first, total, worker_cpu, receiver_cpu = [], [], [], [], []
        for i in range(args.repeat):
            for value in stats.values():
                value.value = 0
            cpu_before = workers_cpu(), cpu_seconds(receiver.pid)
            latency, committed = edit(2000 + i)
            hooked.append(latency)
            done = _wait(lambda: stats["verified"].value >= args.companies, 300)
            first.append(stats["first"].value - committed)
            total.append((stats["last"].value - committed) if done else float("inf"))
            worker_cpu.append(workers_cpu() - cpu_before[0])
            receiver_cpu.append(cpu_seconds(receiver.pid) - cpu_before[1])
            _wait(lambda: not Delivery.objects.filter(status="pending").exists(), 60)
        worker_peak_mb = max(peak_rss_mb(w.pid) for w in workers)
        bad = stats["bad"].value
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
        if receiver is not None:
            receiver.terminate()

    result = {
        "machine": machine(),
        "db": args.db,
        "companies": args.companies,
        "workers": args.workers,
        "edit_ms_no_endpoint": statistics.median(plain),
        "edit_ms_with_endpoint": statistics.median(hooked),
        "latency_ratio": statistics.median(hooked) / statistics.median(plain),
        "first_delivery_s": [round(v, 3) for v in first],
        "all_delivered_s": [round(v, 2) for v in total],
        "worker_peak_rss_mb": round(worker_peak_mb, 1),
        # CPU seconds (all workers) until the last delivery: what a loaded machine must find.
        "worker_cpu_s": [round(v, 2) for v in worker_cpu],
        "receiver_cpu_s": [round(v, 2) for v in receiver_cpu],
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "bad_signatures": bad,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps(result, indent=2))
    write_result(name, result)


if __name__ == "__main__":
    main()
