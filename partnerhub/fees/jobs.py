"""Enqueuing fee recalculation jobs. The run itself lives in fees/recalc.py."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from partnerhub.audit.services import audit_record
from partnerhub.core.actor import Actor
from partnerhub.fees.models import RecalcJob


def recalculation_enqueue(
    *,
    actor: Actor,
    reseller_id: int,
    plan_id: int | None = None,
    company_ids: Sequence[int] | None = None,
    reason: str,
) -> RecalcJob:
    """Record a job and enqueue its task in the caller's transaction.

    Scope: every company on `plan_id` that uses plan fees, or exactly `company_ids`.
    The task row is written by django-tasks-db inside this transaction, so a
    rolled-back edit leaves no job behind and a committed one always has its job.
    """
    from partnerhub.fees.tasks import run_recalculation  # tasks import this module

    assert (plan_id is None) != (company_ids is None), "give plan_id or company_ids"
    with transaction.atomic():
        job = RecalcJob.objects.create(
            reseller_id=reseller_id,
            plan_id=plan_id,
            company_ids=sorted(set(company_ids)) if company_ids is not None else None,
            reason=reason[:200],
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
    return job
