"""Writing statements (SPEC §15): drafts kept up to date on read, and closing.

A draft is stored so it has an id (the API and the hub link to it); reading it recomputes
it and writes only when something changed. Closing freezes a company's statements of
every period that ended (plus the grace) before the cutoff, oldest first, numbers them in
sequence per reseller and raises the company's `SaleCutoff` in the same transaction as
the statements: a sale dated before the cutoff that arrives afterwards is booked late
into the first open period (sales ingestion), so every sale lands in exactly one
statement. A closed statement and its lines are never written again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from partnerhub.companies.models import Company
from partnerhub.sales.cutoffs import cutoffs_lock, cutoffs_raise
from partnerhub.sales.models import SaleCutoff
from partnerhub.statements.compute import (
    LINE_FIELDS,
    ComputedLine,
    ComputedStatement,
    company_statements_compute,
    day_start,
    line_values,
)
from partnerhub.statements.freeze import statements_freeze
from partnerhub.statements.models import Statement, StatementLine
from partnerhub.statements.reseller import month_bounds, reseller_statements_compute
from partnerhub.statements.subscriptions import Subscription, subscriptions_load
from partnerhub.usage.periods import Period

COMPANY_FIELDS = ("reseller_id", "billing_cycle", "billing_currency", "billing_anchor")


def grace() -> timedelta:
    return timedelta(hours=int(getattr(settings, "PARTNERHUB_STATEMENT_GRACE_HOURS", 24)))


def closable(period: Period, cutoff: datetime) -> bool:
    """A period closes once it ended and the grace after it passed."""
    return day_start(period.end) + grace() <= cutoff


def companies_for_statements(company_ids: Iterable[int]) -> list[Company]:
    return list(
        Company.objects.filter(pk__in=list(company_ids))
        .only("pk", "plan_id", "created_at", *COMPANY_FIELDS)
        .order_by("pk")
    )


def _line_rows(statement: Statement, lines: Sequence[ComputedLine]) -> list[StatementLine]:
    return [
        StatementLine(
            statement=statement, seq=seq, **dict(zip(LINE_FIELDS, line_values(line), strict=True))
        )
        for seq, line in enumerate(lines, start=1)
    ]


def _statement_row(computed: ComputedStatement, now: datetime) -> Statement:
    return Statement(
        kind=computed.kind,
        status=Statement.Status.DRAFT,
        reseller_id=computed.reseller_id,
        company_id=computed.company_id,
        currency=computed.currency,
        period_start=computed.period_start,
        period_end=computed.period_end,
        computed_at=now,
        **computed.totals(),
    )


def _scope(computed: ComputedStatement) -> Q:
    if computed.kind == Statement.Kind.COMPANY:
        return Q(kind=computed.kind, company_id=computed.company_id)
    return Q(kind=computed.kind, reseller_id=computed.reseller_id)


def drafts_save(
    computed: Sequence[ComputedStatement],
    *,
    now: datetime,
    known: Sequence[Statement] | None = None,
) -> list[Statement]:
    return drafts_store(computed, now=now, known=known)[0]


def drafts_store(
    computed: Sequence[ComputedStatement],
    *,
    now: datetime,
    known: Sequence[Statement] | None = None,
) -> tuple[list[Statement], bool]:
    """Store each computed statement as the draft of its period (and currency), rewriting
    a stored draft only where a line or total changed; a closed statement is left as it
    is and answered instead. Drafts of the same period in a currency that no longer has
    anything are removed. The stored rows are read in one query (and their lines in one
    more); a read that finds nothing changed writes nothing and opens no transaction.
    `known`: every stored statement of these owners, already read by the caller."""
    if not computed:
        return [], False
    if known is None:
        where = Q()
        for scope, period_start, _ in _periods_of(computed):
            where |= scope & Q(period_start=period_start)
        known = list(Statement.objects.filter(where))
    periods = {(c.kind, _owner(c), c.period_start) for c in computed}
    rows = [s for s in known if (s.kind, _owner(s), s.period_start) in periods]
    prefetch_related_objects([s for s in rows if s.status == Statement.Status.DRAFT], "lines")
    stored = {(s.kind, _owner(s), s.period_start, s.currency): s for s in rows}
    out: list[Statement | None] = []
    changed: list[tuple[int, Statement | None, ComputedStatement]] = []
    for statement in computed:
        row = stored.pop(_draft_key(statement), None)
        if row is not None and (row.status == Statement.Status.CLOSED or _same(row, statement)):
            out.append(row)
        else:
            changed.append((len(out), row, statement))
            out.append(None)
    stale = [s.pk for s in stored.values() if s.status == Statement.Status.DRAFT]
    if changed or stale:
        with transaction.atomic():
            Statement.objects.filter(pk__in=stale).delete()
            for index, row, statement in changed:
                out[index] = _draft_write(row, statement, now)
    return [row for row in out if row is not None], bool(changed or stale)


def _owner(s: ComputedStatement | Statement) -> int | None:
    return s.company_id if s.kind == Statement.Kind.COMPANY else s.reseller_id


def _draft_key(c: ComputedStatement) -> tuple[Any, ...]:
    return (c.kind, _owner(c), c.period_start, c.currency)


def _same(stored: Statement, computed: ComputedStatement) -> bool:
    same_lines = [line_values(line) for line in stored.lines.all()] == [
        line.key() for line in computed.lines
    ]
    totals = computed.totals()
    same_totals = all(getattr(stored, name) == value for name, value in totals.items())
    return same_lines and same_totals and stored.period_end == computed.period_end


def _periods_of(computed: Sequence[ComputedStatement]) -> list[tuple[Q, date, list[str]]]:
    seen: dict[tuple[str, int | None, int, date], list[str]] = defaultdict(list)
    scopes: dict[tuple[str, int | None, int, date], Q] = {}
    for c in computed:
        key = (c.kind, c.company_id, c.reseller_id, c.period_start)
        seen[key].append(c.currency)
        scopes[key] = _scope(c)
    return [(scopes[key], key[3], currencies) for key, currencies in seen.items()]


def _draft_write(stored: Statement | None, computed: ComputedStatement, now: datetime) -> Statement:
    if stored is not None:
        stored.lines.all().delete()
        for name, value in computed.totals().items():
            setattr(stored, name, value)
        stored.period_end = computed.period_end
        stored.computed_at = now
        stored.save()
    else:
        stored = _statement_row(computed, now)
        stored.save()
    StatementLine.objects.bulk_create(_line_rows(stored, computed.lines))
    return stored


def company_open_period(subscription: Subscription, cutoff: date | None, on: date) -> Period:
    """The period holding `on`, never one before the first open one (`cutoff`)."""
    if cutoff is not None and on < cutoff:
        return subscription.period_from(cutoff)
    return subscription.period_containing(on, walk_from=cutoff)


# --- closing ---------------------------------------------------------------------------


def statements_close_companies(
    *, company_ids: Sequence[int], cutoff: datetime, now: datetime | None = None
) -> int:
    """Close every statement of these companies whose period ended (plus the grace) by
    `cutoff` and is not closed yet, oldest period first; answers how many were closed.
    Idempotent: a second call closes nothing more. Runs in one transaction (a savepoint
    inside the caller's), so a close job's chunk commits its statements with its mark."""
    now = now or timezone.now()
    with transaction.atomic():
        # The sales handshake: the cutoff rows locked FOR UPDATE (made first where a
        # company has none), so a concurrent sale either committed before the sales are
        # read here or waits and then sees the raised cutoff and is booked late.
        cutoffs = cutoffs_lock(company_ids, for_update=True)
        companies = companies_for_statements(company_ids)
        subscriptions = subscriptions_load(companies)
        due: dict[int, Period] = {}
        for company in companies:
            sub = subscriptions[company.pk]
            known = cutoffs.get(company.pk)
            period = sub.period_from(known) if known else sub.first_period()
            if closable(period, cutoff):
                due[company.pk] = period
        closed = 0
        raised: dict[int, date] = {}
        while due:
            computed = company_statements_compute(subscriptions, due)
            frozen = [s for company_id in sorted(due) for s in computed[company_id]]
            closed += statements_freeze(frozen, now=now)
            following: dict[int, Period] = {}
            for company_id, period in due.items():
                raised[company_id] = period.end
                after = subscriptions[company_id].next_period(period)
                if closable(after, cutoff):
                    following[company_id] = after
            due = following
        cutoffs_raise(raised)
    return closed


def company_drafts_refresh_many(
    companies: Sequence[Company], *, now: datetime, known: Sequence[Statement] | None = None
) -> bool:
    """Recompute the stored drafts of the companies' open periods: the current one and,
    during the grace after its end, the one before. `known`: all their stored
    statements, read by the caller. Answers whether a draft was written."""
    subscriptions = subscriptions_load(companies)
    cutoffs = dict(
        SaleCutoff.objects.filter(company_id__in=[c.pk for c in companies]).values_list(
            "company_id", "closed_until"
        )
    )
    current: dict[int, Period] = {}
    previous: dict[int, Period] = {}
    for company in companies:
        sub, cutoff = subscriptions[company.pk], cutoffs.get(company.pk)
        period = company_open_period(sub, cutoff, now.date())
        current[company.pk] = period
        # The period before is still open during its grace (a sale dated in it may come):
        # recomputed until then; after it, the close recomputes it anyway.
        if period.start > (cutoff or sub.first_period().start) and not closable(
            Period(period.start, period.start), now
        ):
            previous[company.pk] = sub.period_containing(
                date.fromordinal(period.start.toordinal() - 1), walk_from=cutoff
            )
    written = False
    for periods in (previous, current):
        if periods:
            computed = company_statements_compute(subscriptions, periods)
            flat = [s for pk in sorted(computed) for s in computed[pk]]
            written = drafts_store(flat, now=now, known=known)[1] or written
    return written


def statement_refresh(statement: Statement, *, now: datetime | None = None) -> Statement:
    """A draft recomputed for its own period (a closed statement as it is)."""
    if statement.status == Statement.Status.CLOSED:
        return statement
    now = now or timezone.now()
    if statement.kind == Statement.Kind.RESELLER:
        reseller_drafts_refresh(statement.reseller_id, statement.period_start, now=now)
    else:
        company = companies_for_statements([statement.company_id or 0])
        if company:
            subscription = subscriptions_load(company)[company[0].pk]
            period = subscription.period_from(statement.period_start)
            computed = company_statements_compute(
                {company[0].pk: subscription}, {company[0].pk: period}
            )
            drafts_save(computed[company[0].pk], now=now)
    fresh = Statement.objects.filter(pk=statement.pk).first()
    return fresh or statement


def reseller_drafts_refresh(reseller_id: int, month: date, *, now: datetime) -> list[Statement]:
    """The reseller's statements of `month`: the closed ones, or the drafts recomputed."""
    start, _ = month_bounds(month)
    closed = list(
        Statement.objects.filter(
            kind=Statement.Kind.RESELLER,
            reseller_id=reseller_id,
            period_start=start,
            status=Statement.Status.CLOSED,
        ).order_by("currency")
    )
    if closed:
        return closed
    return drafts_save(reseller_statements_compute(reseller_id, start), now=now)


def reseller_statements_close(
    *, reseller_ids: Sequence[int], month: date, now: datetime | None = None
) -> int:
    """Close the resellers' statements of `month` from their closed company statements
    (run after every company period ending in the month was closed). Idempotent."""
    now = now or timezone.now()
    start, _ = month_bounds(month)
    closed = 0
    with transaction.atomic():
        done = set(
            Statement.objects.filter(
                kind=Statement.Kind.RESELLER,
                reseller_id__in=reseller_ids,
                period_start=start,
                status=Statement.Status.CLOSED,
            ).values_list("reseller_id", flat=True)
        )
        for reseller_id in sorted(set(reseller_ids) - done):
            computed = reseller_statements_compute(reseller_id, start, closed_only=True)
            closed += statements_freeze(computed, now=now)
    return closed
