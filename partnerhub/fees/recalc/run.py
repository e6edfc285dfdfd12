"""Running a job: its own task (`recalculation_run`) claims it, works chunks and, once
none is left, waits for chunks other workers hold and closes the job; idle workers
join running jobs (`recalculation_help`, polled by the worker command)."""

from __future__ import annotations

import logging
import threading
import time

from django.db import transaction
from django.utils import timezone

from partnerhub.fees.models import RecalcChunk, RecalcJob
from partnerhub.fees.recalc.chunks import chunks_plan_rest
from partnerhub.fees.recalc.claim import (
    UNFINISHED,
    JobTakenOver,
    chunk_claim,
    job_claim,
    job_is_stale,
    job_state,
    owner_is_dead_here,
    retire_task,
    stale_cutoff,
    worker_identity,
)
from partnerhub.fees.recalc.progress import chunk_mark_done, job_finish
from partnerhub.fees.recalc.statement import recalculate_items

logger = logging.getLogger(__name__)

Status = RecalcJob.Status


def chunk_run(job_id: int, worker_id: str, *, owner: bool = True) -> bool:
    """Claim one pending chunk of the job and run it in one transaction with its progress.

    True when a chunk ran; False when none is pending and free (the job is then closed
    if every chunk is done: in-process, False means the job is finished). The owner (the
    worker that claimed the job) raises JobTakenOver if the job was taken from it; a
    helper (`owner=False`) works any running job and raises it if the job stopped
    running while its chunk ran (the chunk is then rolled back).
    """
    with transaction.atomic():
        # Unlocked: every chunk reads the job row; only its last statement writes it.
        job = job_state(job_id)
        if job is None or job.status not in UNFINISHED:
            return False
        mine = job.status == Status.RUNNING and (not owner or job.worker_id == worker_id)
        if not mine:
            if owner:
                raise JobTakenOver(f"job {job_id} now belongs to {job.worker_id or 'nobody'}")
            return False
        if not owner and job_is_stale(job):
            return False  # its owner is gone: recovery hands the job to a new owner first
        chunk = chunk_claim(job_id)
        if chunk is not None:
            _run_claimed_chunk(job_id, chunk, worker_id, owner=owner)
            return True
    _finish_if_done(job_id)
    return False


def _run_claimed_chunk(job_id: int, chunk: RecalcChunk, worker_id: str, *, owner: bool) -> None:
    # Asynchronous commit on PostgreSQL is safe to lose on a server crash: the chunk's rows
    # and its progress commit or vanish together, and the chunk is pending again. The
    # final "succeeded" commit is synchronous and flushes every chunk before it.
    done = recalculate_items(
        chunk.company_ids,
        item_from=chunk.item_id_from,
        item_to=chunk.item_id_to,
        asynchronous_commit=True,
    )
    now = timezone.now()
    # Last, so the job row's lock is held only for the commit. Re-checked under that
    # lock: a job taken over or closed meanwhile rolls this chunk back.
    if chunk_mark_done(job_id, chunk, worker_id, done, now, owner=owner) == 0:
        raise JobTakenOver(f"job {job_id} stopped running under chunk {chunk.seq}")


def _finish_if_done(job_id: int) -> None:
    """Close the job as succeeded once its chunks are all planned and all done (whoever
    ran the last one)."""
    pending = RecalcChunk.objects.filter(job_id=job_id, done=False)
    if pending.exists():
        return
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().get(pk=job_id)
        if job.status == Status.RUNNING and job.chunks_planned and not pending.exists():
            if job.worker_id and owner_is_dead_here(job.worker_id):
                retire_task(job.task_id, job.pk)  # helpers finished a dead owner's job
            job_finish(job, Status.SUCCEEDED)


def _fail(job_id: int, worker_id: str, exc: BaseException) -> None:
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().get(pk=job_id)
        if job.status == Status.RUNNING and job.worker_id == worker_id:
            job_finish(job, Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])


# Set while this process runs a job of its own: its helper thread then stands back, so
# a worker process runs one chunk at a time (management/commands/worker.py).
_owning = threading.Event()


# How often an owner whose remaining chunks are held by other workers looks again.
TAIL_POLL_SECONDS = 0.05


def _wait_for_others(job_id: int, worker_id: str) -> bool:
    """After the owner found no free chunk: True to look again (chunks are held by other
    workers, which may die and release them), False when the job is over or stalled."""
    job = job_state(job_id)
    if job is None or job.status != Status.RUNNING or job.worker_id != worker_id:
        return False
    if job.heartbeat_at is not None and job.heartbeat_at < timezone.now() - stale_cutoff():
        return False  # no chunk committed for a while: recovery takes it from here
    time.sleep(TAIL_POLL_SECONDS)
    return True


def recalculation_run(*, job_id: int, worker_id: str | None = None) -> RecalcJob | None:
    """Run (or resume) the job to the end, with whatever helpers join it. Idempotent: a
    finished job, or one alive on another worker, is left alone. Returns the job as it
    ends, or None."""
    worker_id = worker_id or worker_identity()
    if job_claim(job_id, worker_id) is None:
        return RecalcJob.objects.filter(pk=job_id).first()
    _owning.set()
    try:
        chunks_plan_rest(job_id, worker_id)
        while True:
            while chunk_run(job_id, worker_id):
                pass
            if not _wait_for_others(job_id, worker_id):
                break
    except JobTakenOver as exc:
        logger.warning("%s; stopping", exc)
    except Exception as exc:
        _fail(job_id, worker_id, exc)
        raise
    finally:
        _owning.clear()
    return RecalcJob.objects.get(pk=job_id)


def recalculation_help(*, worker_id: str | None = None) -> int:
    """Join running jobs: run their free pending chunks until none is left (or this
    process starts a job of its own). Returns the number of chunks run.

    Errors are logged, not recorded on the job: the chunk stays pending, and its owner
    runs it (and fails the job if it fails there too)."""
    if _owning.is_set():
        return 0  # this process runs a job of its own: no queries, its cores are busy
    worker_id = worker_id or worker_identity()
    ran = 0
    jobs = (
        RecalcChunk.objects.filter(done=False, job__status=Status.RUNNING)
        .order_by("job_id")
        .values_list("job_id", flat=True)
        .distinct()
    )
    for job_id in list(jobs[:20]):
        job = job_state(job_id)
        if job is None or job_is_stale(job):
            continue  # its owner is gone: recovery hands it to a new one first
        try:
            while not _owning.is_set() and chunk_run(job_id, worker_id, owner=False):
                ran += 1
        except JobTakenOver as exc:
            logger.info("%s; helper moves on", exc)
        except Exception:
            logger.exception("Helping job %s failed; its owner will run the chunk", job_id)
    return ran


def recalculation_resume_all(*, worker_id: str | None = None) -> list[RecalcJob]:
    """Finish, in this process, every unfinished job not alive on another worker."""
    ended = []
    for job_id in (
        RecalcJob.objects.filter(status__in=UNFINISHED).order_by("pk").values_list("pk", flat=True)
    ):
        job = recalculation_run(job_id=job_id, worker_id=worker_id)
        if job is not None:
            ended.append(job)
    return ended
