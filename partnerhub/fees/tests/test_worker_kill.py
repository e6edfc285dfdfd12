"""A real worker SIGKILLed mid-job; another worker finishes it with exact fees and counts.

Everything runs in subprocesses against a database of the test's own (a file
SQLite database, or a scratch PostgreSQL database when DATABASE_URL points at
PostgreSQL), because the worker must open the same database from its process.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult

from partnerhub.fees.arithmetic import gateway_fee, reseller_fee
from partnerhub.fees.management.commands.seed import GATEWAY

TASK_TABLE = DBTaskResult._meta.db_table
COMPANIES, ITEMS, CHUNK = 24, 200, 2  # 12 chunks of 2 companies, 4,800 items
NEW_GBP_FEE = (400, 11, 60, 900)  # bps, fixed, min, max: the edit the job applies

EDIT_AND_ENQUEUE = f"""
from django.db import transaction
from partnerhub.core.actor import SYSTEM
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.models import FeeScheduleEntry
from partnerhub.plans.models import Plan
plan = Plan.objects.get()
with transaction.atomic():
    FeeScheduleEntry.objects.filter(schedule_id=plan.fee_schedule_id, currency="GBP").update(
        percent_bps={NEW_GBP_FEE[0]}, fixed_minor={NEW_GBP_FEE[1]},
        min_minor={NEW_GBP_FEE[2]}, max_minor={NEW_GBP_FEE[3]}, blended=True)
    recalculation_enqueue(actor=SYSTEM, reseller_id=plan.reseller_id, plan_id=plan.pk,
                          reason="kill test")
"""

# Worker A: the real worker command, with each chunk held open for a moment
# inside its transaction so the kill lands mid-job (and mostly mid-chunk).
SLOW_WORKER = """
import os, time, django
django.setup()
from partnerhub.fees import recalc
real = recalc.recalculate_items
def held_open(*args, **kwargs):
    count = real(*args, **kwargs)
    time.sleep(0.3)
    return count
recalc.recalculate_items = held_open
from django.core.management import call_command
call_command("worker", "--no-startup-delay")
"""


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
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]


@pytest.fixture
def scratch_db(tmp_path: Path) -> Iterator[str]:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'kill.sqlite3'}"
        return
    import psycopg

    name = f"{(db.get('TEST') or {}).get('NAME') or 'test'}_kill"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    server = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PARTNERHUB_DEV="1",
        DATABASE_URL=url,
        PARTNERHUB_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="partnerhub.settings",
        RECALC_CHUNK_COMPANIES=str(CHUNK),
        RECALC_STALE_SECONDS="3",
        LOG_LEVEL="WARNING",
    )
    return env


def _django(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "django", *args], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()


def _start(env: dict[str, str], argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _job(db: Db) -> tuple[Any, ...] | None:
    rows = db.rows(
        "SELECT status, companies_done, companies_total, items_done, items_total, attempts,"
        " task_id FROM fees_recalcjob"
    )
    return rows[0] if rows else None


@pytest.mark.slow
def test_worker_killed_mid_job_is_resumed_by_another_with_exact_fees_and_counts(
    scratch_db: str, tmp_path: Path
) -> None:
    db, env = Db(scratch_db), _env(scratch_db, tmp_path)
    _django(env, "migrate", "-v0", "--skip-checks")
    _django(env, "seed", "--companies", str(COMPANIES), "--items", str(ITEMS), "--skip-checks")
    _django(env, "shell", "-c", EDIT_AND_ENQUEUE)

    worker_a = _start(env, [sys.executable, "-c", SLOW_WORKER], tmp_path / "a.log")
    try:
        job = _wait_for(lambda: (j := _job(db)) and j[1] >= 2 * CHUNK and j, 30, "progress")
    finally:
        worker_a.send_signal(signal.SIGKILL)
        worker_a.wait()
    killed = _job(db)
    assert killed is not None and killed[0] == "running"
    assert job[1] <= killed[1] < COMPANIES  # killed in the middle of the job
    first_task = killed[6]

    worker_b = _start(
        env, [sys.executable, "-m", "django", "worker", "--no-startup-delay"], tmp_path / "b.log"
    )
    try:
        final = _wait_for(
            lambda: (j := _job(db)) and j[0] in ("succeeded", "failed") and j, 40, "the end"
        )
    finally:
        worker_b.send_signal(signal.SIGTERM)
        worker_b.wait(timeout=20)

    status, companies_done, companies_total, items_done, items_total, attempts, task = final
    assert status == "succeeded", (tmp_path / "b.log").read_text()
    assert (companies_done, companies_total) == (COMPANIES, COMPANIES)
    assert (items_done, items_total) == (COMPANIES * ITEMS, COMPANIES * ITEMS)
    assert attempts == 2 and task != first_task
    # The dead worker's task is retired as failed; the re-enqueued one succeeded.
    statuses = sorted(r[0] for r in db.rows(f"SELECT status FROM {TASK_TABLE}"))
    assert statuses == ["FAILED", "SUCCESSFUL"]
    items = db.rows(
        "SELECT price_minor, currency, reseller_fee_minor, gateway_fee_minor, blended,"
        " fee_revision FROM fees_saleitem"
    )
    assert len(items) == COMPANIES * ITEMS
    bps, fixed, lo, hi = NEW_GBP_FEE
    gbp = [i for i in items if i[1] == "GBP"]
    assert gbp and all(
        (r, g, bool(b))
        == (reseller_fee(p, bps, fixed, lo, hi), gateway_fee(p, *GATEWAY["GBP"]), True)
        for p, _c, r, g, b, _rev in gbp
    )
    # Every item rewritten exactly once by the job (seeded at revision 1).
    assert {i[5] for i in items} == {2}
