"""The statements' arithmetic (SPEC §15), in integers of minor units: one home for the
rounding rules, so the Python computation, the SQL checks and the docs say the same.

- `round_half_up(n, d)` rounds n/d to the nearest integer, halves away from zero: a credit
  of -x is exactly the negated charge of x, so a plan change's credit and charge mirror.
- GST is charged per line: `round_half_up(net x rate_bps, 10000)`.
- A revenue share is per line: `round_half_up(shareable x share_bps, 10000)`.
- Proration is day-based with cumulative rounding: days [a, b) of an N-day period cost
  `round_half_up(price x b, N) - round_half_up(price x a, N)`, so however a period is cut
  the pieces add up to the whole price exactly.
"""

from __future__ import annotations

BPS = 10_000  # basis points in a whole


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def gst_of(net_minor: int, rate_bps: int) -> int:
    """GST on one line's net, in minor units (half-up per line)."""
    return round_half_up(net_minor * rate_bps, BPS)


def share_of(amount_minor: int, share_bps: int) -> int:
    """The reseller's share of an amount, in minor units (half-up per line)."""
    return round_half_up(amount_minor * share_bps, BPS)


def prorated(price_minor: int, day_from: int, day_to: int, days: int) -> int:
    """What days [day_from, day_to) of a `days`-day period cost of `price_minor`."""
    return round_half_up(price_minor * day_to, days) - round_half_up(price_minor * day_from, days)
