"""Enqueuing fee recalculation jobs, and enqueuing again those whose worker is gone.

The run itself lives in fees/recalc/; it never enqueues, so the task (fees/tasks.py)
imports the run and nothing of the run imports the task.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from partnerhub.audit.services import audit_record
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor
from partnerhub.fees.models import JOB_REASON_MAX_LENGTH, RecalcJob
from partnerhub.fees.recalc import UNFINISHED, job_actor, job_is_stale, retire_task, stale_cutoff
from partnerhub.fees.tasks import run_recalculation
from partnerhub.fees.wakeup import recalc_wake_workers

logger = logging.getLogger(__name__)
Status = RecalcJob.Status


def plan_fee_company_ids(plan_id: int) -> list[int]:
    """The companies whose effective schedule is the plan's, as the caller's transaction
    sees them. Called with the plan row locked (plan_update), and every change of a
    company's fee source locks its plan(s) first (companies/services.py), so the list
    cannot miss a company that is joining or leaving the plan's fees meanwhile."""
    return list(
        Company.objects.filter(plan_id=plan_id, use_plan_fees=True)
        .order_by("id")
        .values_list("id", flat=True)
    )


def recalculation_enqueue(
    *,
    actor: Actor,
    reseller_id: int,
    plan_id: int | None = None,
    company_ids: Sequence[int] | None = None,
    reason: str,
) -> RecalcJob:
    """Record a job and enqueue its task in the caller's transaction.

    Scope: exactly `company_ids`, or, with `plan_id`, every company that uses the
    plan's fees *when the caller's change commits* (docs/architecture.md, "Stored
    fees never go stale"). The scope is written on the job here, never recomputed
    when a worker picks it up: a company that leaves the plan's fees while the job
    is queued stays in scope and is repriced from whatever schedule it has then.
    The task row is written by django-tasks-db inside this transaction, so a
    rolled-back edit leaves no job behind and a committed one always has its job.
    """
    assert (plan_id is None) != (company_ids is None), "give plan_id or company_ids"
    with transaction.atomic():
        scope = plan_fee_company_ids(plan_id) if plan_id is not None else company_ids
        assert scope is not None
        job = RecalcJob.objects.create(
            reseller_id=reseller_id,
            plan_id=plan_id,
            company_ids=sorted(set(scope)),
            reason=reason[:JOB_REASON_MAX_LENGTH],
        )
        audit_record(
            actor=actor,
            action="job.enqueue",
            object_type="job",
            object_id=job.pk,
            object_repr=reason,
            reseller_id=reseller_id,
            changes={
                "plan_id": {"old": None, "new": plan_id},
                "company_ids": {"old": None, "new": job.company_ids},
            },
        )
        result = run_recalculation.enqueue(job_id=job.pk)
        job.task_id = str(result.id)
        job.save(update_fields=["task_id"])
        recalc_wake_workers()  # an idle worker starts it as this commits
    return job


# --- Recovery ------------------------------------------------------------------


def _task_lost(job: RecalcJob) -> bool:
    """A queued job whose task can no longer start it (claimed by a dead worker, or gone)."""
    task = DBTaskResult.objects.filter(pk=job.task_id).first() if job.task_id else None
    if task is None or task.status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        return True
    if task.status == TaskResultStatus.RUNNING:
        started: datetime = task.started_at or task.enqueued_at
        return started < timezone.now() - stale_cutoff()
    return False


def _lost(job: RecalcJob) -> bool:
    return job_is_stale(job) if job.status == Status.RUNNING else _task_lost(job)


def recalculation_recover_stale() -> list[int]:
    """Re-enqueue every unfinished job whose worker is gone. Safe to run from many workers:
    each candidate is re-checked under its row lock. A recovered job goes back to
    `queued` (its progress kept) until a worker claims its new task."""
    recovered: list[int] = []
    # Unlocked first pass: most rounds find nothing and take no write lock at all.
    candidates = [job.pk for job in RecalcJob.objects.filter(status__in=UNFINISHED) if _lost(job)]
    for job_id in candidates:
        with transaction.atomic():
            job = RecalcJob.objects.select_for_update().get(pk=job_id)
            if job.status not in UNFINISHED or not _lost(job):
                continue
            retire_task(job.task_id, job.pk)
            old_status = job.status
            job.status = Status.QUEUED
            job.worker_id = ""
            job.task_id = str(run_recalculation.enqueue(job_id=job.pk).id)
            job.save(update_fields=["status", "worker_id", "task_id"])
            recalc_wake_workers()
            audit_record(
                actor=job_actor(job.pk),
                action="job.recover",
                object_type="job",
                object_id=job.pk,
                object_repr=job.reason,
                reseller_id=job.reseller_id,
                changes={
                    "status": {"old": old_status, "new": job.status},
                    "companies_done": {"old": None, "new": job.companies_done},
                },
            )
        logger.warning("Recovered job %s (its worker is gone); re-enqueued", job_id)
        recovered.append(job_id)
    return recovered
