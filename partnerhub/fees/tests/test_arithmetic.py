"""The fee rule gives the same result in Python and in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.core.iso4217 import ISO4217_EXPONENTS
from partnerhub.core.limits import MAX_PRICE_MINOR
from partnerhub.fees.arithmetic import (
    Fees,
    format_minor,
    gateway_fee,
    gateway_fee_sql,
    minor_to_major,
    percent_of,
    reseller_fee,
    reseller_fee_sql,
)

BATCH = 125
BATCHES = 80  # 10,000 cases per database
CURRENCIES_BY_EXPONENT = {"JPY": 0, "GBP": 2, "KWD": 3}

prices = st.one_of(
    st.integers(0, MAX_PRICE_MINOR),
    st.integers(0, 20_000),  # the everyday range, where half-up ties are common
    st.sampled_from([0, 1, 2, 5_000, 9_999, 10_000, MAX_PRICE_MINOR]),
)
bps = st.one_of(st.integers(0, 10_000), st.sampled_from([0, 1, 5_000, 9_999, 10_000]))
amounts = st.integers(0, 10**13)
# Every clamp combination: none, floor only, ceiling only, both (ordered or not).
clamps = st.one_of(
    st.tuples(st.none(), st.none()),
    st.tuples(amounts, st.none()),
    st.tuples(st.none(), amounts),
    st.tuples(amounts, amounts).map(lambda t: (min(t), max(t))),
    st.tuples(amounts, amounts),
)
cases = st.tuples(
    prices,
    bps,
    st.integers(0, 10**6),
    clamps,
    bps,
    st.integers(0, 10**6),
    st.sampled_from(sorted(CURRENCIES_BY_EXPONENT)),
)


def _create_scratch_table() -> None:
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMPORARY TABLE fee_case (n integer, price bigint, bps integer,"
            " fixed bigint, lo bigint NULL, hi bigint NULL, gbps integer, gfixed bigint)"
        )


def _sql_results(batch: list[Any]) -> dict[int, tuple[int, int]]:
    rows = [
        (n, price, p, fixed, lo, hi, gp, gfixed)
        for n, (price, p, fixed, (lo, hi), gp, gfixed, _cur) in enumerate(batch)
    ]
    reseller = reseller_fee_sql("price", "bps", "fixed", "lo", "hi")
    gateway = gateway_fee_sql("price", "gbps", "gfixed")
    with connection.cursor() as cur:
        cur.execute("DELETE FROM fee_case")
        cur.executemany("INSERT INTO fee_case VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        cur.execute(f"SELECT n, {reseller}, {gateway} FROM fee_case")
        return {n: (int(r), int(g)) for n, r, g in cur.fetchall()}


@pytest.mark.django_db
def test_python_and_sql_fee_rule_agree_on_ten_thousand_generated_cases() -> None:
    _create_scratch_table()
    checked: list[int] = []

    @settings(
        max_examples=BATCHES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(cases, min_size=BATCH, max_size=BATCH))
    def python_equals_sql(batch: list[Any]) -> None:
        sql = _sql_results(batch)
        for n, (price, p, fixed, (lo, hi), gp, gfixed, currency) in enumerate(batch):
            expected = (reseller_fee(price, p, fixed, lo, hi), gateway_fee(price, gp, gfixed))
            assert sql[n] == expected, (price, p, fixed, lo, hi, gp, gfixed)
            # Amounts are minor units whatever the exponent: display is exact.
            shown = format_minor(expected[0], currency)
            exponent = CURRENCIES_BY_EXPONENT[currency]
            assert Decimal(shown.split()[0]).scaleb(exponent) == expected[0]
        checked.append(len(batch))

    python_equals_sql()
    assert sum(checked) >= 10_000


def test_half_up_rounding_rounds_ties_up_and_the_rest_to_nearest() -> None:
    assert percent_of(2000, 250) == 50
    assert percent_of(1, 5000) == 1  # 0.5 -> 1
    assert percent_of(1, 4999) == 0  # 0.4999 -> 0
    assert percent_of(3, 5000) == 2  # 1.5 -> 2
    assert percent_of(MAX_PRICE_MINOR, 10_000) == MAX_PRICE_MINOR


def test_reseller_fee_is_clamped_to_min_and_max_after_the_fixed_part() -> None:
    assert reseller_fee(2000, 250, 30, None, None) == 80
    assert reseller_fee(100, 250, 30, 50, None) == 50  # 3 + 30 = 33 -> floor 50
    assert reseller_fee(100_000, 250, 30, None, 1000) == 1000  # 2530 -> ceiling 1000
    assert reseller_fee(2000, 250, 30, 10, 100) == 80  # inside the range


def test_gateway_fee_has_no_clamp() -> None:
    assert gateway_fee(2000, 200, 8) == 48
    assert gateway_fee(0, 200, 8) == 8


def test_blended_fees_present_one_charge_but_keep_the_split() -> None:
    blended = Fees(reseller_fee_minor=80, gateway_fee_minor=48, blended=True)
    itemised = Fees(reseller_fee_minor=80, gateway_fee_minor=48, blended=False)
    assert blended.charges() == [{"label": "fees", "amount_minor": 128}]
    assert itemised.charges() == [
        {"label": "reseller_fee", "amount_minor": 80},
        {"label": "gateway_fee", "amount_minor": 48},
    ]
    assert (blended.reseller_fee_minor, blended.gateway_fee_minor) == (80, 48)


def test_minor_units_follow_the_pinned_iso_4217_exponent() -> None:
    assert ISO4217_EXPONENTS["JPY"] == 0 and ISO4217_EXPONENTS["KWD"] == 3
    assert format_minor(2000, "GBP") == "20.00 GBP"
    assert format_minor(2000, "JPY") == "2000 JPY"
    assert format_minor(1500, "KWD") == "1.500 KWD"
    assert minor_to_major(5, "GBP") == Decimal("0.05")
