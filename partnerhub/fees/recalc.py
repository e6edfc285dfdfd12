"""Running fee recalculation jobs: chunked, set-based, resumable, parallel (SPEC §6, §11).

A job covers a fixed list of companies, decided when the change that needs it
commits (fees/jobs.py). When it first starts, its work is planned as RecalcChunk
rows bounded by items (whole companies packed up to RECALC_CHUNK_ITEMS, a bigger
company split by item id): a long scope's first chunks at once, the rest once its
items are counted, while workers run those (`_plan_rest`). Any worker claims a
pending chunk (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs one writer at a
time) and, in one transaction, runs the chunk's `UPDATE … FROM`, marks the chunk done
and adds its counts to the job row. So whatever kills a worker, the chunk rows say
exactly what is done: its chunk returns to pending, another worker takes it, and
nothing is counted twice.

The job's own task (`recalculation_run`) owns it: it starts it, works chunks and,
once none is left, waits for chunks other workers hold and closes the job. Idle
worker processes join running jobs (`recalculation_help`, polled by the worker
command), which is how one job spreads over several workers and machines.

The statement prices every item of the chunk's companies from its company's
*current* effective schedule (plan, own or reseller's, as
Company.effective_fee_schedule_id), with the companies locked, so any chunk that
runs after an edit leaves fees reflecting that edit, whatever scope or order
jobs (or parallel chunks) run in. Why that makes stored fees exact once the
queue is empty: docs/architecture.md, "Stored fees never go stale".

An item whose (currency, fee type) has no entry in the effective schedule
gets a reseller fee of 0 and blended false: creating such an item is refused
(fees/services.py), but a later schedule edit may drop the entry, and a
recalculation must not fail a million-item job over it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max
from django.tasks import TaskResultStatus
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.models import DBTaskResult

from partnerhub.audit.services import audit_record
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, Role
from partnerhub.fees.models import RecalcChunk, RecalcJob, SaleItem
from partnerhub.fees.selectors import job_serialize
from partnerhub.fees.terms import (
    gateway_fee_of,
    rates_sql,
    rates_statistics_ensure,
    reseller_fee_of,
)
from partnerhub.fees.wakeup import recalc_wake_workers
from partnerhub.webhooks.events import event_emit

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


def job_actor(job_id: int) -> Actor:
    return Actor(role=Role.SYSTEM, label=f"job {job_id}")


# --- The statement ------------------------------------------------------------


def recalculation_sql(company_filter: str, item_filter: str = "") -> str:
    """One set-based UPDATE over the items of the companies matching `company_filter`
    (a predicate on `{col}`, applied to the rates and to `fees_saleitem.company_id`),
    narrowed by `item_filter` (SQL on `fees_saleitem.id`, for a piece of a company).

    Parameters: fees_updated_at, updated_at, filter params (twice), item filter params.

    Every item of the companies, including items created after the job started: an
    item created from old terms may commit (its id drawn before the job looked) just
    before the chunk takes the company lock, and only this statement can reprice it.

    On PostgreSQL the rates are fenced (`OFFSET 0`) so the planner computes them first
    and joins the items to them in one hash join. Flattened into the UPDATE, the rates'
    companies and the items' companies are filtered separately, the planner cannot tell
    they are the same set, and it estimated a 100-company chunk at 1 % of its rows;
    after each ANALYZE it then picked one of several plans, some of them taking twice
    as long (sorts and rescans of the chunk's items). With the fence every chunk gets
    the same plan, and the statement over a whole 1,000,000-item plan took 2.1 s instead
    of 2.7 s (docs/benchmarks.md, 2026-12-01).
    """
    price = "fees_saleitem.price_minor"
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    return f"""
        UPDATE fees_saleitem SET
            reseller_fee_minor = {reseller_fee_of(price)},
            gateway_fee_minor = {gateway_fee_of(price)},
            blended = r.blended,
            fee_revision = fees_saleitem.fee_revision + 1,
            fees_updated_at = %s,
            updated_at = %s
        FROM ({rates_sql(company_filter)}{fence}) AS r
        WHERE fees_saleitem.company_id = r.company_id
          AND fees_saleitem.currency = r.currency
          AND fees_saleitem.fee_type = r.fee_type
          AND {company_filter.format(col="fees_saleitem.company_id")}
          {item_filter}
    """


def company_id_filter(company_ids: Sequence[int]) -> tuple[str, list[Any]]:
    """`{col}` in the given ids, as SQL text and parameters for the current database."""
    if connection.vendor == "postgresql":
        return "{col} = ANY(%s)", [list(company_ids)]
    return "{col} IN (" + ", ".join(["%s"] * len(company_ids)) + ")", list(company_ids)


def item_range_filter(item_from: int | None, item_to: int | None) -> tuple[str, list[Any]]:
    """`item_from <= id < item_to` (either end open) as SQL text and parameters."""
    sql, params = "", list[Any]()
    if item_from is not None:
        sql += " AND fees_saleitem.id >= %s"
        params.append(item_from)
    if item_to is not None:
        sql += " AND fees_saleitem.id < %s"
        params.append(item_to)
    return sql, params


# How PostgreSQL plans a chunk's statement (transaction-local settings):
# - a plan for the chunk's own companies: with statements prepared (settings.py) it
#   switches to a generic plan after five runs, and the jobs were then 50 % slower
#   than the raw UPDATE (docs/benchmarks.md, 2026-11-29);
# - the items joined to the fenced rates (recalculation_sql) by a hash join, whatever
#   the chunk's size. The planner estimates that join at one row (it multiplies the
#   three join columns' selectivities as if independent), and for small chunks then
#   merge-joined on the company alone, comparing each item with its company's 36 rates:
#   a 25,000-item chunk took 0.11 s instead of 0.05 s (docs/benchmarks.md, 2026-12-01).
#   Nested loops are off too, for the same reason; the rates' own cross joins can only
#   be nested loops and still are, but their cost is then inflated past JIT's
#   threshold, hence no JIT (the statement gains nothing from it).
CHUNK_PLANNER = (
    ("plan_cache_mode", "force_custom_plan"),
    ("enable_mergejoin", "off"),
    ("enable_nestloop", "off"),
    ("jit", "off"),
)


def recalculate_items(
    company_ids: Sequence[int],
    *,
    item_from: int | None = None,
    item_to: int | None = None,
    asynchronous_commit: bool = False,
) -> int:
    """Rewrite the fees of every item of the companies (with an id in [item_from,
    item_to) when given); returns the row count.

    Call inside a transaction. On PostgreSQL the companies are locked first (in id
    order) so two jobs touching one company run their chunks one after the other:
    the later chunk's statement then sees every schedule edit committed before it, and
    every item written under the company's share lock (fees/terms.py::item_terms).
    """
    if not company_ids:
        return 0
    where, params = company_id_filter(company_ids)
    items_sql, items_params = item_range_filter(item_from, item_to)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # `asynchronous_commit`: see _run_claimed_chunk. One round trip for every
            # setting (each for this transaction only): under load every round trip
            # waits for the scheduler.
            cur.execute(
                "SELECT " + ", ".join(f"set_config('{k}', '{v}', true)" for k, v in CHUNK_PLANNER)
                + (", set_config('synchronous_commit', 'off', true)" if asynchronous_commit else "")
            )  # fmt: skip
            cur.execute(
                "SELECT id FROM companies_company WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [list(company_ids)],
            )
        cur.execute(
            recalculation_sql(where, items_sql), [now, now, *params, *params, *items_params]
        )
        return int(cur.rowcount)


# --- Claiming, chunks, finishing ------------------------------------------------


def stale_cutoff() -> timedelta:
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
    if job.heartbeat_at is None or job.heartbeat_at < timezone.now() - stale_cutoff():
        return True
    return _owner_is_dead_here(job.worker_id)


def _batches(ids: list[int]) -> list[list[int]]:
    """`ids` in lists one statement can take as parameters: all at once on PostgreSQL
    (company_id_filter passes one array), 500 at a time on SQLite (one parameter each)."""
    size = max(1, len(ids)) if connection.vendor == "postgresql" else 500
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _item_counts(company_ids: list[int]) -> dict[str, int]:
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


def _plan_ahead() -> int:
    return max(1, settings.RECALC_PLAN_AHEAD_COMPANIES)


def _freeze_scope(job: RecalcJob) -> None:
    """Fix the job's company list (the reseller's own companies among those named when
    the change committed) and count the items of its first RECALC_PLAN_AHEAD_COMPANIES
    companies (all of them when there are no more; _plan_rest counts the others)."""
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
    ahead = _plan_ahead()
    job.chunks_planned = len(ids) <= ahead
    job.scope_item_counts = _item_counts(ids[:ahead])
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


def _plan_chunks(job: RecalcJob, companies: list[int] | None = None, *, head: bool = False) -> None:
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


def _plan_rest(job_id: int, worker_id: str) -> None:
    """Count the items of the scope's companies _freeze_scope left uncounted and write
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
    counts = _item_counts([c for c in job.scope_company_ids or [] if str(c) not in counted])
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
        _plan_chunks(job, [c for c in job.scope_company_ids or [] if c not in in_chunks])
        job.chunks_planned = True
        job.save(update_fields=["scope_item_counts", "items_total", "chunks_planned"])
        recalc_wake_workers()


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
            rates_statistics_ensure()  # or every chunk may hash its rates on disk
            if job.chunks_planned:
                _plan_chunks(job)
            else:
                _plan_chunks(job, (job.scope_company_ids or [])[: _plan_ahead()], head=True)
            recalc_wake_workers()  # helpers join as this commits
        elif job.chunks_planned and not RecalcChunk.objects.filter(job=job).exists():
            _plan_chunks(job)  # started by a release before chunk rows
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


