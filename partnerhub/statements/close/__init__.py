"""Closing statements (SPEC §15, issue #24 "Lifecycle"): a chunked, resumable job over
every company, claimed by every worker, that survives SIGKILL with nothing closed twice.

- planning.py: the job's cutoff (period end + PARTNERHUB_STATEMENT_GRACE_HOURS), its
  chunks (company id ranges) and the months whose reseller statements it closes;
- claim.py: a job's owner and heartbeat, and chunks handed out by row locks
  (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the writer lock on SQLite);
- run.py: a chunk's statements, its done mark and the job's counters in ONE transaction;
  after the last chunk, the reseller statements and the job's end in another;
- schedule.py: starting jobs (the CLI; the worker when a period's grace has passed,
  deduplicated) and re-enqueuing those whose worker died; tasks.py: the job's task,
  tasks_table.py: its rows in the task table;
- progress.py: companies done of total, chunks, statements closed.

The statements themselves are the engine's (statements/services.py): it numbers them,
freezes them and announces `statement.closed`, inside the chunk's transaction.
"""

from __future__ import annotations

from partnerhub.statements.close.planning import (
    CHUNK_COMPANIES,
    due_cutoff,
    month_cutoff,
    period_parse,
)
from partnerhub.statements.close.progress import CloseProgress, close_job_progress
from partnerhub.statements.close.run import close_job_help, close_job_run
from partnerhub.statements.close.schedule import (
    close_job_enqueue_due,
    close_job_recover_stale,
    close_job_start,
    close_jobs_tick,
)

__all__ = [
    "CHUNK_COMPANIES",
    "CloseProgress",
    "close_job_enqueue_due",
    "close_job_help",
    "close_job_progress",
    "close_job_recover_stale",
    "close_job_run",
    "close_job_start",
    "close_jobs_tick",
    "due_cutoff",
    "month_cutoff",
    "period_parse",
]
