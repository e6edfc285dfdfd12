"""Period arithmetic (SPEC §13): months counted from the anchor's day, month ends clamped."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from partnerhub.usage.periods import (
    CYCLE_MONTHS,
    billing_period,
    period_containing,
    previous_usage_period,
    usage_period,
)

days = st.dates(min_value=date(1900, 3, 1), max_value=date(2200, 12, 31))
late_anchors = st.builds(
    lambda y, m, d: date(y, m, min(d, calendar.monthrange(y, m)[1])),
    st.integers(1990, 2100),
    st.integers(1, 12),
    st.integers(28, 31),
)
anchors = st.one_of(days, late_anchors)
cycles = st.sampled_from(sorted(CYCLE_MONTHS))


def _last_day(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


@given(anchor=anchors, on=days, cycle=cycles)
def test_the_period_contains_the_day(anchor: date, on: date, cycle: str) -> None:
    period = billing_period(anchor, cycle, on)

    assert period.start <= on < period.end


@given(anchor=anchors, on=days, cycle=cycles)
def test_a_period_starts_on_the_anchors_day_or_the_months_last(
    anchor: date, on: date, cycle: str
) -> None:
    period = billing_period(anchor, cycle, on)

    for start in (period.start, period.end):
        assert start.day == min(anchor.day, _last_day(start))


@given(anchor=anchors, on=days, cycle=cycles)
def test_periods_are_whole_cycles_counted_from_the_anchor(
    anchor: date, on: date, cycle: str
) -> None:
    period = billing_period(anchor, cycle, on)
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    from_anchor = (period.start.year - anchor.year) * 12 + period.start.month - anchor.month

    assert months == CYCLE_MONTHS[cycle]
    assert from_anchor % CYCLE_MONTHS[cycle] == 0


@given(anchor=anchors, on=days)
def test_consecutive_periods_touch(anchor: date, on: date) -> None:
    period = usage_period(anchor, on)

    assert usage_period(anchor, period.end).start == period.end
    assert usage_period(anchor, period.start - timedelta(days=1)).end == period.start
    assert previous_usage_period(anchor, period).end == period.start


def test_an_anchor_on_the_31st_starts_on_the_last_day_of_shorter_months() -> None:
    anchor = date(2026, 1, 31)

    assert usage_period(anchor, date(2026, 2, 27)).start == date(2026, 1, 31)
    assert usage_period(anchor, date(2026, 2, 28)).start == date(2026, 2, 28)
    assert usage_period(anchor, date(2026, 3, 30)).start == date(2026, 2, 28)
    assert usage_period(anchor, date(2026, 3, 31)).start == date(2026, 3, 31)
    assert usage_period(anchor, date(2026, 4, 30)).start == date(2026, 4, 30)


def test_leap_february_and_an_anchor_on_the_29th() -> None:
    anchor = date(2024, 2, 29)

    assert usage_period(anchor, date(2024, 3, 1)).start == date(2024, 2, 29)
    assert usage_period(anchor, date(2025, 2, 28)).start == date(2025, 2, 28)
    assert usage_period(anchor, date(2025, 3, 28)).end == date(2025, 3, 29)
    assert billing_period(anchor, "yearly", date(2025, 3, 1)).start == date(2025, 2, 28)
    assert billing_period(anchor, "yearly", date(2028, 2, 29)).start == date(2028, 2, 29)


def test_the_spec_example_period() -> None:
    assert usage_period(date(2026, 1, 15), date(2026, 11, 30)) == period_containing(
        date(2026, 1, 15), date(2026, 11, 30)
    )
    period = usage_period(date(2026, 1, 15), date(2026, 11, 30))
    assert (period.start, period.end) == (date(2026, 11, 15), date(2026, 12, 15))


def test_quarters_count_from_the_anchor_month() -> None:
    period = billing_period(date(2026, 2, 10), "quarterly", date(2026, 7, 1))

    assert (period.start, period.end) == (date(2026, 5, 10), date(2026, 8, 10))
