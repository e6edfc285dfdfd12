"""The audit log, filterable by object and actor (SPEC §10)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from partnerhub.accounts.hub import actor_of, hub_view
from partnerhub.audit.selectors import audit_event_list_for_actor

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
        actor_label=actor_label or None,
    )
    page = Paginator(events, 50).get_page(get.get("page"))
    context = {
        "page": page,
        "object_types": OBJECT_TYPES,
        "filters": {"object_type": object_type, "object_id": object_id_raw, "actor": actor_label},
    }
    return render(request, "audit/list.html", context)
