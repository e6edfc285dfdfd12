"""Subprocesses for tests that need real processes (workers, a server) on a database of
their own: SQLite file or scratch PostgreSQL, the helpers to start them and to read it,
and what the fee tests with real worker processes share (a plan fee edit that enqueues a
job, the job's row, the check that every item was repriced exactly once)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from partnerhub.fees.arithmetic import gateway_fee, reseller_fee
from partnerhub.ops.management.commands.seed import GATEWAY


class Db:
    """Just enough to read the scratch database from the test process."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()

    def value(self, sql: str) -> Any:
        return self.rows(sql)[0][0]


@contextmanager
def scratch_postgres(suffix: str) -> Iterator[str]:
    """A fresh PostgreSQL database beside the test database, dropped afterwards: for
    subprocesses (workers, servers) that must not share the test's transaction."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = f"{(db.get('TEST') or {}).get('NAME') or 'test'}_{suffix}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    server = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def subprocess_env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PARTNERHUB_DEV="1",
        DATABASE_URL=url,
        PARTNERHUB_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="partnerhub.settings",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def seeded_env(
    url: str, tmp_path: Path, *, companies: int, items: int, **extra: str
) -> dict[str, str]:
    """`subprocess_env` for the database at `url`, migrated and seeded (`seed`: one
    reseller, one plan, `companies` companies on it with `items` sale items each)."""
    env = subprocess_env(url, tmp_path, **extra)
    run_django(env, "migrate", "-v0", "--skip-checks")
    run_django(env, "seed", "--companies", str(companies), "--items", str(items), "--skip-checks")
    return env


def run_django(env: dict[str, str], *args: str) -> str:
    """Run a management command in a subprocess; answer what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "django", *args], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def start_process(env: dict[str, str], argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop_all(
    processes: Iterable[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, timeout: float = 30
) -> None:
    """Signal every process still running, then wait for each (signalling all first lets
    them shut down side by side)."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)
    for process in processes:
        process.wait(timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def slowed_worker(module: str, function: str, seconds: float, *worker_args: str) -> list[str]:
    """argv of the real worker command (`--no-startup-delay`, then `worker_args`) with
    `module.function` sleeping `seconds` after each call returns, still inside the
    caller's transaction: a kill then lands mid-job, and mostly mid-chunk."""
    code = f"""
import time, django
django.setup()
import {module} as patched
real = patched.{function}
def held_open(*args, **kwargs):
    result = real(*args, **kwargs)
    time.sleep({seconds})
    return result
patched.{function} = held_open
from django.core.management import call_command
call_command("worker", "--no-startup-delay", *{list(worker_args)!r})
"""
    return [sys.executable, "-c", code]


# --- Recalculation jobs run by worker processes ----------------------------------------

# Where a chunk's statement is called from: slowed there, a chunk is held open.
CHUNK_STATEMENT = ("partnerhub.fees.recalc.run", "recalculate_items")


def plan_fee_edit(new_gbp_fee: tuple[int, int, int, int], reason: str, *, clones: int = 0) -> str:
    """Code for `django shell -c`: the seeded plan's GBP fee set to `new_gbp_fee` (bps,
    fixed, min, max; blended) and its recalculation enqueued, in one transaction. With
    `clones`, the third company first gets that many more items, copies of its own (priced
    as their originals)."""
    bps, fixed, lo, hi = new_gbp_fee
    return f"""
from django.db import transaction
from partnerhub.companies.models import Company
from partnerhub.core.actor import SYSTEM
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.models import FeeScheduleEntry, SaleItem
from partnerhub.plans.models import Plan
plan = Plan.objects.get()
if {clones}:
    big = Company.objects.order_by("id")[2]
    model = list(SaleItem.objects.filter(company=big).order_by("id"))
    clones = []
    for i in range({clones}):
        item = model[i % len(model)]
        item.pk = None
        clones.append(item)
    SaleItem.objects.bulk_create(clones)
with transaction.atomic():
    FeeScheduleEntry.objects.filter(schedule_id=plan.fee_schedule_id, currency="GBP").update(
        percent_bps={bps}, fixed_minor={fixed}, min_minor={lo}, max_minor={hi}, blended=True)
    recalculation_enqueue(actor=SYSTEM, reseller_id=plan.reseller_id, plan_id=plan.pk,
                          reason={reason!r})
"""


def job_row(db: Db, last: str) -> tuple[Any, ...] | None:
    """The one job's (status, companies_done, companies_total, items_done, items_total,
    attempts, `last`), or None before it is enqueued."""
    rows = db.rows(
        "SELECT status, companies_done, companies_total, items_done, items_total, attempts,"
        f" {last} FROM fees_recalcjob"
    )
    return rows[0] if rows else None


def assert_every_item_repriced_once(
    db: Db, total: int, new_gbp_fee: tuple[int, int, int, int]
) -> None:
    """`total` items, each GBP one priced from `new_gbp_fee` and the seed's gateway fee,
    and every item rewritten exactly once by the job (seeded, or cloned, at revision 1)."""
    items = db.rows(
        "SELECT price_minor, currency, reseller_fee_minor, gateway_fee_minor, blended,"
        " fee_revision FROM fees_saleitem"
    )
    assert len(items) == total
    bps, fixed, lo, hi = new_gbp_fee
    gbp = [i for i in items if i[1] == "GBP"]
    assert gbp and all(
        (r, g, bool(b))
        == (reseller_fee(p, bps, fixed, lo, hi), gateway_fee(p, *GATEWAY["GBP"]), True)
        for p, _c, r, g, b, _rev in gbp
    )
    assert {i[5] for i in items} == {2}
