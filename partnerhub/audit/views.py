"""The audit log, filterable by object and actor (SPEC §10)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from partnerhub.accounts.hub import actor_of, hub_view
from partnerhub.audit.selectors import audit_event_list_for_actor
from partnerhub.audit.text import audit_line, plan_ids_in
from partnerhub.plans.selectors import plan_names

OBJECT_TYPES = [
    "plan",
    "company",
    "reseller",
    "sale_item",
    "job",
    "api_key",
    "feature",
    "gateway_fees",
    "tax",
    "user",
]


def _lines(events: list[Any]) -> list[tuple[Any, Any]]:
    """Each row with its sentences; the plans they mention named with one query."""
    names = plan_names(plan_ids_in(events))
    return [(event, audit_line(event, names)) for event in events]


def _labels_for(typed: str) -> list[str]:
    """A person types a username ("northwind-admin"); rows store "user:northwind-admin"."""
    typed = typed.strip()
    return [typed, f"user:{typed}", f"key:{typed}"]


@hub_view
def audit_list(request: HttpRequest) -> HttpResponse:
    get = request.GET
    object_type = get.get("object_type", "").strip()
    object_id_raw = get.get("object_id", "").strip()
    actor_label = get.get("actor", "").strip()
    events = audit_event_list_for_actor(
        actor_of(request),
        object_type=object_type or None,
        object_id=int(object_id_raw) if object_id_raw.isdigit() else None,
        actor_labels=_labels_for(actor_label) if actor_label else None,
    )
    page = Paginator(events, 50).get_page(get.get("page"))
    context = {
        "page": page,
        "lines": _lines(list(page.object_list)),
        "object_types": OBJECT_TYPES,
        "filters": {"object_type": object_type, "object_id": object_id_raw, "actor": actor_label},
    }
    return render(request, "audit/list.html", context)
