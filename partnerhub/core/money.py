"""Showing and reading money in the hub: integers in minor units, never floats."""

from __future__ import annotations

import re

from partnerhub.core import wording
from partnerhub.core.iso4217 import ISO4217_EXPONENTS


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


def bps_to_percent_str(bps: int | None) -> str:
    """250 -> "2.5"; 1800 -> "18"."""
    if bps is None:
        return ""
    whole, frac = divmod(bps, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") if frac else str(whole)


# Money and percent input (SPEC §2, issue 10 item 3): digits with at most one decimal point
# and no more decimals than the currency's exponent. A comma is read only where it cannot be
# mistaken: as thousands grouping of an amount that also has its decimal point
# ("1,250.00"). "1,50" (a decimal comma, or a typo for 150?) and "1e3" are refused at the
# field, never guessed: guessing turned 1,50 into 150.00.
_PLAIN_AMOUNT = re.compile(r"(?P<whole>\d*)(?:\.(?P<frac>\d*))?", re.ASCII)
_GROUPED_AMOUNT = re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+)\.(?P<frac>\d*)", re.ASCII)
_MAX_WHOLE_DIGITS = 15  # far above any price; keeps minor units inside a 64-bit integer


def _has_digit(raw: str) -> bool:
    return any("0" <= c <= "9" for c in raw)


def amount_format_hint(currency: str) -> str:
    """How an amount in this currency is written, for error messages and placeholders."""
    exp = exponent(currency)
    if not exp:
        return f"Enter a whole amount such as 1250: {currency} amounts take no decimals."
    example = "1250." + "5" * exp
    places = f"{exp} decimal place{'s' if exp != 1 else ''}"
    return (
        f'Enter an amount such as {example}: digits, one "." and at most {places} '
        f"(no other signs or separators)."
    )


class AmountTooLarge(ValueError):
    """More digits than any amount the hub accepts; the caller says the highest one."""


def major_str_to_minor(text: str, currency: str) -> int:
    """ "999.5" INR -> 99950. Raises ValueError with a message a person can act on."""
    exp = exponent(currency)
    raw = text.strip()
    if raw.startswith("-") and _PLAIN_AMOUNT.fullmatch(raw[1:]) and _has_digit(raw):
        raise ValueError(wording.AMOUNT_NOT_NEGATIVE)
    match = _PLAIN_AMOUNT.fullmatch(raw) or _GROUPED_AMOUNT.fullmatch(raw)
    if match is None or not _has_digit(raw):
        raise ValueError(amount_format_hint(currency))
    whole = (match["whole"] or "0").replace(",", "")
    frac = match["frac"] or ""
    if len(frac) > exp:
        raise ValueError(amount_format_hint(currency))
    if len(whole.lstrip("0")) > _MAX_WHOLE_DIGITS:
        raise AmountTooLarge("The amount is too large.")
    scale: int = 10**exp
    return int(whole) * scale + int(frac.ljust(exp, "0") or "0")


_PERCENT = _PLAIN_AMOUNT
PERCENT_HINT = 'Enter a percentage such as 2.75: digits, one "." and at most 2 decimals.'


def percent_str_to_bps(text: str) -> int:
    """ "2.75" -> 275 basis points; the same strictness as amounts."""
    raw = text.strip()
    if raw.startswith("-") and _PERCENT.fullmatch(raw[1:]) and _has_digit(raw):
        raise ValueError(wording.PERCENT_NOT_NEGATIVE)
    match = _PERCENT.fullmatch(raw)
    if match is None or not _has_digit(raw):
        raise ValueError(PERCENT_HINT)
    whole, frac = match["whole"] or "0", match["frac"] or ""
    if len(frac) > 2:
        raise ValueError(PERCENT_HINT)
    if len(whole.lstrip("0")) > 7:
        raise AmountTooLarge("The percentage is too large.")
    return int(whole) * 100 + int(frac.ljust(2, "0"))
