"""Running a close job: chunks in one transaction each, then the reseller statements.

A chunk's transaction claims the chunk (claim.py), closes its companies' statements
(`statements_close_companies`, which locks their sale cutoffs and numbering rows),
marks the chunk done and adds its counts to the job row. They commit together or not
at all: a worker killed anywhere leaves the chunk pending and its statements unwritten,
and whoever takes the chunk next closes them once. The engine skips periods already
closed, so even a chunk run twice (a job recovered while its old owner still ran)
closes nothing twice.

The job's owner (its task's worker) works chunks until none is free, waits for chunks
other workers hold and, once all are done, closes the reseller statements of the
months that ended and marks the job succeeded, in one transaction. Idle workers join
running jobs (`close_job_help`, from the worker's help loop); whoever commits the last
chunk may finish the job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.core.actor import Actor, Role
from partnerhub.statements import services
from partnerhub.statements.close.claim import (
    Status,
    chunk_claim,
    job_claim,
    job_is_stale,
    job_state,
    owner_is_dead_here,
    stale_after,
    worker_identity,
)
from partnerhub.statements.close.planning import chunk_company_ids, reseller_months_due
from partnerhub.statements.close.tasks_table import task_retire
from partnerhub.statements.models import CloseChunk, CloseJob

logger = logging.getLogger(__name__)

# How often an owner whose remaining chunks are held by other workers looks again.
TAIL_POLL_SECONDS = 0.05
# Set while this process owns a close job: its help thread then stands back, so a worker
# process runs one chunk at a time.
_owning = threading.Event()


class JobTakenOver(Exception):
    """Another worker claimed the job (we were presumed dead); stop without touching it."""


def job_actor(job_id: int) -> Actor:
    return Actor(role=Role.SYSTEM, label=f"close job {job_id}")


def _run_chunk(job_id: int, worker_id: str, *, owner: bool) -> bool:
    """Claim one pending chunk and close it, with its progress, in one transaction.
    True when a chunk ran; False when none is pending and free (the job is then
    finished if every chunk is done)."""
    with transaction.atomic():
        job = job_state(job_id)
        if job is None or job.status != Status.RUNNING:
            return False
        if owner and job.worker_id != worker_id:
            raise JobTakenOver(f"close job {job_id} now belongs to {job.worker_id or 'nobody'}")
        if not owner and job_is_stale(job):
            return False  # its owner is gone: recovery hands the job to a new owner first
        chunk = chunk_claim(job_id)
        if chunk is not None:
            _close_chunk(job, chunk, worker_id, owner=owner)
            return True
    _finish_if_done(job_id)
    return False


def _close_chunk(job: CloseJob, chunk: CloseChunk, worker_id: str, *, owner: bool) -> None:
    company_ids = chunk_company_ids(chunk)
    now = timezone.now()
    closed = services.statements_close_companies(
        company_ids=company_ids, cutoff=job.cutoff, now=now
    )
    chunk.done, chunk.done_at, chunk.worker_id = True, timezone.now(), worker_id
    chunk.statements_closed = closed
    # Usually +0: a company created inside the range since the chunks were planned.
    correction = len(company_ids) - chunk.companies_counted
    chunk.companies_counted = len(company_ids)
    chunk.save(
        update_fields=["done", "done_at", "worker_id", "statements_closed", "companies_counted"]
    )
    # Last, so the job row's lock is held only for the commit; re-checked under it: a
    # job taken over or ended meanwhile rolls this chunk back.
    jobs = CloseJob.objects.filter(pk=job.pk, status=Status.RUNNING)
    if owner:
        jobs = jobs.filter(worker_id=worker_id)
    if not jobs.update(
        companies_done=F("companies_done") + len(company_ids),
        companies_total=F("companies_total") + correction,
        statements_closed=F("statements_closed") + closed,
        heartbeat_at=chunk.done_at,
    ):
        raise JobTakenOver(f"close job {job.pk} stopped running under chunk {chunk.seq}")


def _finish_if_done(job_id: int) -> None:
    """Once every chunk is done: close the reseller statements of the months that
    ended and mark the job succeeded, in one transaction (whoever gets here first)."""
    pending = CloseChunk.objects.filter(job_id=job_id, done=False)
    if pending.exists():
        return
    with transaction.atomic():
        job = CloseJob.objects.select_for_update().get(pk=job_id)
        if job.status != Status.RUNNING or not job.chunks_planned or pending.exists():
            return
        now = timezone.now()
        closed = 0
        for month, reseller_ids in reseller_months_due(job.cutoff).items():
            closed += services.reseller_statements_close(
                reseller_ids=reseller_ids, month=month, now=now
            )
        job.statements_closed += closed
        if job.worker_id and owner_is_dead_here(job.worker_id):
            task_retire(job.task_id, job.pk)  # helpers finished a dead owner's job
        _finish(job, Status.SUCCEEDED, now=now)


def _finish(job: CloseJob, status: str, *, now: datetime, error: str | None = None) -> None:
    old_status = job.status
    job.status = status
    job.error = error
    job.finished_at = job.heartbeat_at = now
    job.save(update_fields=["status", "error", "finished_at", "heartbeat_at", "statements_closed"])
    audit_record(
        actor=job_actor(job.pk),
        action=f"close_job.{status}",
        object_type="close_job",
        object_id=job.pk,
        object_repr=f"statements closed until {job.cutoff.isoformat()}",
        reseller_id=None,
        changes={
            "status": {"old": old_status, "new": status},
            "companies_done": {"old": None, "new": job.companies_done},
            "statements_closed": {"old": None, "new": job.statements_closed},
            **({"error": {"old": None, "new": error}} if error else {}),
        },
    )


def _fail(job_id: int, worker_id: str, exc: BaseException) -> None:
    with transaction.atomic():
        job = CloseJob.objects.select_for_update().get(pk=job_id)
        if job.status == Status.RUNNING and job.worker_id == worker_id:
            _finish(
                job, Status.FAILED, now=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000]
            )


def _wait_for_others(job_id: int, worker_id: str) -> bool:
    """After the owner found no free chunk: True to look again (chunks are held by other
    workers, which may die and release them), False when the job is over or stalled."""
    job = job_state(job_id)
    if job is None or job.status != Status.RUNNING or job.worker_id != worker_id:
        return False
    if job.heartbeat_at is not None and job.heartbeat_at < timezone.now() - stale_after():
        return False  # no chunk committed for a while: recovery takes it from here
    time.sleep(TAIL_POLL_SECONDS)
    return True


def close_job_run(
    *,
    job_id: int,
    worker_id: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> CloseJob | None:
    """Run (or resume) the job to its end, with whatever helpers join it. Idempotent: a
    finished job, or one alive on another worker, is left alone. `on_progress(job_id)`
    is called after each chunk this process closes and while it waits for others."""
    worker_id = worker_id or worker_identity()
    if job_claim(job_id, worker_id) is None:
        return CloseJob.objects.filter(pk=job_id).first()
    _owning.set()
    try:
        while True:
            while _run_chunk(job_id, worker_id, owner=True):
                if on_progress:
                    on_progress(job_id)
            if not _wait_for_others(job_id, worker_id):
                break
            if on_progress:
                on_progress(job_id)
    except JobTakenOver as exc:
        logger.warning("%s; stopping", exc)
    except Exception as exc:
        _fail(job_id, worker_id, exc)
        raise
    finally:
        _owning.clear()
    return CloseJob.objects.get(pk=job_id)


def close_job_help(*, worker_id: str | None = None) -> int:
    """Join running close jobs: close their free pending chunks until none is left (or
    this process starts a job of its own). Returns the number of chunks closed.

    Errors are logged, not recorded on the job: the chunk stays pending and its owner
    runs it (and fails the job if it fails there too)."""
    if _owning.is_set():
        return 0
    worker_id = worker_id or worker_identity()
    ran = 0
    jobs = (
        CloseChunk.objects.filter(done=False, job__status=Status.RUNNING)
        .order_by("job_id")
        .values_list("job_id", flat=True)
        .distinct()
    )
    for job_id in list(jobs[:20]):
        try:
            while not _owning.is_set() and _run_chunk(job_id, worker_id, owner=False):
                ran += 1
        except JobTakenOver as exc:
            logger.info("%s; helper moves on", exc)
        except Exception:
            logger.exception("Helping close job %s failed; its owner will run the chunk", job_id)
    return ran
