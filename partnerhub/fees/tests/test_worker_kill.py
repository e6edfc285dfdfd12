"""A real worker SIGKILLed mid-job; another worker finishes it with exact fees and counts.

Everything runs in subprocesses against a database of the test's own, because the
worker must open the same database from its process: a file SQLite database always,
and a scratch PostgreSQL database too when DATABASE_URL points at PostgreSQL
(fees/tests/processes.py::scratch_db), so the kill is exercised on both engines.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from partnerhub.fees.arithmetic import gateway_fee, reseller_fee
from partnerhub.ops.management.commands.seed import GATEWAY
from partnerhub.testing.processes import (
    Db,
    run_django,
    start_process,
    subprocess_env,
    wait_for,
)

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
from partnerhub.fees.recalc import run as recalc
real = recalc.recalculate_items
def held_open(*args, **kwargs):
    count = real(*args, **kwargs)
    time.sleep(0.3)
    return count
recalc.recalculate_items = held_open
from django.core.management import call_command
call_command("worker", "--no-startup-delay")
"""


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
    db = Db(scratch_db)
    env = subprocess_env(
        scratch_db, tmp_path, RECALC_CHUNK_COMPANIES=str(CHUNK), RECALC_STALE_SECONDS="3"
    )
    run_django(env, "migrate", "-v0", "--skip-checks")
    run_django(env, "seed", "--companies", str(COMPANIES), "--items", str(ITEMS), "--skip-checks")
    run_django(env, "shell", "-c", EDIT_AND_ENQUEUE)

    worker_a = start_process(env, [sys.executable, "-c", SLOW_WORKER], tmp_path / "a.log")
    try:
        job = wait_for(lambda: (j := _job(db)) and j[1] >= 2 * CHUNK and j, 30, "progress")
    finally:
        worker_a.send_signal(signal.SIGKILL)
        worker_a.wait()
    killed = _job(db)
    assert killed is not None and killed[0] == "running"
    assert job[1] <= killed[1] < COMPANIES  # killed in the middle of the job
    first_task = killed[6]

    worker_b = start_process(
        env, [sys.executable, "-m", "django", "worker", "--no-startup-delay"], tmp_path / "b.log"
    )
    try:
        final = wait_for(
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
