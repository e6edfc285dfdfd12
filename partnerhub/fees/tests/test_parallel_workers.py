"""Several real worker processes finish one job together; one is SIGKILLed mid-job (#16).

Like test_worker_kill.py, everything runs in subprocesses against a database of the
test's own (a file SQLite database, and a scratch PostgreSQL one when the suite runs on
PostgreSQL). The job's first chunks are planned from its first 4 companies and the rest
while workers run those. Three workers each hold every chunk open for a moment inside its
transaction, so the kill lands mid-chunk; the job is 18 chunks bounded by items, one
company split into three pieces by item id. Afterwards: the job succeeded, counted
every item and company exactly once, every item carries the new fees and was rewritten
exactly once, and (PostgreSQL) more than one worker ran chunks.
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
from partnerhub.testing.processes import Db, run_django, start_process, subprocess_env, wait_for

TASK_TABLE = DBTaskResult._meta.db_table
COMPANIES, ITEMS, EXTRA = 16, 200, 400  # the third company gets 400 more items
CHUNK_ITEMS = 250  # one company a chunk; the 600-item company in three pieces of 200
CHUNKS = COMPANIES - 1 + 3
TOTAL = COMPANIES * ITEMS + EXTRA
WORKERS = 3
NEW_GBP_FEE = (300, 7, 40, 700)  # bps, fixed, min, max

EDIT_AND_ENQUEUE = f"""
from django.db import transaction
from partnerhub.companies.models import Company
from partnerhub.core.actor import SYSTEM
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.models import FeeScheduleEntry, SaleItem
from partnerhub.plans.models import Plan
plan = Plan.objects.get()
big = Company.objects.order_by("id")[2]
model = list(SaleItem.objects.filter(company=big).order_by("id"))
clones = []
for i in range({EXTRA}):
    item = model[i % len(model)]
    item.pk = None
    clones.append(item)
SaleItem.objects.bulk_create(clones)  # copies: priced as their originals
with transaction.atomic():
    FeeScheduleEntry.objects.filter(schedule_id=plan.fee_schedule_id, currency="GBP").update(
        percent_bps={NEW_GBP_FEE[0]}, fixed_minor={NEW_GBP_FEE[1]},
        min_minor={NEW_GBP_FEE[2]}, max_minor={NEW_GBP_FEE[3]}, blended=True)
    recalculation_enqueue(actor=SYSTEM, reseller_id=plan.reseller_id, plan_id=plan.pk,
                          reason="parallel kill test")
"""

# The real worker command, each chunk held open inside its transaction for a moment.
SLOW_WORKER = """
import time, django
django.setup()
from partnerhub.fees.recalc import run as recalc
real = recalc.recalculate_items
def held_open(*args, **kwargs):
    count = real(*args, **kwargs)
    time.sleep(0.25)
    return count
recalc.recalculate_items = held_open
from django.core.management import call_command
call_command("worker", "--no-startup-delay", "--interval", "0.05")
"""


def _job(db: Db) -> tuple[Any, ...] | None:
    rows = db.rows(
        "SELECT status, companies_done, companies_total, items_done, items_total, attempts,"
        " worker_id FROM fees_recalcjob"
    )
    return rows[0] if rows else None


def _pid(worker_id: str) -> int:
    return int(worker_id.split(":")[1])


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["helper", "owner"])
def test_workers_share_one_job_and_survive_one_of_them_killed_mid_job(
    scratch_db: str, tmp_path: Path, victim: str
) -> None:
    db = Db(scratch_db)
    postgres = scratch_db.startswith("postgres")
    env = subprocess_env(
        scratch_db,
        tmp_path,
        RECALC_CHUNK_ITEMS=str(CHUNK_ITEMS),
        RECALC_STALE_SECONDS="3",
        # The first 5 chunks come from the first 4 companies; the owner plans the rest
        # while the others run them.
        RECALC_PLAN_AHEAD_COMPANIES="4",
    )
    run_django(env, "migrate", "-v0", "--skip-checks")
    run_django(env, "seed", "--companies", str(COMPANIES), "--items", str(ITEMS), "--skip-checks")
    run_django(env, "shell", "-c", EDIT_AND_ENQUEUE)

    workers = [
        start_process(env, [sys.executable, "-c", SLOW_WORKER], tmp_path / f"w{i}.log")
        for i in range(WORKERS)
    ]
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
        job = _job(db)
        assert job is not None and job[0] == "running" and job[1] < COMPANIES, logs()
        owner = _pid(job[6])
        assert busy <= pids and owner in pids
        helpers = (busy - {owner}) or (pids - {owner})
        target = owner if victim == "owner" else min(helpers)
        killed = next(w for w in workers if w.pid == target)
        killed.send_signal(signal.SIGKILL)
        killed.wait()

        final = wait_for(
            lambda: (j := _job(db)) and j[0] in ("succeeded", "failed") and j, 90, "the end"
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)

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

    items = db.rows(
        "SELECT price_minor, currency, reseller_fee_minor, gateway_fee_minor, blended,"
        " fee_revision FROM fees_saleitem"
    )
    assert len(items) == TOTAL
    bps, fixed, lo, hi = NEW_GBP_FEE
    gbp = [i for i in items if i[1] == "GBP"]
    assert gbp and all(
        (r, g, bool(b))
        == (reseller_fee(p, bps, fixed, lo, hi), gateway_fee(p, *GATEWAY["GBP"]), True)
        for p, _c, r, g, b, _rev in gbp
    )
    # Every item rewritten exactly once by the job (seeded, or cloned, at revision 1).
    assert {i[5] for i in items} == {2}
