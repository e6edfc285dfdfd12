"""Several real worker processes finish one job together; one is SIGKILLed mid-job (#16).

Like test_worker_kill.py, with its helpers (testing/processes.py), everything runs in
subprocesses against a database of the test's own (a file SQLite database, and a scratch
PostgreSQL one when the suite runs on PostgreSQL). The job's first chunks are planned
from its first 4 companies and the rest while workers run those. Three workers each hold
every chunk open for a moment inside its transaction, so the kill lands mid-chunk; the
job is 18 chunks bounded by items, one company split into three pieces by item id.
Afterwards: the job succeeded, counted every item and company exactly once, every item
carries the new fees and was rewritten exactly once, and (PostgreSQL) more than one
worker ran chunks.
"""

from __future__ import annotations

import signal
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
COMPANIES, ITEMS, EXTRA = 16, 200, 400  # the third company gets 400 more items
CHUNK_ITEMS = 250  # one company a chunk; the 600-item company in three pieces of 200
CHUNKS = COMPANIES - 1 + 3
TOTAL = COMPANIES * ITEMS + EXTRA
WORKERS = 3
NEW_GBP_FEE = (300, 7, 40, 700)  # bps, fixed, min, max


def _pid(worker_id: str) -> int:
    return int(worker_id.split(":")[1])


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["helper", "owner"])
def test_workers_share_one_job_and_survive_one_of_them_killed_mid_job(
    scratch_db: str, tmp_path: Path, victim: str
) -> None:
    db = Db(scratch_db)
    postgres = scratch_db.startswith("postgres")
    env = seeded_env(
        scratch_db,
        tmp_path,
        companies=COMPANIES,
        items=ITEMS,
        RECALC_CHUNK_ITEMS=str(CHUNK_ITEMS),
        RECALC_STALE_SECONDS="3",
        # The first 5 chunks come from the first 4 companies; the owner plans the rest
        # while the others run them.
        RECALC_PLAN_AHEAD_COMPANIES="4",
    )
    run_django(env, "shell", "-c", plan_fee_edit(NEW_GBP_FEE, "parallel kill test", clones=EXTRA))

    # The real worker command, each chunk held open inside its transaction for a moment.
    slow = slowed_worker(*CHUNK_STATEMENT, 0.25, "--interval", "0.05")
    workers = [start_process(env, slow, tmp_path / f"w{i}.log") for i in range(WORKERS)]
    logs = lambda: "\n".join(p.read_text() for p in tmp_path.glob("w*.log"))  # noqa: E731
    try:
        pids = {w.pid for w in workers}

        def chunk_workers() -> set[int]:
            done = db.rows("SELECT worker_id FROM fees_recalcchunk WHERE done")
            return {_pid(r[0]) for r in done} if len(done) >= 3 else set()

        # Wait until the job is under way (on PostgreSQL: on more than one process; on
        # SQLite one writer runs at a time, and the owner mostly wins the lock), then kill
        # one worker mid-job.
        enough = 2 if postgres else 1
        busy = wait_for(lambda: len(w := chunk_workers()) >= enough and w, 60, "progress")
        job = job_row(db, "worker_id")
        assert job is not None and job[0] == "running" and job[1] < COMPANIES, logs()
        owner = _pid(job[6])
        assert busy <= pids and owner in pids
        helpers = (busy - {owner}) or (pids - {owner})
        target = owner if victim == "owner" else min(helpers)
        killed = next(w for w in workers if w.pid == target)
        stop_all([killed], signal.SIGKILL)

        final = wait_for(
            lambda: (j := job_row(db, "worker_id")) and j[0] in ("succeeded", "failed") and j,
            90,
            "the end",
        )
    finally:
        stop_all(workers)

    status, companies_done, companies_total, items_done, items_total, attempts, _ = final
    assert status == "succeeded", logs()
    assert (companies_done, companies_total) == (COMPANIES, COMPANIES)
    assert (items_done, items_total) == (TOTAL, TOTAL)
    chunks = db.rows("SELECT done, worker_id, items_counted FROM fees_recalcchunk")
    assert len(chunks) == CHUNKS and all(c[0] for c in chunks)
    assert sorted(c[2] for c in chunks) == [200] * CHUNKS
    if postgres:
        assert len({_pid(c[1]) for c in chunks}) >= 2  # the job really was shared
    statuses = sorted(r[0] for r in db.rows(f"SELECT status FROM {TASK_TABLE}"))
    if victim == "owner":
        # The owner's task is retired as failed; a survivor took the job over.
        assert attempts == 2 and statuses == ["FAILED", "SUCCESSFUL"]
    else:
        # A helper's death needs no recovery: its chunk rolled back and was run again.
        assert attempts == 1 and statuses == ["SUCCESSFUL"]

    assert_every_item_repriced_once(db, TOTAL, NEW_GBP_FEE)
