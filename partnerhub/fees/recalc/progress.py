"""Progress: a chunk's counts added to the job in the chunk's own transaction, and the
job's end (its audit row and its recalculation.succeeded/failed event)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import F
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.core.actor import Actor, Role
from partnerhub.fees.models import RecalcChunk, RecalcJob
from partnerhub.fees.selectors import job_serialize
from partnerhub.webhooks.events import event_emit

Status = RecalcJob.Status


def job_actor(job_id: int) -> Actor:
    return Actor(role=Role.SYSTEM, label=f"job {job_id}")


def job_finish(job: RecalcJob, status: str, *, error: str | None = None) -> None:
    old_status = job.status
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    job.heartbeat_at = job.finished_at
    # Not the scope columns (thousands of ids): rewriting them cost the last commit 5 ms.
    job.save(update_fields=["status", "error", "finished_at", "heartbeat_at", "superseded_by"])
    audit_record(
        actor=job_actor(job.pk),
        action=f"job.{status}",
        object_type="job",
        object_id=job.pk,
        object_repr=job.reason,
        reseller_id=job.reseller_id,
        changes={
            "status": {"old": old_status, "new": status},
            "companies_done": {"old": None, "new": job.companies_done},
            "items_done": {"old": None, "new": job.items_done},
            **(
                {"superseded_by": {"old": None, "new": job.superseded_by_id}}
                if job.superseded_by_id
                else {}
            ),
            **({"error": {"old": None, "new": error}} if error else {}),
        },
    )
    recalculation_announce(job)


def recalculation_announce(job: RecalcJob) -> None:
    """recalculation.succeeded/failed, through the webhooks outbox (SPEC §14)."""
    if job.status in (Status.SUCCEEDED, Status.FAILED):
        event_emit(
            type=f"recalculation.{job.status}", reseller_id=job.reseller_id, data=job_serialize(job)
        )


def chunk_mark_done(
    job_id: int, chunk: RecalcChunk, worker_id: str, done: int, now: Any, *, owner: bool
) -> int:
    """Mark the chunk done and add its counts to the job (if it still runs, for the owner
    still as its own); answer the job rows updated (0 or 1)."""
    # Usually +0: an item committed in flight changes what the chunk touched.
    correction = done - chunk.items_counted
    if connection.vendor == "postgresql":
        # One statement (one round trip) for both rows.
        at = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cur:
            cur.execute(
                "WITH chunk AS (UPDATE fees_recalcchunk SET done = true, done_at = %s,"
                " worker_id = %s WHERE id = %s)"
                " UPDATE fees_recalcjob SET companies_done = companies_done + %s,"
                " items_done = items_done + %s, items_total = items_total + %s,"
                " heartbeat_at = %s WHERE id = %s AND status = %s"
                + (" AND worker_id = %s" if owner else ""),
                [at, worker_id, chunk.pk, chunk.companies_completed, done, correction, at,
                 job_id, Status.RUNNING] + ([worker_id] if owner else []),
            )  # fmt: skip
            return int(cur.rowcount)
    chunk.done, chunk.done_at, chunk.worker_id = True, now, worker_id
    chunk.save(update_fields=["done", "done_at", "worker_id"])
    jobs = RecalcJob.objects.filter(pk=job_id, status=Status.RUNNING)
    if owner:
        jobs = jobs.filter(worker_id=worker_id)
    return jobs.update(
        companies_done=F("companies_done") + chunk.companies_completed,
        items_done=F("items_done") + done,
        items_total=F("items_total") + correction,
        heartbeat_at=now,
    )
