"""Computing company statements (SPEC §15) for many companies at once.

The inputs are read set-based: the subscriptions (statements/subscriptions.py, three
queries), the GST rate, and ONE aggregate query over the sales of every company's period,
grouped by company, currency, fee type, blended and late. Everything else is arithmetic
in Python on integers (statements/money.py), so the same code computes a draft on read
and a thousand companies' closing statements in a chunk.

Lines of a company statement, in this order:
- `subscription`: the plan price of the cycle, for the plan the period started on;
- `proration`: for each plan or cycle change inside the period, a credit of the old
  terms' remaining days and a charge of the new terms' remaining days (day-based,
  cumulative rounding: money.prorated);
- fee lines per fee type of the period's sales: `reseller_fees` and `gateway_fees`, or for
  blended items one `fees` line with the split kept;
- `adjustment`: sales that arrived after their own period was closed (Sale.late_into).
Sales in another currency than the billing currency make a statement of their own in that
currency (fee lines only): amounts of two currencies are never added.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.db.models import F, Q, Sum

from partnerhub.catalog.models import FeeType, TaxSettings
from partnerhub.sales.models import Sale
from partnerhub.statements.models import Statement, StatementLine
from partnerhub.statements.money import gst_of, prorated, share_of
from partnerhub.statements.subscriptions import PlanTerms, State, Subscription
from partnerhub.usage.periods import CYCLE_MONTHS, Period, billing_period

Kind = StatementLine.Kind


@dataclass(slots=True)
class ComputedLine:
    kind: str
    description: str
    company_id: int | None
    plan_id: int | None = None
    fee_type: str = ""
    quantity: int = 0  # units sold (fee lines) or days (proration)
    net_minor: int = 0  # minor units
    gst_minor: int = 0  # minor units
    gross_minor: int = 0  # minor units
    reseller_fee_minor: int = 0  # minor units
    gateway_fee_minor: int = 0  # minor units: the part passed on to the gateway
    reseller_share_minor: int = 0  # minor units
    platform_share_minor: int = 0  # minor units

    def key(self) -> tuple[object, ...]:
        """Everything a stored line keeps, to tell whether a draft changed."""
        return line_values(self)


# A line's stored fields, in the order of StatementLine's columns after statement and seq.
LINE_FIELDS = (
    "kind",
    "description",
    "company_id",
    "plan_id",
    "fee_type",
    "quantity",
    "net_minor",
    "gst_minor",
    "gross_minor",
    "reseller_fee_minor",
    "gateway_fee_minor",
    "reseller_share_minor",
    "platform_share_minor",
)
DESCRIPTION_MAX_LENGTH = 300  # StatementLine.description


def line_values(line: object) -> tuple[object, ...]:
    """The stored fields of a computed line or a stored one (StatementLine), alike."""
    values = [getattr(line, name) for name in LINE_FIELDS]
    values[1] = str(values[1])[:DESCRIPTION_MAX_LENGTH]
    return tuple(values)


def priced_line(
    kind: str,
    description: str,
    *,
    company_id: int | None,
    plan: PlanTerms | None,
    gst_rate_bps: int,
    net_minor: int,
    quantity: int = 0,
    fee_type: str = "",
    reseller_fee_minor: int = 0,
    gateway_fee_minor: int = 0,
) -> ComputedLine:
    """A line with its GST and shares. GST where the plan has it (half-up per line); the
    shareable part is the net less what goes to the gateway: a revenue-sharing plan gives
    the reseller `revenue_share_bps` of it (half-up per line) and the platform the rest; on
    a usage-based plan or Custom the reseller keeps it all."""
    gst = gst_of(net_minor, gst_rate_bps) if plan is not None and plan.gst_enabled else 0
    shareable = net_minor - gateway_fee_minor
    if plan is not None and plan.shares_revenue:
        reseller_share = share_of(shareable, plan.revenue_share_bps or 0)
    else:
        reseller_share = shareable
    return ComputedLine(
        kind=kind,
        description=description,
        company_id=company_id,
        plan_id=plan.id if plan else None,
        fee_type=fee_type,
        quantity=quantity,
        net_minor=net_minor,
        gst_minor=gst,
        gross_minor=net_minor + gst,
        reseller_fee_minor=reseller_fee_minor,
        gateway_fee_minor=gateway_fee_minor,
        reseller_share_minor=reseller_share,
        platform_share_minor=shareable - reseller_share,
    )


@dataclass(slots=True)
class ComputedStatement:
    kind: str
    reseller_id: int
    company_id: int | None
    currency: str
    period_start: date
    period_end: date
    lines: list[ComputedLine] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.lines)

    def totals(self) -> dict[str, int]:
        """The statement's totals: sums of its lines, exactly (minor units)."""
        return {
            "net_minor": self.total("net_minor"),
            "gst_minor": self.total("gst_minor"),
            "gross_minor": self.total("gross_minor"),
            "gateway_fees_minor": self.total("gateway_fee_minor"),
            "reseller_share_minor": self.total("reseller_share_minor"),
            "platform_share_minor": self.total("platform_share_minor"),
        }


