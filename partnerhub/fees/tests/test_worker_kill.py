"""A real worker SIGKILLed mid-job; another worker finishes it with exact fees and counts.

Everything runs in subprocesses against a database of the test's own, because the
worker must open the same database from its process: a file SQLite database always,
and a scratch PostgreSQL database too when DATABASE_URL points at PostgreSQL
(fees/tests/conftest.py::scratch_db), so the kill is exercised on both engines.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from partnerhub.testing.processes import (
    CHUNK_STATEMENT,
    Db,
    assert_every_item_repriced_once,
    job_row,
    plan_fee_edit,
    run_django,
    seeded_env,
    slowed_worker,
    start_process,
    stop_all,
    wait_for,
)

TASK_TABLE = DBTaskResult._meta.db_table
COMPANIES, ITEMS, CHUNK = 24, 200, 2  # 12 chunks of 2 companies, 4,800 items
NEW_GBP_FEE = (400, 11, 60, 900)  # bps, fixed, min, max: the edit the job applies


@pytest.mark.slow
def test_worker_killed_mid_job_is_resumed_by_another_with_exact_fees_and_counts(
    scratch_db: str, tmp_path: Path
) -> None:
    db = Db(scratch_db)
    env = seeded_env(
        scratch_db,
        tmp_path,
        companies=COMPANIES,
        items=ITEMS,
        RECALC_CHUNK_COMPANIES=str(CHUNK),
        RECALC_STALE_SECONDS="3",
    )
    run_django(env, "shell", "-c", plan_fee_edit(NEW_GBP_FEE, "kill test"))

    # Worker A: the real worker command, each chunk held open for a moment inside its
    # transaction so the kill lands mid-job (and mostly mid-chunk).
    worker_a = start_process(env, slowed_worker(*CHUNK_STATEMENT, 0.3), tmp_path / "a.log")
    try:
        job = wait_for(
            lambda: (j := job_row(db, "task_id")) and j[1] >= 2 * CHUNK and j, 30, "progress"
        )
    finally:
        stop_all([worker_a], signal.SIGKILL)
    killed = job_row(db, "task_id")
    assert killed is not None and killed[0] == "running"
    assert job[1] <= killed[1] < COMPANIES  # killed in the middle of the job
    first_task = killed[6]

    worker_b = start_process(
        env, [sys.executable, "-m", "django", "worker", "--no-startup-delay"], tmp_path / "b.log"
    )
    try:
        final = wait_for(
            lambda: (j := job_row(db, "task_id")) and j[0] in ("succeeded", "failed") and j,
            40,
            "the end",
        )
    finally:
        stop_all([worker_b], timeout=20)

    status, companies_done, companies_total, items_done, items_total, attempts, task = final
    assert status == "succeeded", (tmp_path / "b.log").read_text()
    assert (companies_done, companies_total) == (COMPANIES, COMPANIES)
    assert (items_done, items_total) == (COMPANIES * ITEMS, COMPANIES * ITEMS)
    assert attempts == 2 and task != first_task
    # The dead worker's task is retired as failed; the re-enqueued one succeeded.
    statuses = sorted(r[0] for r in db.rows(f"SELECT status FROM {TASK_TABLE}"))
    assert statuses == ["FAILED", "SUCCESSFUL"]
    assert_every_item_repriced_once(db, COMPANIES * ITEMS, NEW_GBP_FEE)
