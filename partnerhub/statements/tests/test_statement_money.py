"""The statements' arithmetic (SPEC §15): half-up rounding, GST per line, shares per line,
proration that always adds up. Property tests: no example is special."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerhub.statements.compute import priced_line
from partnerhub.statements.money import gst_of, prorated, round_half_up, share_of
from partnerhub.statements.subscriptions import PlanTerms

amounts = st.integers(min_value=-(10**12), max_value=10**12)
bps = st.integers(min_value=0, max_value=10_000)


def _reference_half_up(value: Fraction) -> int:
    """Half away from zero, the slow obvious way."""
    magnitude = abs(value)
    whole = int(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


@given(amounts, st.integers(min_value=1, max_value=10**6))
def test_round_half_up_matches_exact_rational_rounding(numerator: int, denominator: int) -> None:
    assert round_half_up(numerator, denominator) == _reference_half_up(
        Fraction(numerator, denominator)
    )


@given(amounts, st.integers(min_value=1, max_value=10**6))
def test_a_credit_is_exactly_the_negated_charge(numerator: int, denominator: int) -> None:
    assert round_half_up(-numerator, denominator) == -round_half_up(numerator, denominator)


def test_halves_round_away_from_zero() -> None:
    assert [round_half_up(n, 2) for n in (1, 3, -1, -3)] == [1, 2, -1, -2]
    assert gst_of(25, 1800) == 5  # 4.5 -> 5
    assert gst_of(-25, 1800) == -5
    assert share_of(1, 5000) == 1  # 0.5 -> 1


def test_zero_denominator_is_refused() -> None:
    with pytest.raises(ValueError):
        round_half_up(1, 0)


@given(
    st.integers(min_value=0, max_value=10**10),
    st.integers(min_value=1, max_value=366),
    st.lists(st.integers(min_value=0, max_value=366), max_size=6),
)
def test_proration_sums_to_the_full_price_however_the_period_is_cut(
    price: int, days: int, cuts: list[int]
) -> None:
    points = sorted({0, days, *(c for c in cuts if 0 < c < days)})
    pieces = [prorated(price, a, b, days) for a, b in itertools.pairwise(points)]
    assert sum(pieces) == price
    assert all(piece >= 0 for piece in pieces)


@given(st.integers(min_value=0, max_value=10**10), st.integers(min_value=1, max_value=366))
def test_proration_split_at_any_day_sums_to_the_price(price: int, days: int) -> None:
    for day in range(0, days + 1, max(1, days // 7)):
        assert prorated(price, 0, day, days) + prorated(price, day, days, days) == price


def _plan(*, gst: bool, share: int | None) -> PlanTerms:
    return PlanTerms(
        id=1,
        name="Gold",
        plan_type="revenue_sharing" if share is not None else "usage_based",
        gst_enabled=gst,
        revenue_share_bps=share,
        deleted_on=None,
        prices={},
    )


@given(
    net=amounts,
    gateway=st.integers(min_value=0, max_value=10**9),
    gst=st.booleans(),
    share=st.one_of(st.none(), bps),
    rate=bps,
    custom=st.booleans(),
)
def test_every_line_reconciles(
    net: int, gateway: int, gst: bool, share: int | None, rate: int, custom: bool
) -> None:
    plan = None if custom else _plan(gst=gst, share=share)
    line = priced_line(
        "fees",
        "x",
        company_id=1,
        plan=plan,
        gst_rate_bps=rate,
        net_minor=net,
        gateway_fee_minor=gateway,
    )
    assert line.gross_minor == net + line.gst_minor
    assert line.gross_minor == (
        line.platform_share_minor
        + line.reseller_share_minor
        + line.gst_minor
        + line.gateway_fee_minor
    )
    expected_gst = round_half_up(net * rate, 10_000) if plan is not None and gst else 0
    assert line.gst_minor == expected_gst
    if plan is not None and share is not None:
        assert line.reseller_share_minor == round_half_up((net - gateway) * share, 10_000)
    else:
        assert line.platform_share_minor == 0
