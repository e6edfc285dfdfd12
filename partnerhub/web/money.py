"""Showing and reading money in the hub: integers in minor units, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from partnerhub.catalog.iso4217 import ISO4217_EXPONENTS


def exponent(currency: str) -> int:
    return ISO4217_EXPONENTS.get(currency, 2)


def minor_to_major_str(amount_minor: int | None, currency: str) -> str:
    """99900 INR -> "999.00"; 500 JPY -> "500"."""
    if amount_minor is None:
        return ""
    exp = exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"


def format_money(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None:
        return "—"
    text = minor_to_major_str(amount_minor, currency)
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-')):,}"
    return f"{currency} {sign}{grouped}{'.' + frac if frac else ''}"


def major_str_to_minor(text: str, currency: str) -> int:
    """ "999.5" INR -> 99950. Raises ValueError with a message a person can act on."""
    exp = exponent(currency)
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError("Enter an amount such as 12.50.") from None
    if not value.is_finite():
        raise ValueError("Enter an amount such as 12.50.")
    if value < 0:
        raise ValueError("The amount must not be negative.")
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        places = f"{exp} decimal place{'s' if exp != 1 else ''}" if exp else "no decimals"
        raise ValueError(f"{currency} amounts take {places}.")
    return int(scaled)


def bps_to_percent_str(bps: int | None) -> str:
    """250 -> "2.5"; 1800 -> "18"."""
    if bps is None:
        return ""
    whole, frac = divmod(bps, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") if frac else str(whole)


def percent_str_to_bps(text: str) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError("Enter a percentage such as 2.5.") from None
    if not value.is_finite() or value < 0:
        raise ValueError("Enter a percentage of 0 or more.")
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise ValueError("Use at most two decimals (e.g. 2.75).")
    return int(scaled)
