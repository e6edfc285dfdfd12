"""What a close job covers: its cutoff, its chunks of companies, and the months whose
reseller statements it closes once every chunk is done.

Every period starts and ends at a midnight (UTC, settings.TIME_ZONE): a billing period
is a range of dates, and the engine closes a period once `period_end + grace <= cutoff`
(statements/services.py::statements_close_companies).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from partnerhub.companies.models import Company
from partnerhub.core.errors import ValidationFailed
from partnerhub.statements.models import CloseChunk, CloseJob, Statement

# Companies per chunk: one chunk is one transaction (its statements, its done mark and
# the job's counters), so this bounds what a killed worker loses and what one worker
# holds in memory; 500 companies of 100 sales a month each are one aggregate over
# 50,000 sales.
CHUNK_COMPANIES = 500
PERIOD_PATTERN = re.compile(r"(\d{4})-(\d{2})")


def grace() -> timedelta:
    return timedelta(hours=settings.PARTNERHUB_STATEMENT_GRACE_HOURS)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def due_cutoff(now: datetime) -> datetime:
    """The last moment at or before `now` at which some period's end + grace passed.

    Period ends are midnights, so a job with this cutoff closes exactly what one with
    `now` would, and every worker that checks within the same day computes the same
    cutoff (close/schedule.py deduplicates on it)."""
    return midnight((now - grace()).astimezone(UTC).date()) + grace()


def month_cutoff(month: date, now: datetime) -> datetime:
    """`--period YYYY-MM`: periods ending by the month's end, once their grace has
    passed (never a period whose grace is still running, whatever the month)."""
    return min(due_cutoff(now), midnight(next_month(month)) + grace())


def period_parse(text: str, *, now: datetime) -> date:
    """`YYYY-MM` as the month's first day; a clear error for anything else, and for a
    month that has not begun (nothing in it can have ended)."""
    match = PERIOD_PATTERN.fullmatch(text.strip())
    month = int(match.group(2)) if match else 0
    if match is None or not 1 <= month <= 12 or int(match.group(1)) < 1:
        raise ValidationFailed.field(
            "period", f"must be a month as YYYY-MM (for example 2026-11), not {text!r}"
        )
    first = date(int(match.group(1)), month, 1)
    if first > now.astimezone(UTC).date():
        raise ValidationFailed.field(
            "period", f"{text} has not begun: no statement of it can have ended"
        )
    return first


def chunks_plan(job: CloseJob, *, chunk_companies: int = CHUNK_COMPANIES) -> None:
    """Cut every company, in id order, into ranges of `chunk_companies` and write them
    as the job's chunks; set the job's company total. Ranges are contiguous
    [from, to), so a company is in exactly one chunk; one created later with an id
    inside a range is closed with it (its count corrects the total then)."""
    size = max(1, chunk_companies)
    ids = list(Company.objects.order_by("pk").values_list("pk", flat=True))
    chunks = []
    for seq, start in enumerate(range(0, len(ids), size)):
        part = ids[start : start + size]
        upper = ids[start + size] if start + size < len(ids) else part[-1] + 1
        chunks.append(
            CloseChunk(
                job=job,
                seq=seq,
                company_id_from=part[0],
                company_id_to=upper,
                companies_counted=len(part),
            )
        )
    CloseChunk.objects.bulk_create(chunks, batch_size=500)
    job.companies_total = len(ids)
    job.chunks_planned = True


def chunk_company_ids(chunk: CloseChunk) -> list[int]:
    return list(
        Company.objects.filter(pk__gte=chunk.company_id_from, pk__lt=chunk.company_id_to)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reseller_months_due(cutoff: datetime) -> dict[date, list[int]]:
    """{month: reseller ids} of the reseller statements to close: months whose end +
    grace is at or before `cutoff`, with closed company statements (of a reseller and a
    currency) ending in them and no closed reseller statement for that reseller,
    currency and month yet. A month is a reseller's when a company period's last day
    (`period_end - 1 day`) falls in it (the contract's rule).

    Looks at every closed company statement's (reseller, currency, end), not only this
    job's, so a job that failed between its chunks and this stage is made good by the
    next one."""
    bound = month_start((cutoff - grace()).astimezone(UTC).date())  # months before it are due
    ends = (
        Statement.objects.filter(
            kind=Statement.Kind.COMPANY, status=Statement.Status.CLOSED, period_end__lte=bound
        )
        .values_list("reseller_id", "currency", "period_end")
        .distinct()
    )
    closed = set(
        Statement.objects.filter(
            kind=Statement.Kind.RESELLER, status=Statement.Status.CLOSED, period_start__lt=bound
        ).values_list("reseller_id", "currency", "period_start")
    )
    due: defaultdict[date, set[int]] = defaultdict(set)
    for reseller_id, currency, end in ends:
        month = month_start(end - timedelta(days=1))
        if (reseller_id, currency, month) not in closed:
            due[month].add(reseller_id)
    return {month: sorted(due[month]) for month in sorted(due)}