def _plan_label(state: State) -> str:
    name = state.plan.name if state.plan else "Custom"
    return f"{name}, {state.cycle}"


def _cycle_price(state: State, currency: str, period_cycle: str) -> tuple[int, int] | None:
    """The state's price as (numerator, months): its cycle's price per period of the
    period's own cycle is price x period months / cycle months (a yearly price charged
    over the rest of a monthly period counts a twelfth per month)."""
    if state.plan is None:
        return None
    price = state.plan.price(currency, state.cycle)
    if price is None:
        return None
    return price * CYCLE_MONTHS.get(period_cycle, 1), CYCLE_MONTHS.get(state.cycle, 1)


def subscription_lines(
    subscription: Subscription, period: Period, currency: str, gst_rate_bps: int
) -> list[ComputedLine]:
    days = (period.end - period.start).days
    segments = subscription.segments(period)
    period_cycle = segments[0].state.cycle
    company_id = subscription.company_id
    # A period shorter than its cycle (the first one after a cycle change runs to the
    # anchor's next boundary) is that part of the whole cycle: days are counted in it.
    whole = billing_period(subscription.anchor, period_cycle, period.start)
    offset, whole_days = (period.start - whole.start).days, (whole.end - whole.start).days

    def part(state: State, day_from: int, day_to: int) -> int:
        priced = _cycle_price(state, currency, period_cycle)
        if priced is None:
            return 0
        numerator, months = priced
        return prorated(numerator, offset + day_from, offset + day_to, whole_days * months)

    lines = []
    first = segments[0].state
    if first.plan is not None:
        lines.append(
            priced_line(
                Kind.SUBSCRIPTION,
                f"{_plan_label(first)} ({period.start:%d %b %Y} to {period.end:%d %b %Y})",
                company_id=company_id,
                plan=first.plan,
                gst_rate_bps=gst_rate_bps,
                net_minor=part(first, 0, days),
                quantity=days,
            )
        )
    for previous, segment in itertools.pairwise(segments):
        old, new, day = previous.state, segment.state, segment.day_from
        remaining = days - day
        on = date.fromordinal(period.start.toordinal() + day)
        for state, sign, verb in ((old, -1, "Credit"), (new, 1, "Charge")):
            if state.plan is None:
                continue
            lines.append(
                priced_line(
                    Kind.PRORATION,
                    f"{verb}: {_plan_label(state)}, {remaining} of {days} days from {on:%d %b %Y}",
                    company_id=company_id,
                    plan=state.plan,
                    gst_rate_bps=gst_rate_bps,
                    net_minor=sign * part(state, day, days),
                    quantity=remaining,
                )
            )
    return lines


