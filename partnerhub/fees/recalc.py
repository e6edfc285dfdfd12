"""Running fee recalculation jobs: chunked, set-based, resumable (SPEC §6, §11).

A job covers a fixed list of companies, decided when the change that needs it
commits (fees/jobs.py). Each chunk of companies is one `UPDATE … FROM` in its
own transaction, and that transaction also advances the job's cursor and done
counters while holding the job row's lock. So whatever kills a worker, the job
row says exactly which companies are done: a restarted worker continues after
the cursor and nothing is counted twice.

The statement prices every item of the chunk's companies from its company's
*current* effective schedule (plan, own or reseller's, as
Company.effective_fee_schedule_id), with the companies locked, so any chunk that
runs after an edit leaves fees reflecting that edit, whatever scope or order
jobs (or, later, parallel chunks) run in. Why that makes stored fees exact once
the queue is empty: docs/architecture.md, "Stored fees never go stale".

An item whose (currency, fee type) has no entry in the effective schedule
gets a reseller fee of 0 and blended false: creating such an item is refused
(fees/services.py), but a later schedule edit may drop the entry, and a
recalculation must not fail a million-item job over it.
"""

from __future__ import annotations

import logging
import os
import socket
from bisect import bisect_right
from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.tasks import TaskResultStatus
from django.utils import timezone
from django.utils.crypto import get_random_string

from partnerhub.audit.services import audit_record
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, Role
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.fees.terms import gateway_fee_of, rates_sql, reseller_fee_of
from partnerhub.webhooks import announce

logger = logging.getLogger(__name__)

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


def _job_actor(job_id: int) -> Actor:
    return Actor(role=Role.SYSTEM, label=f"job {job_id}")


# --- The statement ------------------------------------------------------------


def recalculation_sql(company_filter: str) -> str:
    """One set-based UPDATE over the items of the companies matching `company_filter`
    (a predicate on `{col}`, applied to the rates and to `fees_saleitem.company_id`).

    Parameters: fees_updated_at, updated_at, filter params (twice).

    Every item of the companies, including items created after the job started: an
    item created from old terms may commit (its id drawn before the job looked) just
    before the chunk takes the company lock, and only this statement can reprice it.
    """
    price = "fees_saleitem.price_minor"
    return f"""
        UPDATE fees_saleitem SET
            reseller_fee_minor = {reseller_fee_of(price)},
            gateway_fee_minor = {gateway_fee_of(price)},
            blended = r.blended,
            fee_revision = fees_saleitem.fee_revision + 1,
            fees_updated_at = %s,
            updated_at = %s
        FROM ({rates_sql(company_filter)}) AS r
        WHERE fees_saleitem.company_id = r.company_id
          AND fees_saleitem.currency = r.currency
          AND fees_saleitem.fee_type = r.fee_type
          AND {company_filter.format(col="fees_saleitem.company_id")}
    """


def company_id_filter(company_ids: Sequence[int]) -> tuple[str, list[Any]]:
    """`{col}` in the given ids, as SQL text and parameters for the current database."""
    if connection.vendor == "postgresql":
        return "{col} = ANY(%s)", [list(company_ids)]
    return "{col} IN (" + ", ".join(["%s"] * len(company_ids)) + ")", list(company_ids)


def recalculate_items(company_ids: Sequence[int]) -> int:
    """Rewrite the fees of every item of the companies; returns the row count.

    Call inside a transaction. On PostgreSQL the companies are locked first (in id
    order) so two jobs touching one company run their chunks one after the other:
    the later chunk's statement then sees every schedule edit committed before it, and
    every item written under the company's share lock (fees/terms.py::item_terms).
    """
    if not company_ids:
        return 0
    where, params = company_id_filter(company_ids)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Plan each chunk for its own companies. With statements prepared (settings.py)
            # PostgreSQL switches to a generic plan after five runs, and the jobs were
            # then 50 % slower than the raw UPDATE (docs/benchmarks.md, 2026-11-29).
            cur.execute("SET LOCAL plan_cache_mode TO force_custom_plan")
            cur.execute(
                "SELECT id FROM companies_company WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [list(company_ids)],
            )
        cur.execute(recalculation_sql(where), [now, now, *params, *params])
        return cur.rowcount


