"""Starting close jobs (the CLI, and the worker once a period's grace has passed) and
recovering those whose worker died.

The worker checks every DUE_CHECK_SECONDS whether some company has a period whose end +
grace has passed and is not closed yet, and if so starts one job over every company;
the check is deduplicated under a lock (an advisory lock on PostgreSQL, the writer lock
on SQLite), so several workers checking at once start one job.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, Role
from partnerhub.fees.wakeup import recalc_wake_workers
from partnerhub.sales.models import SaleCutoff
from partnerhub.statements.close.claim import UNFINISHED, Status, job_is_stale
from partnerhub.statements.close.planning import (
    CHUNK_COMPANIES,
    chunks_plan,
    due_cutoff,
    grace,
    midnight,
)
from partnerhub.statements.close.run import job_actor
from partnerhub.statements.close.tasks import run_statements_close
from partnerhub.statements.close.tasks_table import task_lost, task_retire
from partnerhub.statements.models import CloseJob
from partnerhub.statements.services import closable, companies_for_statements
from partnerhub.statements.subscriptions import subscriptions_load

logger = logging.getLogger(__name__)

# How often a worker process looks whether a close is due (close_jobs_tick).
DUE_CHECK_SECONDS = 300.0
# A failed periodic job is retried after this long (a persistent error would otherwise
# start a failing job at every check); `partnerhub statements close` reruns at once.
FAILED_RETRY_AFTER = timedelta(hours=1)
# pg_advisory_xact_lock key of the due check ("stmt" in ASCII).
DUE_LOCK_KEY = 0x73746D74
# The fewest days a billing period has (February, monthly): a company whose open period
# began less than this long before the last closable day cannot be due.
SHORTEST_PERIOD_DAYS = 28
# Companies whose subscriptions one step of the due check loads.
DUE_CHECK_BATCH = 500


def close_job_start(
    *,
    actor: Actor,
    cutoff: datetime,
    period_month: date | None = None,
    chunk_companies: int = CHUNK_COMPANIES,
) -> CloseJob:
    """Record a close job over every company, its chunks and its task, in one
    transaction; any worker (or the caller, close_job_run) runs it."""
    with transaction.atomic():
        job = CloseJob.objects.create(cutoff=cutoff, period_month=period_month)
        chunks_plan(job, chunk_companies=chunk_companies)
        task_enqueue(job)
        job.save(update_fields=["companies_total", "chunks_planned", "task_id"])
        audit_record(
            actor=actor,
            action="close_job.start",
            object_type="close_job",
            object_id=job.pk,
            object_repr=f"statements closed until {cutoff.isoformat()}",
            reseller_id=None,
            changes={
                "cutoff": {"old": None, "new": cutoff.isoformat()},
                "period_month": {
                    "old": None,
                    "new": period_month.isoformat() if period_month else None,
                },
                "companies_total": {"old": None, "new": job.companies_total},
            },
        )
        recalc_wake_workers()  # an idle worker starts it as this commits
    return job


def task_enqueue(job: CloseJob) -> None:
    """Enqueue the job's task in the caller's transaction: a rolled-back start leaves no
    task, a committed one always has it."""
    job.task_id = str(run_statements_close.enqueue(job_id=job.pk).id)


def _lock_due_check() -> None:
    """Serialise due checks across workers: PostgreSQL by an advisory lock held to the
    end of the transaction; SQLite's IMMEDIATE transaction holds the writer lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [DUE_LOCK_KEY])


def _covered(cutoff: datetime, now: datetime) -> bool:
    """A job is unfinished (it closes what it can; the next check starts the next one),
    or one already covers `cutoff` (a failed one only for a while)."""
    jobs = CloseJob.objects.all()
    if jobs.filter(status__in=UNFINISHED).exists():
        return True
    covering = jobs.filter(period_month__isnull=True, cutoff__gte=cutoff)
    return (
        covering.exclude(status=Status.FAILED).exists()
        or covering.filter(created_at__gt=now - FAILED_RETRY_AFTER).exists()
    )


