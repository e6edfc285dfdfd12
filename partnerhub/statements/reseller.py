"""Reseller statements (SPEC §15): what a reseller's companies were billed in a calendar
month, and how it splits between the reseller, the platform, GST and the gateways.

A reseller statement for month M (one per currency) sums the company statements of its
companies whose period ENDS in M (its last day is in M): a company billed monthly from the
15th counts in the month its period closes. Each company gives at most two lines,
`subscription` (its subscription and proration lines) and `fees` (its fee and adjustment
lines), with every amount summed, so the identity that holds per company line,
gross = platform share + reseller share + GST + gateway fees, holds for the whole.

Closed company statements are read from their rows (one GROUP BY over their lines);
companies whose statement is still a draft are computed (statements/compute.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Case, CharField, F, Sum, Value, When

from partnerhub.companies.models import Company
from partnerhub.sales.models import SaleCutoff
from partnerhub.statements.compute import (
    ComputedLine,
    ComputedStatement,
    company_statements_compute,
)
from partnerhub.statements.models import Statement, StatementLine
from partnerhub.statements.subscriptions import Subscription, subscriptions_load
from partnerhub.usage.periods import Period

Kind = StatementLine.Kind
SUBSCRIPTION_KINDS = (Kind.SUBSCRIPTION, Kind.PRORATION)
AMOUNTS = (
    "net_minor",
    "gst_minor",
    "gross_minor",
    "reseller_fee_minor",
    "gateway_fee_minor",
    "reseller_share_minor",
    "platform_share_minor",
)


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, nxt


def period_ending_in(subscription: Subscription, month: date, cutoff: date | None) -> Period | None:
    """The company's period whose last day is in `month`, if one is."""
    start, nxt = month_bounds(month)
    last_day = date.fromordinal(nxt.toordinal() - 1)
    if last_day < subscription.created_on:
        return None
    walk = cutoff if cutoff is not None and cutoff <= last_day else None
    period = subscription.period_containing(last_day, walk_from=walk)
    if period.end == nxt:
        return period
    # Else the period before it ends in the month if it starts inside the month.
    if period.start <= start or period.start <= subscription.first_period().start:
        return None
    return subscription.period_containing(date.fromordinal(period.start.toordinal() - 1))


def _group_of(kind: str) -> str:
    return Kind.SUBSCRIPTION if kind in SUBSCRIPTION_KINDS else Kind.FEES


def _company_line(company_id: int, group: str, name: str, sums: dict[str, int]) -> ComputedLine:
    what = "subscription" if group == Kind.SUBSCRIPTION else "fees on sales"
    line = ComputedLine(kind=group, description=f"{name}: {what}", company_id=company_id)
    for amount, value in sums.items():
        setattr(line, amount, value)
    return line


CompanyLineSums = list[tuple[int, str, dict[str, int]]]


def closed_company_lines(reseller_id: int, month: date) -> dict[str, CompanyLineSums]:
    """Per currency: (company id, group, summed amounts) of the reseller's CLOSED company
    statements ending in `month`: one GROUP BY over their lines in SQL."""
    start, nxt = month_bounds(month)
    group = Case(
        When(kind__in=SUBSCRIPTION_KINDS, then=Value(Kind.SUBSCRIPTION)),
        default=Value(Kind.FEES),
        output_field=CharField(),
    )
    rows = (
        StatementLine.objects.filter(
            statement__kind=Statement.Kind.COMPANY,
            statement__status=Statement.Status.CLOSED,
            statement__reseller_id=reseller_id,
            statement__period_end__gt=start,
            statement__period_end__lte=nxt,
        )
        .annotate(group=group, currency=F("statement__currency"), owner=F("statement__company_id"))
        .values("currency", "owner", "group")
        .annotate(**{name: Sum(name) for name in AMOUNTS})
        .order_by("currency", "owner", "group")
    )
    out: dict[str, CompanyLineSums] = defaultdict(list)
    row: dict[str, Any]
    for row in rows:  # type: ignore[assignment]
        out[row["currency"]].append(
            (row["owner"], row["group"], {name: row[name] or 0 for name in AMOUNTS})
        )
    return out