def day_start(day: date) -> datetime:
    """Periods are days of UTC: a period's first instant."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SalesGroup:
    company_id: int
    currency: str
    fee_type: str
    blended: bool
    late: bool
    quantity: int
    reseller_fee_minor: int  # minor units: Σ quantity x per-unit fee
    gateway_fee_minor: int  # minor units


def sales_groups(periods: Mapping[int, Period]) -> list[SalesGroup]:
    """ONE aggregate query over the sales of every company's period: those sold inside it
    (on time) and those booked into it late. Companies sharing a period share a clause."""
    by_period: dict[Period, list[int]] = defaultdict(list)
    for company_id, period in periods.items():
        by_period[period].append(company_id)
    where = Q()
    for period, ids in by_period.items():
        where |= Q(
            company_id__in=ids,
            late_into__isnull=True,
            timestamp__gte=day_start(period.start),
            timestamp__lt=day_start(period.end),
        )
        where |= Q(company_id__in=ids, late_into=period.start)
    if not by_period:
        return []
    rows = (
        Sale.objects.filter(where)
        .values("company_id", "currency", "fee_type", "blended", "late_into")
        .annotate(
            qty=Sum("quantity"),
            reseller=Sum(F("quantity") * F("reseller_fee_minor")),
            gateway=Sum(F("quantity") * F("gateway_fee_minor")),
        )
        .order_by("company_id", "currency", "fee_type", "blended", "late_into")
    )
    return [
        SalesGroup(
            company_id=row["company_id"],
            currency=row["currency"],
            fee_type=row["fee_type"],
            blended=row["blended"],
            late=row["late_into"] is not None,
            quantity=row["qty"] or 0,
            reseller_fee_minor=row["reseller"] or 0,
            gateway_fee_minor=row["gateway"] or 0,
        )
        for row in rows
    ]


def fee_lines(
    group: SalesGroup, *, plan: PlanTerms | None, gst_rate_bps: int, fee_type_name: str
) -> list[ComputedLine]:
    common = {
        "company_id": group.company_id,
        "plan": plan,
        "gst_rate_bps": gst_rate_bps,
        "quantity": group.quantity,
        "fee_type": group.fee_type,
    }
    rf, gf = group.reseller_fee_minor, group.gateway_fee_minor
    if group.late or group.blended:
        kind = Kind.ADJUSTMENT if group.late else Kind.FEES
        what = "Late sales" if group.late else "Fees"
        label = f"{what}: {fee_type_name}, {group.quantity} sold"
        if group.late:
            label += " in a closed period"
        return [
            priced_line(
                kind,
                label,
                net_minor=rf + gf,
                reseller_fee_minor=rf,
                gateway_fee_minor=gf,
                **common,  # type: ignore[arg-type]
            )
        ]
    lines = []
    if rf:
        lines.append(
            priced_line(
                Kind.RESELLER_FEES,
                f"Reseller fees: {fee_type_name}, {group.quantity} sold",
                net_minor=rf,
                reseller_fee_minor=rf,
                **common,  # type: ignore[arg-type]
            )
        )
    if gf:
        lines.append(
            priced_line(
                Kind.GATEWAY_FEES,
                f"Gateway fees: {fee_type_name}, {group.quantity} sold",
                net_minor=gf,
                gateway_fee_minor=gf,
                **common,  # type: ignore[arg-type]
            )
        )
    return lines


def _fee_type_names(keys: set[str]) -> dict[str, str]:
    return dict(FeeType.objects.filter(key__in=sorted(keys)).values_list("key", "name"))


def _any_gst(subscriptions: Mapping[int, Subscription], periods: Mapping[int, Period]) -> bool:
    """Whether any plan a company was on in its period charges GST."""
    for company_id, period in periods.items():
        for state in subscriptions[company_id].states:
            if state.plan is not None and state.plan.gst_enabled and state.since < period.end:
                return True
    return False


def company_statements_compute(
    subscriptions: Mapping[int, Subscription],
    periods: Mapping[int, Period],
    *,
    gst_rate_bps: int | None = None,
) -> dict[int, list[ComputedStatement]]:
    """Every company's statements for its period in `periods` (company id → period): the
    billing-currency statement (always, when the company has a billing currency) and one
    per other currency it sold in. Two queries (settings, sales) plus the fee type names."""
    # The GST rate and the fee type names are read only when a line needs them.
    if gst_rate_bps is None and _any_gst(subscriptions, periods):
        gst_rate_bps = TaxSettings.current().gst_rate_bps
    rate = gst_rate_bps or 0
    out: dict[int, dict[str, ComputedStatement]] = {}
    for company_id, period in periods.items():
        subscription = subscriptions[company_id]
        state = subscription.state_on(period.start)
        statements: dict[str, ComputedStatement] = {}
        if state.currency:
            statement = _empty(subscription, period, state.currency)
            statement.lines = subscription_lines(subscription, period, state.currency, rate)
            statements[state.currency] = statement
        out[company_id] = statements
    groups = sales_groups(periods)
    names = _fee_type_names({group.fee_type for group in groups}) if groups else {}
    for group in groups:
        subscription = subscriptions[group.company_id]
        period = periods[group.company_id]
        statements = out[group.company_id]
        if group.currency not in statements:
            statements[group.currency] = _empty(subscription, period, group.currency)
        # Fees follow the plan the company is on at the end of the period.
        plan = subscription.state_on(date.fromordinal(period.end.toordinal() - 1)).plan
        statements[group.currency].lines += fee_lines(
            group,
            plan=plan,
            gst_rate_bps=rate,
            fee_type_name=names.get(group.fee_type, group.fee_type),
        )
    for statements in out.values():
        for statement in statements.values():
            statement.lines = _ordered(statement.lines)
    return {company_id: list(by_currency.values()) for company_id, by_currency in out.items()}


def _empty(subscription: Subscription, period: Period, currency: str) -> ComputedStatement:
    return ComputedStatement(
        kind=Statement.Kind.COMPANY,
        reseller_id=subscription.reseller_id,
        company_id=subscription.company_id,
        currency=currency,
        period_start=period.start,
        period_end=period.end,
    )


_PLACE: dict[str, int] = {Kind.SUBSCRIPTION: 0, Kind.PRORATION: 0, Kind.ADJUSTMENT: 2}


def _ordered(lines: Sequence[ComputedLine]) -> list[ComputedLine]:
    """Subscription and proration first, then the fee lines by fee type, adjustments last
    (a stable sort: the order within each part stays)."""
    return sorted(lines, key=lambda line: _PLACE.get(line.kind, 1))