def companies_due(cutoff: datetime) -> bool:
    """Whether some company has a period that closes by `cutoff` and is not closed yet,
    decided as the close decides it (its period from its sale cutoff, or its first one;
    statements/services.py). Only candidates are loaded: companies with nothing closed
    created before the last closable day, and those whose open period began at least a
    shortest period (28 days) before it; the first due one ends the check."""
    last_end = (cutoff - grace()).date()
    closed_until = SaleCutoff.objects.filter(company_id=OuterRef("pk")).values("closed_until")
    candidates = (
        Company.objects.annotate(closed_until=Subquery(closed_until))
        .filter(
            Q(closed_until__isnull=True, created_at__lt=midnight(last_end))
            | Q(closed_until__lte=last_end - timedelta(days=SHORTEST_PERIOD_DAYS))
        )
        .order_by("closed_until", "pk")
        .values_list("pk", "closed_until")
    )
    batch: dict[int, date | None] = {}
    for company_id, known in candidates.iterator(chunk_size=DUE_CHECK_BATCH):
        batch[company_id] = known
        if len(batch) == DUE_CHECK_BATCH:
            if _any_closable(batch, cutoff):
                return True
            batch = {}
    return bool(batch) and _any_closable(batch, cutoff)


def _any_closable(cutoffs: dict[int, date | None], cutoff: datetime) -> bool:
    subscriptions = subscriptions_load(companies_for_statements(cutoffs))
    for company_id, subscription in subscriptions.items():
        known = cutoffs[company_id]
        period = subscription.period_from(known) if known else subscription.first_period()
        if closable(period, cutoff):
            return True
    return False


def close_job_enqueue_due(*, actor: Actor, now: datetime) -> CloseJob | None:
    """Start a close job if a period's grace has passed and no job covers it yet."""
    cutoff = due_cutoff(now)
    with transaction.atomic():
        _lock_due_check()
        if _covered(cutoff, now) or not companies_due(cutoff):
            return None
        job = close_job_start(actor=actor, cutoff=cutoff)
    logger.info("Close job %s started for statements due by %s", job.pk, cutoff)
    return job


def _lost(job: CloseJob) -> bool:
    return job_is_stale(job) if job.status == Status.RUNNING else task_lost(job)


def close_job_recover_stale() -> list[int]:
    """Re-enqueue every unfinished close job whose worker is gone. Safe from many workers:
    each candidate is re-checked under its row lock. Its progress (chunks done) is kept."""
    recovered: list[int] = []
    # Unlocked first pass: most rounds find nothing and take no write lock at all.
    candidates = [job.pk for job in CloseJob.objects.filter(status__in=UNFINISHED) if _lost(job)]
    for job_id in candidates:
        with transaction.atomic():
            job = CloseJob.objects.select_for_update().get(pk=job_id)
            if job.status not in UNFINISHED or not _lost(job):
                continue
            task_retire(job.task_id, job.pk)
            old_status = job.status
            job.status = Status.QUEUED
            job.worker_id = ""
            task_enqueue(job)
            job.save(update_fields=["status", "worker_id", "task_id"])
            recalc_wake_workers()
            audit_record(
                actor=job_actor(job.pk),
                action="close_job.recover",
                object_type="close_job",
                object_id=job.pk,
                object_repr=f"statements closed until {job.cutoff.isoformat()}",
                reseller_id=None,
                changes={
                    "status": {"old": old_status, "new": job.status},
                    "companies_done": {"old": None, "new": job.companies_done},
                },
            )
        logger.warning("Recovered close job %s (its worker is gone); re-enqueued", job_id)
        recovered.append(job_id)
    return recovered


class _DueClock:
    """When this process last checked whether a close is due (monotonic seconds)."""

    last: float | None = None


WORKER_ACTOR = Actor(role=Role.SYSTEM, label="worker: statements due")


def close_jobs_tick(*, now: datetime | None = None) -> None:
    """The worker's periodic call: recover close jobs whose worker died and, at most every
    DUE_CHECK_SECONDS, start a close job when one is due."""
    close_job_recover_stale()
    clock = time.monotonic()
    if _DueClock.last is not None and clock - _DueClock.last < DUE_CHECK_SECONDS:
        return
    _DueClock.last = clock
    close_job_enqueue_due(actor=WORKER_ACTOR, now=now or timezone.now())
