"""A company's subscription over time, as the statements need it (SPEC §15): which plan and
cycle it was on each day, and where its billing periods start and end.

Read set-based for many companies at once (`subscriptions_load`: three queries whatever
their number), then answered in Python. The history is `companies.SubscriptionChange`;
a company with none (made before history was kept, or by a bulk seed) was on its current
terms all along. A plan deleted since counts as Custom from the day it was deleted (the
delete detaches its companies in one UPDATE and writes no history).

Billing periods run in a chain from the first period (the one around the day the company
was created): each starts where the last ended and lasts the cycle in effect on its first
day, counted from the anchor (usage/periods.py). So a cycle change takes its new length
from the next period on, and the period it happened in is prorated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from partnerhub.companies.models import Company, SubscriptionChange
from partnerhub.plans.models import Plan, PlanPrice, PlanType
from partnerhub.usage.periods import CYCLE_MONTHS, Period, billing_period

# A chain longer than this (monthly periods for more than 100 years) is a data error.
MAX_PERIODS_WALKED = 1200


@dataclass(frozen=True, slots=True)
class PlanTerms:
    id: int
    name: str  # the display name, as on the company's invoice
    plan_type: str
    gst_enabled: bool
    revenue_share_bps: int | None
    deleted_on: date | None
    prices: Mapping[tuple[str, str], int]  # (currency, cycle) -> minor units

    @property
    def shares_revenue(self) -> bool:
        return self.plan_type == PlanType.REVENUE_SHARING and self.revenue_share_bps is not None

    def price(self, currency: str, cycle: str) -> int | None:
        return self.prices.get((currency, cycle))


@dataclass(frozen=True, slots=True)
class State:
    """What the company was on from `since` (a day) on."""

    since: date
    plan: PlanTerms | None  # None = Custom
    cycle: str
    currency: str


@dataclass(frozen=True, slots=True)
class Segment:
    """Days [day_from, day_to) of a period on one plan and cycle."""

    day_from: int
    day_to: int
    state: State


@dataclass(slots=True)
class Subscription:
    company_id: int
    reseller_id: int
    anchor: date
    created_on: date
    states: list[State] = field(default_factory=list)  # by `since`, never empty

    def state_on(self, day: date) -> State:
        """The terms on `day`; before the first known change, the first known terms."""
        current = self.states[0]
        for state in self.states[1:]:
            if state.since > day:
                break
            current = state
        return current

    def first_period(self) -> Period:
        return billing_period(self.anchor, self.state_on(self.created_on).cycle, self.created_on)

    def next_period(self, period: Period) -> Period:
        return self.period_from(period.end)

    def period_from(self, start: date) -> Period:
        """The period starting on `start` (a previous period's end): the cycle of that day,
        ending at the anchor's next boundary."""
        cycle = self.state_on(start).cycle
        if cycle not in CYCLE_MONTHS:
            cycle = "monthly"  # never stored by the services; read defensively
        return Period(start=start, end=billing_period(self.anchor, cycle, start).end)

    def period_containing(self, day: date, *, walk_from: date | None = None) -> Period:
        """The period of the chain that contains `day` (the first period for a day before
        it). `walk_from`, a period start known to be in the chain (a close cutoff), saves
        the walk from the company's first period."""
        period = self.period_from(walk_from) if walk_from else self.first_period()
        for _ in range(MAX_PERIODS_WALKED):
            if day < period.end:
                return period
            period = self.next_period(period)
        raise ValueError(f"company {self.company_id}: no billing period holds {day}")

    def segments(self, period: Period) -> list[Segment]:
        """The period cut at every plan or cycle change inside it (a change counts from the
        day it was made: that day is on the new terms)."""
        days = (period.end - period.start).days
        cuts = [(0, self.state_on(period.start))]
        for state in self.states:
            offset = (state.since - period.start).days
            if 0 < offset < days:
                if cuts[-1][0] == offset:
                    cuts[-1] = (offset, state)  # the last change of a day wins
                else:
                    cuts.append((offset, state))
        bounds = [offset for offset, _ in cuts[1:]] + [days]
        return [
            Segment(day_from=offset, day_to=end, state=state)
            for (offset, state), end in zip(cuts, bounds, strict=True)
            if offset < end
        ]


_PLAN_FIELDS = ("display_name", "plan_type", "gst_enabled", "revenue_share_bps", "deleted_at")


def _plan_terms(plan_ids: Iterable[int]) -> dict[int, PlanTerms]:
    """The plans with their prices: one query (the prices with their plan's fields), and
    one more only for a plan without any price."""
    ids = sorted(set(plan_ids))
    prices: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    fields: dict[int, tuple[Any, ...]] = {}
    price: tuple[Any, ...]
    for price in PlanPrice.objects.filter(plan_id__in=ids).values_list(
        "plan_id",
        "currency_id",
        "billing_cycle",
        "amount_minor",
        *(f"plan__{name}" for name in _PLAN_FIELDS),
    ):
        plan_id, currency, cycle, amount, *plan = price
        prices[plan_id][(str(currency), cycle)] = amount
        fields[plan_id] = tuple(plan)
    missing = [pk for pk in ids if pk not in fields]
    for pk, *plan in Plan.objects.filter(pk__in=missing).values_list("pk", *_PLAN_FIELDS):
        fields[pk] = tuple(plan)
    return {
        pk: PlanTerms(
            id=pk,
            name=name,
            plan_type=plan_type,
            gst_enabled=gst,
            revenue_share_bps=bps,
            deleted_on=deleted_at.date() if deleted_at else None,
            prices=prices[pk],
        )
        for pk, (name, plan_type, gst, bps, deleted_at) in fields.items()
    }


def _with_deletions(states: list[State]) -> list[State]:
    """A state on a plan deleted later turns Custom on the day of the delete."""
    out: list[State] = []
    for i, state in enumerate(states):
        out.append(state)
        plan = state.plan
        if plan is None or plan.deleted_on is None:
            continue
        until = states[i + 1].since if i + 1 < len(states) else None
        if plan.deleted_on >= state.since and (until is None or plan.deleted_on < until):
            out.append(State(plan.deleted_on, None, state.cycle, state.currency))
    return out


def subscriptions_load(companies: Sequence[Company]) -> dict[int, Subscription]:
    """The subscriptions of `companies` (their plan, terms and created_at loaded)."""
    ids = [c.pk for c in companies]
    history: dict[int, list[tuple[datetime, int | None, str, str]]] = defaultdict(list)
    for company_id, at, plan_id, cycle, currency in (
        SubscriptionChange.objects.filter(company_id__in=ids)
        .order_by("company_id", "effective_at", "id")
        .values_list("company_id", "effective_at", "plan_id", "billing_cycle", "billing_currency")
    ):
        history[company_id].append((at, plan_id, cycle, currency))
    plan_ids = {c.plan_id for c in companies if c.plan_id} | {
        row[1] for rows in history.values() for row in rows if row[1]
    }
    plans = _plan_terms(plan_ids)
    subscriptions = {}
    for company in companies:
        anchor = company.billing_anchor or company.created_at.date()
        created_on = company.created_at.date()
        rows = history.get(company.pk)
        if rows:
            states = [
                State(at.date(), plans.get(plan_id) if plan_id else None, cycle, currency)
                for at, plan_id, cycle, currency in rows
            ]
        else:
            plan = plans.get(company.plan_id) if company.plan_id else None
            states = [State(created_on, plan, company.billing_cycle, company.billing_currency)]
        subscriptions[company.pk] = Subscription(
            company_id=company.pk,
            reseller_id=company.reseller_id,
            anchor=anchor,
            created_on=created_on,
            states=_with_deletions(states),
        )
    return subscriptions
