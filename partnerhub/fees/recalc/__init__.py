"""Running fee recalculation jobs: chunked, set-based, resumable, parallel (SPEC §6, §11).

A job covers a fixed list of companies, decided when the change that needs it commits
(fees/jobs.py, which also enqueues again a job whose worker is gone). Its steps, one
module each, each importing only the ones above it:

- `statement`: the set-based `UPDATE … FROM` that reprices a chunk's items;
- `scope`: the job's companies, fixed when it first starts, and their item counts;
- `chunks`: the chunk layout, RecalcChunk rows bounded by items (whole companies
  packed up to RECALC_CHUNK_ITEMS, a bigger company split by item id): a long scope's
  first chunks at once, the rest once its items are counted, while workers run those;
- `progress`: a chunk's counts added to the job, and the job's end (audit, event);
- `claim`: who holds a job and whether it is alive; taking a job, taking a chunk;
- `run`: the job's own task and the idle workers that join it.

Any worker claims a pending chunk (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs
one writer at a time) and, in one transaction, runs the chunk's statement, marks the
chunk done and adds its counts to the job row. So whatever kills a worker, the chunk
rows say exactly what is done: its chunk returns to pending, another worker takes it,
and nothing is counted twice.

The job's own task (`recalculation_run`) owns it: it starts it, works chunks and, once
none is left, waits for chunks other workers hold and closes the job. Idle worker
processes join running jobs (`recalculation_help`, polled by the worker command), which
is how one job spreads over several workers and machines.

The statement prices every item of the chunk's companies from its company's *current*
effective schedule (plan, own or reseller's, as Company.effective_fee_schedule_id),
with the companies locked, so any chunk that runs after an edit leaves fees reflecting
that edit, whatever scope or order jobs (or parallel chunks) run in. Why that makes
stored fees exact once the queue is empty: docs/architecture.md, "Stored fees never go
stale".
"""

from __future__ import annotations

from partnerhub.fees.recalc.chunks import TAIL_PIECES, chunk_item_cap, chunks_plan, chunks_plan_rest
from partnerhub.fees.recalc.claim import (
    MAX_ATTEMPTS,
    UNFINISHED,
    JobTakenOver,
    chunk_claim,
    job_claim,
    job_is_stale,
    job_state,
    retire_task,
    stale_cutoff,
    worker_identity,
)
from partnerhub.fees.recalc.progress import job_actor, job_finish, recalculation_announce
from partnerhub.fees.recalc.run import (
    TAIL_POLL_SECONDS,
    chunk_run,
    recalculation_help,
    recalculation_resume_all,
    recalculation_run,
)
from partnerhub.fees.recalc.scope import scope_freeze
from partnerhub.fees.recalc.statement import (
    CHUNK_PLANNER,
    company_id_filter,
    item_range_filter,
    recalculate_items,
    recalculation_sql,
)

__all__ = [
    "CHUNK_PLANNER",
    "MAX_ATTEMPTS",
    "TAIL_PIECES",
    "TAIL_POLL_SECONDS",
    "UNFINISHED",
    "JobTakenOver",
    "chunk_claim",
    "chunk_item_cap",
    "chunk_run",
    "chunks_plan",
    "chunks_plan_rest",
    "company_id_filter",
    "item_range_filter",
    "job_actor",
    "job_claim",
    "job_finish",
    "job_is_stale",
    "job_state",
    "recalculate_items",
    "recalculation_announce",
    "recalculation_help",
    "recalculation_resume_all",
    "recalculation_run",
    "recalculation_sql",
    "retire_task",
    "scope_freeze",
    "stale_cutoff",
    "worker_identity",
]
