"""The fee rule of SPEC §6, defined once and expressed twice: Python and SQL.

reseller fee = clamp(round_half_up(price * percent_bps / 10000) + fixed, min, max)
gateway fee  = round_half_up(price * percent_bps / 10000) + fixed        (no clamp)

Everything is an integer number of minor units. Prices and fees are never
negative, so half-up rounding is `(price * bps + 5000) // 10000`: for
non-negative operands Python's floor division, PostgreSQL's bigint division
and SQLite's integer division (both truncate toward zero) agree. Prices are
capped at MAX_PRICE_MINOR and bps at 10000, so price * bps stays below 2^63
on both databases.

The Python functions price single items and quotes; the SQL builders are used
by the set-based recalculation (fees/recalc/statement.py). tests/test_arithmetic.py
proves on SQLite and PostgreSQL that both give the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from partnerhub.core.iso4217 import ISO4217_EXPONENTS

BPS_PER_UNIT = 10_000


def percent_of(price_minor: int, percent_bps: int) -> int:
    """price * bps / 10000, rounded half up (minor units)."""
    return (price_minor * percent_bps + BPS_PER_UNIT // 2) // BPS_PER_UNIT


def clamp(amount_minor: int, min_minor: int | None, max_minor: int | None) -> int:
    # Same order as the SQL CASE: the floor is checked first, then the ceiling.
    if min_minor is not None and amount_minor < min_minor:
        return min_minor
    if max_minor is not None and amount_minor > max_minor:
        return max_minor
    return amount_minor


def reseller_fee(
    price_minor: int,
    percent_bps: int,
    fixed_minor: int,
    min_minor: int | None,
    max_minor: int | None,
) -> int:
    """The reseller fee in minor units."""
    return clamp(percent_of(price_minor, percent_bps) + fixed_minor, min_minor, max_minor)


def gateway_fee(price_minor: int, percent_bps: int, fixed_minor: int) -> int:
    """The gateway processing fee in minor units (no clamp: the platform's fee is what it is)."""
    return percent_of(price_minor, percent_bps) + fixed_minor


@dataclass(frozen=True, slots=True)
class Fees:
    reseller_fee_minor: int  # minor units
    gateway_fee_minor: int  # minor units
    # Presentation only: one combined charge when blended, two when itemised.
    # The split above is always stored.
    blended: bool

    @property
    def total_minor(self) -> int:  # minor units
        return self.reseller_fee_minor + self.gateway_fee_minor

    def charges(self) -> list[dict[str, int | str]]:
        """The charges a buyer sees: one combined line when blended, else two."""
        if self.blended:
            return [{"label": "fees", "amount_minor": self.total_minor}]
        return [
            {"label": "reseller_fee", "amount_minor": self.reseller_fee_minor},
            {"label": "gateway_fee", "amount_minor": self.gateway_fee_minor},
        ]


# --- SQL --------------------------------------------------------------------
# The builders take SQL operands (column references or placeholders) and
# return expression text. They never see user input: callers pass fixed
# column names from the recalculation statement or the test.


def percent_of_sql(price: str, percent_bps: str) -> str:
    return f"((({price}) * ({percent_bps}) + {BPS_PER_UNIT // 2}) / {BPS_PER_UNIT})"


def clamp_sql(amount: str, min_minor: str, max_minor: str) -> str:
    return (
        f"(CASE WHEN ({min_minor}) IS NOT NULL AND {amount} < ({min_minor}) THEN ({min_minor})"
        f" WHEN ({max_minor}) IS NOT NULL AND {amount} > ({max_minor}) THEN ({max_minor})"
        f" ELSE {amount} END)"
    )


def reseller_fee_sql(
    price: str, percent_bps: str, fixed_minor: str, min_minor: str, max_minor: str
) -> str:
    raw = f"({percent_of_sql(price, percent_bps)} + ({fixed_minor}))"
    return clamp_sql(raw, min_minor, max_minor)


def gateway_fee_sql(price: str, percent_bps: str, fixed_minor: str) -> str:
    return f"({percent_of_sql(price, percent_bps)} + ({fixed_minor}))"


# --- Presentation -------------------------------------------------------------


def minor_to_major(amount_minor: int, currency: str) -> Decimal:
    """Exact major units for display, by the pinned ISO 4217 exponent (never a float)."""
    return Decimal(amount_minor).scaleb(-ISO4217_EXPONENTS[currency])


def format_minor(amount_minor: int, currency: str) -> str:
    """'20.00 GBP', '2000 JPY', '1.500 KWD'."""
    exponent = ISO4217_EXPONENTS[currency]
    return f"{minor_to_major(amount_minor, currency):.{exponent}f} {currency}"
