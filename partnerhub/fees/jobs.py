"""Enqueuing fee recalculation jobs. The run itself lives in fees/recalc.py."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from partnerhub.audit.services import audit_record
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor
from partnerhub.fees.models import JOB_REASON_MAX_LENGTH, RecalcJob
from partnerhub.fees.tasks import run_recalculation
from partnerhub.fees.wakeup import recalc_wake_workers


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
