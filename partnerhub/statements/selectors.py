"""Reading statements (SPEC §15), scoped to the actor like every other read: another
tenant's company, statement or reseller is "not found".

Drafts are recomputed on read (statements/services.py writes them only when something
changed), so what a reader sees of an open period is never stale.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone

from partnerhub.companies.selectors import company_get_for_actor
from partnerhub.core.actor import Actor, Role, reseller_scope
from partnerhub.core.errors import NotFound
from partnerhub.core.money import minor_to_major_str
from partnerhub.resellers.models import Reseller
from partnerhub.statements.models import Statement
from partnerhub.statements.reseller import (
    ResellerBook,
    month_bounds,
    reseller_book,
    reseller_statements_compute,
)
from partnerhub.statements.services import (
    company_drafts_refresh_many,
    reseller_drafts_refresh,
    statement_refresh,
)


def _statement_scope(actor: Actor) -> Q:
    if actor.role == Role.COMPANY:
        return Q(kind=Statement.Kind.COMPANY, company_id=actor.company_id)
    return reseller_scope(actor)


def company_statements_for_actor(
    actor: Actor, company_id: int, *, now: datetime | None = None
) -> list[Statement]:
    """The company's statements, newest period first: its open periods' drafts, fresh,
    and every closed one."""
    company = company_get_for_actor(actor, company_id)
    listed = Statement.objects.filter(kind=Statement.Kind.COMPANY, company_id=company.pk)
    order = ("-period_start", "currency", "id")
    known = list(listed.order_by(*order))
    # The statements read once serve the refresh and the answer, unless a draft changed.
    if company_drafts_refresh_many([company], now=now or timezone.now(), known=known):
        return list(listed.order_by(*order))
    return known


def statement_get_for_actor(actor: Actor, statement_id: int) -> Statement:
    statement = Statement.objects.filter(_statement_scope(actor), pk=statement_id).first()
    if statement is None:
        raise NotFound("Statement not found.")
    statement = statement_refresh(statement)
    found = (
        Statement.objects.filter(pk=statement.pk)
        .select_related("company", "reseller")
        .prefetch_related("lines")
        .first()
    )
    if found is None:  # a draft whose currency no longer has anything
        raise NotFound("Statement not found.")
    return found


def _require_reseller(actor: Actor, reseller_id: int) -> None:
    if actor.role == Role.COMPANY:
        raise NotFound("Not found.")
    actor.require_reseller(reseller_id)


def reseller_statements_for_actor(
    actor: Actor, reseller_id: int, month: date, *, now: datetime | None = None
) -> list[Statement]:
    """The reseller's statements of the calendar month (one per currency): closed, or the
    drafts recomputed."""
    _require_reseller(actor, reseller_id)
    if not Reseller.objects.filter(pk=reseller_id).exists():
        raise NotFound("Not found.")
    return reseller_drafts_refresh(reseller_id, month, now=now or timezone.now())


@dataclass(frozen=True, slots=True)
class MonthRevenue:
    month: date  # first day
    currency: str
    status: str  # closed, draft
    gross_minor: int  # minor units
    net_minor: int  # minor units
    gst_minor: int  # minor units
    gateway_fees_minor: int  # minor units
    reseller_share_minor: int  # minor units
    platform_share_minor: int  # minor units


def _months_back(end: date, months: int) -> list[date]:
    index = end.year * 12 + end.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(months - 1, -1, -1)]


def reseller_revenue_history(
    actor: Actor, reseller_id: int, months: int = 12, end: date | None = None
) -> list[MonthRevenue]:
    """Month by month, oldest first, the reseller's billed revenue and its split: closed
    statements as stored, open months computed (not stored)."""
    _require_reseller(actor, reseller_id)
    wanted = _months_back(end or timezone.now().date(), months)
    first, _ = month_bounds(wanted[0])
    closed = {
        (s.period_start, s.currency): s
        for s in Statement.objects.filter(
            kind=Statement.Kind.RESELLER,
            reseller_id=reseller_id,
            status=Statement.Status.CLOSED,
            period_start__gte=first,
        )
    }
    out = []
    book: ResellerBook | None = None  # loaded once, for the first open month
    for month in wanted:
        stored = [s for (start, _), s in sorted(closed.items()) if start == month]
        if stored:
            out += [_revenue(month, Statement.Status.CLOSED, s.__dict__) for s in stored]
            continue
        book = book or reseller_book(reseller_id)
        first_day = min((c.created_at.date() for c in book.companies), default=None)
        if first_day is None or month_bounds(month)[1] <= first_day:
            continue  # before the reseller's first company: nothing to compute
        for computed in reseller_statements_compute(reseller_id, month, book=book):
            out.append(
                _revenue(
                    month,
                    Statement.Status.DRAFT,
                    {**computed.totals(), "currency": computed.currency},
                )
            )
    return out


def _revenue(month: date, status: str, values: dict[str, object]) -> MonthRevenue:
    def amount(name: str) -> int:
        value = values.get(name, 0)
        return value if isinstance(value, int) else 0

    return MonthRevenue(
        month=month,
        currency=str(values["currency"]),
        status=status,
        gross_minor=amount("gross_minor"),
        net_minor=amount("net_minor"),
        gst_minor=amount("gst_minor"),
        gateway_fees_minor=amount("gateway_fees_minor"),
        reseller_share_minor=amount("reseller_share_minor"),
        platform_share_minor=amount("platform_share_minor"),
    )


CSV_COLUMNS = [
    "statement_id",
    "statement_number",
    "status",
    "kind",
    "currency",
    "period_start",
    "period_end",
    "company_id",
    "line",
    "line_kind",
    "description",
    "fee_type",
    "quantity",
    "net",
    "gst",
    "gross",
    "reseller_fee",
    "gateway_fee",
    "reseller_share",
    "platform_share",
]
_LINE_AMOUNTS = [
    "net_minor",
    "gst_minor",
    "gross_minor",
    "reseller_fee_minor",
    "gateway_fee_minor",
    "reseller_share_minor",
    "platform_share_minor",
]


def statement_csv(statement: Statement) -> str:
    """One row per line, amounts in major units of the statement's currency (exactly:
    minor_to_major_str), under a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in statement.lines.all():
        writer.writerow(
            [
                statement.pk,
                statement.number or "",
                statement.status,
                statement.kind,
                statement.currency,
                statement.period_start.isoformat(),
                statement.period_end.isoformat(),
                line.company_id or "",
                line.seq,
                line.kind,
                line.description,
                line.fee_type,
                line.quantity,
                *(minor_to_major_str(getattr(line, n), statement.currency) for n in _LINE_AMOUNTS),
            ]
        )
    return out.getvalue()
