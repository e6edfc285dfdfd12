"""Catalog rows as form choices, read through the catalog's selectors."""

from __future__ import annotations

from partnerhub.catalog.selectors import currency_list, fee_type_list, limit_list


def currency_codes() -> list[str]:
    return [c.code for c in currency_list().order_by("code")]


def fee_type_choices() -> list[tuple[str, str]]:
    return [(t.key, t.name) for t in fee_type_list().order_by("id")]


def limit_rows() -> list[tuple[str, str, str]]:
    """(key, name, description) in the catalog's order."""
    return [(lim.key, lim.name, lim.description) for lim in limit_list().order_by("id")]
