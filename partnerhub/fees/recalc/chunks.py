"""The chunk layout: the job's work as RecalcChunk rows bounded by items, whole companies
packed up to RECALC_CHUNK_ITEMS and a bigger company split by item id. A long scope's
first chunks are written when the job starts, the rest once its items are counted
(`chunks_plan_rest`), while workers run the first ones."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, transaction

from partnerhub.fees.models import RecalcChunk, RecalcJob
from partnerhub.fees.recalc.scope import item_counts
from partnerhub.fees.wakeup import recalc_wake_workers

Status = RecalcJob.Status


def _split_points(company_id: int, items: int, max_items: int) -> tuple[list[int], int]:
    """Item ids at which the pieces of a company with more than `max_items` items start
    (after the first), for pieces of equal size, and that size."""
    pieces = -(-items // max_items)
    size = -(-items // pieces)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn"
            " FROM fees_saleitem WHERE company_id = %s) AS ranked"
            " WHERE rn > 1 AND (rn - 1) %% %s = 0 ORDER BY id",
            [company_id, size],
        )
        return [row[0] for row in cur.fetchall()], size


# The job's last chunks shrink so that parallel workers finish together: a chunk holds at
# most 1/TAIL_PIECES of the items not yet in a chunk, but never less than
# 1/TAIL_PIECES of RECALC_CHUNK_ITEMS (guided self-scheduling).
TAIL_PIECES = 4


def chunk_item_cap(remaining: int, max_items: int) -> int:
    """How many items the next chunk may hold when `remaining` items are not yet in one."""
    floor = max(1, max_items // TAIL_PIECES)
    return min(max_items, max(floor, -(-remaining // TAIL_PIECES)))


def chunks_plan(job: RecalcJob, companies: list[int] | None = None, *, head: bool = False) -> None:
    """Write chunks for `companies` (by default every company of the scope not yet in a
    chunk): in id order, packed while a chunk holds at most RECALC_CHUNK_ITEMS items (fewer
    towards the end: `chunk_item_cap`) and RECALC_CHUNK_COMPANIES companies; a company
    with more items than RECALC_CHUNK_ITEMS is split into pieces of equal size by item
    id, its first and last piece open-ended so every item of the company is covered
    whenever it was made.

    `head`: the companies are the first ones of a longer scope whose other items are not
    counted yet, so only full chunks are written (no shrinking: most of the job is still
    ahead); the companies of the last, unfilled chunk are left to the rest.

    Companies up to `cursor_company_id` are left out: a job started by an older release
    had done them already."""
    counts = job.scope_item_counts or {}
    max_items = max(1, settings.RECALC_CHUNK_ITEMS)
    max_companies = max(1, settings.RECALC_CHUNK_COMPANIES)
    if companies is None:
        companies = job.scope_company_ids or []
    companies = [c for c in companies if c > job.cursor_company_id]
    remaining = sum(counts.get(str(c), 0) for c in companies)
    seq = RecalcChunk.objects.filter(job=job).count()
    chunks: list[RecalcChunk] = []

    def add(company_ids: list[int], counted: int, completed: int, lo: Any, hi: Any) -> None:
        chunks.append(
            RecalcChunk(
                job=job,
                seq=seq + len(chunks),
                company_ids=company_ids,
                items_counted=counted,
                companies_completed=completed,
                item_id_from=lo,
                item_id_to=hi,
            )
        )

    group: list[int] = []
    group_items = 0
    for company in companies:
        items = counts.get(str(company), 0)
        cap = max_items if head else chunk_item_cap(remaining, max_items)
        if group and (group_items + items > cap or len(group) >= max_companies):
            add(group, group_items, len(group), None, None)
            remaining -= group_items
            group, group_items = [], 0
        if items <= max_items:
            group.append(company)
            group_items += items
            continue
        bounds, size = _split_points(company, items, max_items)
        edges: list[int | None] = [None, *bounds, None]
        for k in range(len(edges) - 1):
            last = k == len(edges) - 2
            counted = max(0, items - size * k) if last else size
            add([company], counted, 1 if last else 0, edges[k], edges[k + 1])
        remaining -= items
    if group and not head:
        add(group, group_items, len(group), None, None)
    RecalcChunk.objects.bulk_create(chunks, batch_size=500)


def chunks_plan_rest(job_id: int, worker_id: str) -> None:
    """Count the items of the scope's companies scope_freeze left uncounted and write
    the chunks of every company not yet in one; then the job may close.

    Counting 1,000,000 items took 50 ms, half the job's start: the first chunks (from the
    first companies) commit before it, so helpers start on them meanwhile. The count runs
    outside the job's row lock, which chunks take to add their progress."""
    job = (
        RecalcJob.objects.filter(pk=job_id)
        .only("scope_company_ids", "scope_item_counts", "chunks_planned")
        .get()
    )
    if job.chunks_planned:
        return
    counted = job.scope_item_counts or {}
    counts = item_counts([c for c in job.scope_company_ids or [] if str(c) not in counted])
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().get(pk=job_id)
        if job.chunks_planned or job.status != Status.RUNNING or job.worker_id != worker_id:
            return  # planned already, or no longer this worker's to plan
        in_chunks = {
            company
            for ids in RecalcChunk.objects.filter(job=job).values_list("company_ids", flat=True)
            for company in ids
        }
        job.scope_item_counts = {**(job.scope_item_counts or {}), **counts}
        job.items_total += sum(counts.values())
        chunks_plan(job, [c for c in job.scope_company_ids or [] if c not in in_chunks])
        job.chunks_planned = True
        job.save(update_fields=["scope_item_counts", "items_total", "chunks_planned"])
        recalc_wake_workers()