def closed_company_ids(reseller_id: int, month: date) -> set[int]:
    start, nxt = month_bounds(month)
    return set(
        Statement.objects.filter(
            kind=Statement.Kind.COMPANY,
            status=Statement.Status.CLOSED,
            reseller_id=reseller_id,
            period_end__gt=start,
            period_end__lte=nxt,
        ).values_list("company_id", flat=True)
    )


@dataclass(slots=True)
class ResellerBook:
    """What every month of a reseller reads alike, loaded once for many months."""

    companies: list[Company]
    subscriptions: dict[int, Subscription]
    cutoffs: dict[int, date | None]

    @property
    def names(self) -> dict[int, str]:
        return {c.pk: c.name for c in self.companies}


def reseller_book(reseller_id: int, *, names_only: bool = False) -> ResellerBook:
    companies = list(
        Company.objects.filter(reseller_id=reseller_id)
        .only("pk", "name", "plan_id", "created_at", "reseller_id", "billing_cycle",
              "billing_currency", "billing_anchor")
        .order_by("pk")
    )  # fmt: skip
    if names_only:
        return ResellerBook(companies, {}, {})
    cutoffs = dict(
        SaleCutoff.objects.filter(company_id__in=[c.pk for c in companies]).values_list(
            "company_id", "closed_until"
        )
    )
    return ResellerBook(companies, subscriptions_load(companies), cutoffs)


def open_company_statements(
    book: ResellerBook, month: date, *, skip: set[int]
) -> list[ComputedStatement]:
    """The computed (draft) statements ending in `month` of the companies not in `skip`."""
    periods = {}
    for company in book.companies:
        if company.pk in skip:
            continue
        sub = book.subscriptions[company.pk]
        period = period_ending_in(sub, month, book.cutoffs.get(company.pk))
        if period is not None:
            periods[company.pk] = period
    if not periods:
        return []
    computed = company_statements_compute(book.subscriptions, periods)
    return [s for company_id in sorted(computed) for s in computed[company_id]]


def reseller_statements_compute(
    reseller_id: int,
    month: date,
    *,
    closed_only: bool = False,
    book: ResellerBook | None = None,
) -> list[ComputedStatement]:
    """The reseller's statements of `month`, one per currency, computed from its companies'
    statements (closed ones from their rows, open ones computed unless `closed_only`).
    `book`: the reseller's companies loaded once for several months."""
    book = book or reseller_book(reseller_id, names_only=closed_only)
    names = book.names
    per_currency: dict[str, dict[tuple[int, str], dict[str, int]]] = defaultdict(dict)
    for currency, rows in closed_company_lines(reseller_id, month).items():
        for company_id, group, sums in rows:
            per_currency[currency][(company_id, group)] = sums
    if not closed_only:
        skip = closed_company_ids(reseller_id, month)
        for statement in open_company_statements(book, month, skip=skip):
            _add_lines(per_currency[statement.currency], statement)
    start, nxt = month_bounds(month)
    out = []
    for currency in sorted(per_currency):
        lines = [
            _company_line(company_id, group, names.get(company_id, f"Company {company_id}"), sums)
            for (company_id, group), sums in sorted(per_currency[currency].items())
        ]
        out.append(
            ComputedStatement(
                kind=Statement.Kind.RESELLER,
                reseller_id=reseller_id,
                company_id=None,
                currency=currency,
                period_start=start,
                period_end=nxt,
                lines=lines,
            )
        )
    return out


def _add_lines(into: dict[tuple[int, str], dict[str, int]], statement: ComputedStatement) -> None:
    company_id = statement.company_id or 0
    for line in statement.lines:
        sums = into.setdefault((company_id, _group_of(line.kind)), dict.fromkeys(AMOUNTS, 0))
        for name in AMOUNTS:
            sums[name] += getattr(line, name)
