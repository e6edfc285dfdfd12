"""Template filters of the hub: money in minor units, basis points, seed texts."""

from __future__ import annotations

from typing import Any

from django import template

from partnerhub.core import wording
from partnerhub.core.money import bps_to_percent_str, format_money
from partnerhub.plans.views import delete_confirmation as plan_delete_confirmation

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str) -> str:
    return format_money(amount_minor, currency)


@register.filter
def percent(bps: int | None) -> str:
    return "—" if bps is None else f"{bps_to_percent_str(bps)} %"


@register.filter
def delete_confirmation(name: str) -> str:
    return plan_delete_confirmation(name)


@register.filter
def archive_warning(plan: Any) -> str:
    """The warning before archiving the reseller's default registration plan, else ""."""
    reseller = plan.reseller
    if plan.archived or reseller.default_registration_plan_id != plan.pk:
        return ""
    return wording.archive_default_plan_warning(plan.name, reseller.name)


@register.filter
def get_item(mapping: dict, key: str):  # type: ignore[no-untyped-def,type-arg]
    return mapping.get(key) if mapping else None
