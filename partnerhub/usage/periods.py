"""Period arithmetic (SPEC §13): the one place that says where a usage or billing period
starts and ends.

Periods are counted in whole months from the subscription anchor. A period starts on the
anchor's day of its month, or on the month's last day when the month is shorter (an anchor
on the 31st starts periods on 30 April, 28/29 February, 31 May…). Usage periods are one
month long; billing periods are one billing cycle (1, 3 or 12 months) long.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
USAGE_PERIOD_MONTHS = 1


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # inclusive
    end: date  # exclusive: the next period's start


def _month_start(anchor: date, months_from_anchor: int) -> date:
    """The start of the period `months_from_anchor` months after the anchor's month."""
    index = anchor.year * 12 + (anchor.month - 1) + months_from_anchor
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def period_containing(anchor: date, on: date, *, months: int = USAGE_PERIOD_MONTHS) -> Period:
    """The period of `months` months, counted from `anchor`, that contains the day `on`
    (before the anchor too: periods extend backwards the same way)."""
    if months < 1:
        raise ValueError("a period is at least one month long")
    elapsed = (on.year - anchor.year) * 12 + (on.month - anchor.month)
    k = elapsed // months  # floor division: negative before the anchor
    start = _month_start(anchor, k * months)
    if on < start:
        k -= 1
        start = _month_start(anchor, k * months)
    return Period(start=start, end=_month_start(anchor, (k + 1) * months))


def usage_period(anchor: date, on: date) -> Period:
    return period_containing(anchor, on, months=USAGE_PERIOD_MONTHS)


def billing_period(anchor: date, cycle: str, on: date) -> Period:
    return period_containing(anchor, on, months=CYCLE_MONTHS[cycle])


def previous_usage_period(anchor: date, period: Period) -> Period:
    return usage_period(anchor, date.fromordinal(period.start.toordinal() - 1))
