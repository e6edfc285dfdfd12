"""Catalog rows as form choices, read through the catalog's selectors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from partnerhub.catalog.selectors import currency_list, fee_type_list, limit_list


def currency_codes() -> list[str]:
    return [c.code for c in currency_list().order_by("code")]


def fee_type_choices() -> list[tuple[str, str]]:
    return [(t.key, t.name) for t in fee_type_list().order_by("id")]


def limit_rows() -> list[tuple[str, str, str]]:
    """(key, name, description) in the catalog's order."""
    return [(lim.key, lim.name, lim.description) for lim in limit_list().order_by("id")]


def plan_state_label(plan: Any) -> str:
    """Why a stored plan is not on offer: shown next to it so the form can carry it."""
    if plan.deleted:
        return "deleted"
    if plan.archived:
        return "archived"
    if not plan.enabled:
        return "disabled"
    return "current"


def plan_dropdown_choices(
    assignable: Iterable[Any], current: Any | None, *, none_label: str, offer_plans: bool = True
) -> list[Any]:
    """A plan dropdown (SPEC §4): the assignable plans, hidden ones grouped under
    "Hidden plans", and the stored plan even when it is no longer on offer (archived,
    disabled, deleted, or the reseller lost the `plans` feature), marked as such: a form
    that cannot show the stored value posts it back empty and loses it (issue 10)."""
    offered = list(assignable) if offer_plans else []
    visible = [(str(p.pk), f"{p.name} — {p.display_name}") for p in offered if p.visible]
    hidden = [(str(p.pk), f"{p.name} — {p.display_name}") for p in offered if not p.visible]
    choices: list[Any] = [("", none_label)]
    if current is not None and all(p.pk != current.pk for p in offered):
        choices.append((str(current.pk), f"{current.name} ({plan_state_label(current)})"))
    choices.extend(visible)
    if hidden:
        choices.append(("Hidden plans", hidden))
    return choices