def _job_state(job_id: int) -> RecalcJob | None:
    """The job's status, owner and heartbeat, without its (large) scope columns."""
    return RecalcJob.objects.filter(pk=job_id).only("status", "worker_id", "heartbeat_at").first()


def _run_chunk(job_id: int, worker_id: str, *, owner: bool = True) -> bool:
    """Claim one pending chunk of the job and run it in one transaction with its progress.

    True when a chunk ran; False when none is pending and free (the job is then closed
    if every chunk is done: in-process, False means the job is finished). The owner (the
    worker that claimed the job) raises JobTakenOver if the job was taken from it; a
    helper (`owner=False`) works any running job and raises it if the job stopped
    running while its chunk ran (the chunk is then rolled back).
    """
    with transaction.atomic():
        # Unlocked: every chunk reads the job row; only its last statement writes it.
        job = _job_state(job_id)
        if job is None or job.status not in UNFINISHED:
            return False
        mine = job.status == Status.RUNNING and (not owner or job.worker_id == worker_id)
        if not mine:
            if owner:
                raise JobTakenOver(f"job {job_id} now belongs to {job.worker_id or 'nobody'}")
            return False
        if not owner and job_is_stale(job):
            return False  # its owner is gone: recovery hands the job to a new owner first
        chunk = _claim_chunk(job_id)
        if chunk is not None:
            _run_claimed_chunk(job_id, chunk, worker_id, owner=owner)
            return True
    _finish_if_done(job_id)
    return False