# --- Claiming, chunks, finishing ------------------------------------------------


def _stale_cutoff() -> timedelta:
    return timedelta(seconds=settings.RECALC_STALE_SECONDS)


def _owner_is_dead_here(worker_id: str) -> bool:
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
    if job.heartbeat_at is None or job.heartbeat_at < timezone.now() - _stale_cutoff():
        return True
    return _owner_is_dead_here(job.worker_id)


def _item_counts(company_ids: list[int]) -> dict[str, int]:
    """Items per company (JSON keys). No id filter, so PostgreSQL can answer from the
    company index alone; chunks correct the total for anything that moved since."""
    counts: dict[str, int] = {}
    for start in range(0, len(company_ids), 500):
        where, params = company_id_filter(company_ids[start : start + 500])
        with connection.cursor() as cur:
            cur.execute(
                "SELECT company_id, COUNT(*) FROM fees_saleitem"
                f" WHERE {where.format(col='company_id')} GROUP BY company_id",
                params,
            )
            counts.update({str(company): n for company, n in cur.fetchall()})
    return counts


def _freeze_scope(job: RecalcJob) -> None:
    """Fix the job's company list (the reseller's own companies among those named when
    the change committed) and count its items."""
    companies = Company.objects.filter(reseller_id=job.reseller_id)
    if job.company_ids is None and job.plan_id is not None:
        # A plan job enqueued by an older release, before scopes were decided at commit.
        ids = list(
            companies.filter(plan_id=job.plan_id, use_plan_fees=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
    else:
        # In batches: a reseller fee change may name more companies than SQLite
        # accepts parameters in one statement.
        wanted, ids = job.company_ids or [], []
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            ids += companies.filter(pk__in=batch).values_list("id", flat=True)
        ids.sort()
    job.max_item_id = SaleItem.objects.aggregate(m=Max("id"))["m"] or 0
    job.scope_company_ids = ids
    job.scope_item_counts = _item_counts(ids)
    job.companies_total = len(ids)
    job.items_total = sum(job.scope_item_counts.values())


def _later_job_covering(job: RecalcJob) -> RecalcJob | None:
    """A later job for the same plan whose scope holds every company of this one's.

    Such a job commits after this one's edit and reprices each of those companies
    from a schedule at least as new, so this one's work is redundant. A later job
    that lacks a company (it left the plan's fees in between) does not cover it.
    """
    if job.plan_id is None or job.company_ids is None:
        return None
    wanted = set(job.company_ids)
    later = (
        RecalcJob.objects.filter(plan_id=job.plan_id, pk__gt=job.pk)
        .exclude(status=Status.FAILED)
        .filter(company_ids__isnull=False)
        .order_by("-pk")
    )
    for candidate in later[:20]:
        if wanted <= set(candidate.company_ids or ()):
            return candidate
    return None


def _finish(job: RecalcJob, status: str, *, error: str | None = None) -> None:
    old_status = job.status
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    job.heartbeat_at = job.finished_at
    job.save()
    audit_record(
        actor=_job_actor(job.pk),
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
    announce.recalculation_announce(job)


def _claim(job_id: int, worker_id: str) -> RecalcJob | None:
    """Take the job for this worker, or None if it is finished or alive elsewhere."""
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in UNFINISHED:
            return None
        if job.status == Status.RUNNING and job.worker_id != worker_id and not job_is_stale(job):
            return None
        if job.scope_company_ids is None:
            later = _later_job_covering(job)
            if later is not None:
                # Not started, and a later job reprices every company of this one
                # from a newer schedule: running this one would be wasted work.
                job.superseded_by = later
                _finish(job, Status.SUCCEEDED)
                return None
            _freeze_scope(job)
        if job.attempts >= MAX_ATTEMPTS:
            _finish(job, Status.FAILED, error=f"Gave up after {job.attempts} attempts.")
            return None
        now = timezone.now()
        job.status = Status.RUNNING
        job.worker_id = worker_id
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.attempts += 1
        job.save()
        return job


def _next_company_ids(job: RecalcJob) -> list[int]:
    ids = job.scope_company_ids or []  # sorted when frozen
    start = bisect_right(ids, job.cursor_company_id)
    return ids[start : start + max(1, settings.RECALC_CHUNK_COMPANIES)]


def _run_chunk(job_id: int, worker_id: str) -> bool:
    """One chunk in one transaction; False when the job is finished."""
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().get(pk=job_id)
        if job.status != Status.RUNNING or job.worker_id != worker_id:
            raise JobTakenOver(f"job {job_id} now belongs to {job.worker_id or 'nobody'}")
        company_ids = _next_company_ids(job)
        if not company_ids:
            _finish(job, Status.SUCCEEDED)
            return False
        if connection.vendor == "postgresql":
            # Safe to lose on a server crash: the chunk's rows and its progress commit
            # or vanish together, and the job resumes from the cursor. The final
            # "succeeded" commit is synchronous and flushes every chunk before it.
            with connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit TO OFF")
        done = recalculate_items(company_ids)
        counted = sum((job.scope_item_counts or {}).get(str(c), 0) for c in company_ids)
        job.items_total += done - counted  # usually 0: see scope_item_counts
        job.cursor_company_id = company_ids[-1]
        job.companies_done += len(company_ids)
        job.items_done += done
        job.heartbeat_at = timezone.now()
        job.save(
            update_fields=[
                "cursor_company_id",
                "companies_done",
                "items_done",
                "items_total",
                "heartbeat_at",
            ]
        )
        return True


def _fail(job_id: int, worker_id: str, exc: BaseException) -> None:
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().get(pk=job_id)
        if job.status == Status.RUNNING and job.worker_id == worker_id:
            _finish(job, Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])


def recalculation_run(*, job_id: int, worker_id: str | None = None) -> RecalcJob | None:
    """Run (or resume) the job to the end in this process. Idempotent: a finished job, or
    one alive on another worker, is left alone. Returns the job as it ends, or None."""
    worker_id = worker_id or worker_identity()
    if _claim(job_id, worker_id) is None:
        return RecalcJob.objects.filter(pk=job_id).first()
    try:
        while _run_chunk(job_id, worker_id):
            pass
    except JobTakenOver as exc:
        logger.warning("%s; stopping", exc)
    except Exception as exc:
        _fail(job_id, worker_id, exc)
        raise
    return RecalcJob.objects.get(pk=job_id)


# --- Recovery ------------------------------------------------------------------


def _task_lost(job: RecalcJob) -> bool:
    """A queued job whose task can no longer start it (claimed by a dead worker, or gone)."""
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.filter(pk=job.task_id).first() if job.task_id else None
    if task is None or task.status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        return True
    if task.status == TaskResultStatus.RUNNING:
        started = task.started_at or task.enqueued_at
        return started < timezone.now() - _stale_cutoff()
    return False


def _retire_task(task_id: str, job_id: int) -> None:
    """Mark the dead worker's task failed, so the task table does not show it running forever."""
    from django_tasks_db.models import DBTaskResult

    if task_id:
        DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path="partnerhub.fees.recalc.WorkerLost",
            traceback=f"The worker running job {job_id} stopped; the job was re-enqueued.",
        )


def _lost(job: RecalcJob) -> bool:
    return job_is_stale(job) if job.status == Status.RUNNING else _task_lost(job)


def recalculation_recover_stale() -> list[int]:
    """Re-enqueue every unfinished job whose worker is gone. Safe to run from many workers:
    each candidate is re-checked under its row lock. A recovered job goes back to
    `queued` (its progress kept) until a worker claims its new task."""
    from partnerhub.fees.tasks import run_recalculation

    recovered: list[int] = []
    # Unlocked first pass: most rounds find nothing and take no write lock at all.
    candidates = [job.pk for job in RecalcJob.objects.filter(status__in=UNFINISHED) if _lost(job)]
    for job_id in candidates:
        with transaction.atomic():
            job = RecalcJob.objects.select_for_update().get(pk=job_id)
            if job.status not in UNFINISHED or not _lost(job):
                continue
            _retire_task(job.task_id, job.pk)
            old_status = job.status
            job.status = Status.QUEUED
            job.worker_id = ""
            job.task_id = str(run_recalculation.enqueue(job_id=job.pk).id)
            job.save(update_fields=["status", "worker_id", "task_id"])
            audit_record(
                actor=_job_actor(job.pk),
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
