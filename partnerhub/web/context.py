"""The hub's navigation: each role sees only what it may use (SPEC §1, §9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from partnerhub.accounts.hub import request_actor
from partnerhub.core.actor import Actor
from partnerhub.plans.selectors import PLANS_UNAVAILABLE
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.selectors import reseller_get_for_actor


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    prefix: str  # the path prefix that marks this item current
    disabled_reason: str = ""


def _statements_url(reseller: Reseller | None) -> str:
    """A reseller member goes straight to its own statements; the operator picks one."""
    if reseller is None:
        return reverse("statements:home")
    return reverse("statements:reseller", args=[reseller.pk])


def _items(actor: Actor, reseller: Reseller | None) -> list[tuple[str, list[NavItem]]]:
    workspace = [NavItem("Dashboard", reverse("web:home"), "/dashboard")]
    if reseller is not None and not reseller.has_plans_feature():
        workspace.append(NavItem("Plans", "", "/plans/", disabled_reason=PLANS_UNAVAILABLE))
    else:
        workspace.append(NavItem("Plans", reverse("plans:list"), "/plans/"))
    workspace += [
        NavItem("Companies", reverse("companies:list"), "/companies/"),
        NavItem("Statements", _statements_url(reseller), "/statements/"),
        NavItem("Recalculation jobs", reverse("fees:job_list"), "/jobs/"),
    ]
    sections = [("Workspace", workspace)]
    settings_items = [NavItem("Audit log", reverse("audit:list"), "/audit/")]
    if reseller is not None:
        settings_items.insert(
            0,
            NavItem(
                "Reseller settings",
                reverse("resellers:edit", args=[reseller.pk]),
                f"/resellers/{reseller.pk}/",
            ),
        )
    if actor.can_write:
        settings_items.append(NavItem("API keys", reverse("accounts:api_keys"), "/api-keys/"))
    if actor.is_platform or actor.is_reseller_member:
        settings_items.append(NavItem("Webhooks", reverse("webhooks:page"), "/webhooks/"))
    if actor.is_platform:
        sections.append(
            (
                "Platform",
                [
                    NavItem("Resellers", reverse("resellers:list"), "/resellers/"),
                    NavItem("Catalog", reverse("catalog:index"), "/catalog/"),
                ],
            )
        )
    sections.append(("Settings", settings_items))
    return sections


def navigation(request: HttpRequest) -> dict[str, Any]:

    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    actor = request_actor(request)
    if actor is None:
        return {}
    reseller = None
    if actor.reseller_id is not None:
        reseller = reseller_get_for_actor(actor, actor.reseller_id)
    path = request.path
    sections = []
    for heading, items in _items(actor, reseller):
        sections.append(
            (heading, [(item, bool(item.url) and path.startswith(item.prefix)) for item in items])
        )
    if path == "/" or path.startswith("/dashboard"):
        sections[0] = (sections[0][0], [(i, i.label == "Dashboard") for i, _ in sections[0][1]])
    return {
        "nav_sections": sections,
        "hub_actor": actor,
        "hub_reseller": reseller,
        "can_write": actor.can_write,
    }