def _claim_chunk(job_id: int) -> RecalcChunk | None:
    """The job's first pending chunk no other worker holds, locked to the end of this
    transaction (`SKIP LOCKED` on PostgreSQL; SQLite runs one writer at a time)."""
    return (
        RecalcChunk.objects.select_for_update(skip_locked=True)
        .filter(job_id=job_id, done=False)
        .order_by("seq")
        .first()
    )


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
    if _mark_done(job_id, chunk, worker_id, done, now, owner=owner) == 0:
        raise JobTakenOver(f"job {job_id} stopped running under chunk {chunk.seq}")


def _mark_done(
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


def _finish_if_done(job_id: int) -> None:
    """Close the job as succeeded once its chunks are all planned and all done (whoever
    ran the last one)."""
    pending = RecalcChunk.objects.filter(job_id=job_id, done=False)
    if pending.exists():
        return
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().get(pk=job_id)
        if job.status == Status.RUNNING and job.chunks_planned and not pending.exists():
            if job.worker_id and _owner_is_dead_here(job.worker_id):
                retire_task(job.task_id, job.pk)  # helpers finished a dead owner's job
            _finish(job, Status.SUCCEEDED)


def _fail(job_id: int, worker_id: str, exc: BaseException) -> None:
    with transaction.atomic():
        job = RecalcJob.objects.select_for_update().get(pk=job_id)
        if job.status == Status.RUNNING and job.worker_id == worker_id:
            _finish(job, Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])


# Set while this process runs a job of its own: its helper thread then stands back, so
# a worker process runs one chunk at a time (management/commands/worker.py).
_owning = threading.Event()
# How often an owner whose remaining chunks are held by other workers looks again.
TAIL_POLL_SECONDS = 0.05


def _wait_for_others(job_id: int, worker_id: str) -> bool:
    """After the owner found no free chunk: True to look again (chunks are held by other
    workers, which may die and release them), False when the job is over or stalled."""
    job = _job_state(job_id)
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
    if _claim(job_id, worker_id) is None:
        return RecalcJob.objects.filter(pk=job_id).first()
    _owning.set()
    try:
        _plan_rest(job_id, worker_id)
        while True:
            while _run_chunk(job_id, worker_id):
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
        job = _job_state(job_id)
        if job is None or job_is_stale(job):
            continue  # its owner is gone: recovery hands it to a new one first
        try:
            while not _owning.is_set() and _run_chunk(job_id, worker_id, owner=False):
                ran += 1
        except JobTakenOver as exc:
            logger.info("%s; helper moves on", exc)
        except Exception:
            logger.exception("Helping job %s failed; its owner will run the chunk", job_id)
    return ran


def retire_task(task_id: str, job_id: int) -> None:
    """Mark the dead worker's task failed, so the task table does not show it running forever."""
    if task_id:
        DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path="partnerhub.fees.recalc.WorkerLost",
            traceback=f"The worker running job {job_id} stopped; the job was re-enqueued.",
        )


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
