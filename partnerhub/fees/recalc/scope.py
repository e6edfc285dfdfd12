"""The job's scope: which companies it reprices, fixed when it first starts, and how many
items they hold (what the chunk layout packs)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Max

from partnerhub.companies.models import Company
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.fees.recalc.statement import company_id_filter

Status = RecalcJob.Status


def _batches(ids: list[int]) -> list[list[int]]:
    """`ids` in lists one statement can take as parameters: all at once on PostgreSQL
    (company_id_filter passes one array), 500 at a time on SQLite (one parameter each)."""
    size = max(1, len(ids)) if connection.vendor == "postgresql" else 500
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def item_counts(company_ids: list[int]) -> dict[str, int]:
    """Items per company (JSON keys). No id filter, so PostgreSQL can answer from the
    company index alone; chunks correct the total for anything that moved since."""
    counts: dict[str, int] = {}
    for batch in _batches(company_ids):
        where, params = company_id_filter(batch)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT company_id, COUNT(*) FROM fees_saleitem"
                f" WHERE {where.format(col='company_id')} GROUP BY company_id",
                params,
            )
            counts.update({str(company): n for company, n in cur.fetchall()})
    return counts


def plan_ahead() -> int:
    return max(1, settings.RECALC_PLAN_AHEAD_COMPANIES)


def scope_freeze(job: RecalcJob) -> None:
    """Fix the job's company list (the reseller's own companies among those named when
    the change committed) and count the items of its first RECALC_PLAN_AHEAD_COMPANIES
    companies (all of them when there are no more; chunks_plan_rest counts the others)."""
    if job.company_ids is None and job.plan_id is not None:
        # A plan job enqueued by an older release, before scopes were decided at commit.
        ids = list(
            Company.objects.filter(
                reseller_id=job.reseller_id, plan_id=job.plan_id, use_plan_fees=True
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
    else:
        # A reseller fee change may name more companies than SQLite accepts parameters
        # in one statement; on PostgreSQL one array (the job's start waits on this).
        ids = []
        for batch in _batches(job.company_ids or []):
            where, params = company_id_filter(batch)
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT id FROM companies_company"
                    f" WHERE reseller_id = %s AND {where.format(col='id')}",
                    [job.reseller_id, *params],
                )
                ids += [company for (company,) in cur.fetchall()]
        ids.sort()
    job.max_item_id = SaleItem.objects.aggregate(m=Max("id"))["m"] or 0
    job.scope_company_ids = ids
    ahead = plan_ahead()
    job.chunks_planned = len(ids) <= ahead
    job.scope_item_counts = item_counts(ids[:ahead])
    job.companies_total = len(ids)
    job.items_total = sum(job.scope_item_counts.values())


def later_job_covering(job: RecalcJob) -> RecalcJob | None:
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
