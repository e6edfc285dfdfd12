"""Claiming: who holds a job (its worker's identity and heartbeat, a dead owner seen as
such), taking a job for this worker (its scope fixed and first chunks laid out on the
first start), and taking one pending chunk."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.models import DBTaskResult

from partnerhub.fees.models import RecalcChunk, RecalcJob
from partnerhub.fees.recalc.chunks import chunks_plan
from partnerhub.fees.recalc.progress import job_finish
from partnerhub.fees.recalc.scope import later_job_covering, plan_ahead, scope_freeze
from partnerhub.fees.terms import rates_statistics_ensure
from partnerhub.fees.wakeup import recalc_wake_workers

Status = RecalcJob.Status


UNFINISHED = (Status.QUEUED, Status.RUNNING)


# A job that has killed this many workers is not retried forever.
MAX_ATTEMPTS = 5


class JobTakenOver(Exception):
    """Another worker claimed the job (we were presumed dead); stop without touching it."""


@cache
def worker_identity() -> str:
    """host:pid:nonce — the host and pid let a worker on the same machine see a dead owner."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(6)}"


def stale_cutoff() -> timedelta:
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


def job_is_stale(job: RecalcJob) -> bool:
    """A running job whose worker stopped beating (or, on this host, whose process is gone)."""
    if job.status != Status.RUNNING:
        return False
    if not job.worker_id:
        return True
    if job.heartbeat_at is None or job.heartbeat_at < timezone.now() - stale_cutoff():
        return True
    return owner_is_dead_here(job.worker_id)


def job_state(job_id: int) -> RecalcJob | None:
    """The job's status, owner and heartbeat, without its (large) scope columns."""
    return RecalcJob.objects.filter(pk=job_id).only("status", "worker_id", "heartbeat_at").first()


def retire_task(task_id: str, job_id: int) -> None:
    """Mark the dead worker's task failed, so the task table does not show it running forever."""
    if task_id:
        DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path="partnerhub.fees.recalc.WorkerLost",
            traceback=f"The worker running job {job_id} stopped; the job was re-enqueued.",
        )


def job_claim(job_id: int, worker_id: str) -> RecalcJob | None:
    """Take the job for this worker, or None if it is finished or alive elsewhere."""
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in UNFINISHED:
            return None
        if job.status == Status.RUNNING and job.worker_id != worker_id and not job_is_stale(job):
            return None
        if job.scope_company_ids is None:
            later = later_job_covering(job)
            if later is not None:
                # Not started, and a later job reprices every company of this one
                # from a newer schedule: running this one would be wasted work.
                job.superseded_by = later
                job_finish(job, Status.SUCCEEDED)
                return None
            scope_freeze(job)
            rates_statistics_ensure()  # or every chunk may hash its rates on disk
            if job.chunks_planned:
                chunks_plan(job)
            else:
                chunks_plan(job, (job.scope_company_ids or [])[: plan_ahead()], head=True)
            recalc_wake_workers()  # helpers join as this commits
        elif job.chunks_planned and not RecalcChunk.objects.filter(job=job).exists():
            chunks_plan(job)  # started by a release before chunk rows
        if job.attempts >= MAX_ATTEMPTS:
            job_finish(job, Status.FAILED, error=f"Gave up after {job.attempts} attempts.")
            return None
        now = timezone.now()
        job.status = Status.RUNNING
        job.worker_id = worker_id
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.attempts += 1
        job.save()
        return job


def chunk_claim(job_id: int) -> RecalcChunk | None:
    """The job's first pending chunk no other worker holds, locked to the end of this
    transaction (`SKIP LOCKED` on PostgreSQL; SQLite runs one writer at a time)."""
    return (
        RecalcChunk.objects.select_for_update(skip_locked=True)
        .filter(job_id=job_id, done=False)
        .order_by("seq")
        .first()
    )
