"""Template filters of the statement pages."""

from __future__ import annotations

from django import template

from partnerhub.core.money import format_money

register = template.Library()


@register.filter
def amount(amount_minor: int | None, currency: str) -> str:
    """Money without its currency code, for a table whose heading names the currency once
    (a statement's lines: ten columns of "INR …" do not fit a page)."""
    return format_money(amount_minor, currency).removeprefix(f"{currency} ")
