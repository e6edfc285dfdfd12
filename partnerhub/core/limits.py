"""Bounds every layer shares: what the database and the SQL fee rule can hold.

The API schemas (core/schemas.py), the services' validation and the fee arithmetic
all read these, so a bound is stated once.
"""

from __future__ import annotations

# minor units; 10^12 * 10^4 bps = 10^16 < 2^63 (signed 64-bit on both databases).
MAX_PRICE_MINOR = 10**12
# The highest plan price (a subscription price, not a fee amount), in minor units.
MAX_PLAN_PRICE_MINOR = 10**15
# The highest plan or company limit value (messages, team members, …): one bound for the
# API schemas, the services and the hub forms, so a value one channel takes the others take.
MAX_LIMIT_VALUE = 2**31 - 1
