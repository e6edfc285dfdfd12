"""Who runs a close job and its chunks: worker identities, a job's owner, staleness, and
the row locks that hand out chunks.

A job's owner is the worker whose task claimed it; it beats (`heartbeat_at`) with
every chunk that commits. Chunks are claimed by any worker with `FOR UPDATE SKIP
LOCKED` on PostgreSQL, so two workers never take the same one and a chunk held by a
killed worker is free again the moment its connection drops (its transaction, its
statements included, rolls back). SQLite runs one writer at a time (IMMEDIATE
transactions, settings.py): a claim waits for the chunk in flight to commit.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from partnerhub.fees.wakeup import recalc_wake_workers
from partnerhub.statements.close.planning import chunks_plan
from partnerhub.statements.models import CloseChunk, CloseJob

Status = CloseJob.Status
UNFINISHED = (Status.QUEUED, Status.RUNNING)


@cache
def worker_identity() -> str:
    """host:pid:nonce — the host and pid let a worker on the same machine see a dead owner."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(6)}"


def stale_after() -> timedelta:
    # The recalculation jobs' setting: one notion of "this worker is gone" for every job.
    return timedelta(seconds=settings.RECALC_STALE_SECONDS)


def owner_is_dead_here(worker_id: str) -> bool:
    """True when the owner ran on this host and its process is gone (no need to wait)."""
    host, _, rest = worker_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def job_is_stale(job: CloseJob) -> bool:
    """A running job whose owner stopped beating (or, on this host, whose process is gone)."""
    if job.status != Status.RUNNING:
        return False
    if not job.worker_id or job.heartbeat_at is None:
        return True
    if job.heartbeat_at < timezone.now() - stale_after():
        return True
    return owner_is_dead_here(job.worker_id)


def job_state(job_id: int) -> CloseJob | None:
    return (
        CloseJob.objects.filter(pk=job_id)
        .only("status", "worker_id", "heartbeat_at", "cutoff", "chunks_planned")
        .first()
    )


def job_claim(job_id: int, worker_id: str) -> CloseJob | None:
    """Take the job for this worker: a queued one, or a running one whose owner is gone.
    None when it is finished or alive on another worker."""
    with transaction.atomic():
        job = CloseJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in UNFINISHED:
            return None
        if job.status == Status.RUNNING and job.worker_id != worker_id and not job_is_stale(job):
            return None
        if not job.chunks_planned:
            chunks_plan(job)  # a job recorded without its chunks (close/schedule.py plans them)
        now = timezone.now()
        job.status = Status.RUNNING
        job.worker_id = worker_id
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.save()
        # Idle workers (PostgreSQL: LISTEN) join its chunks as this commits.
        recalc_wake_workers()
        return job


def chunk_claim(job_id: int) -> CloseChunk | None:
    """The job's first pending chunk no other worker holds, locked to the end of the
    caller's transaction."""
    return (
        CloseChunk.objects.select_for_update(skip_locked=True)
        .filter(job_id=job_id, done=False)
        .order_by("seq")
        .first()
    )
