"""Cached entitlements with an ETag.

The cache key carries everything a resolved configuration depends on, so a
write never has to find and delete entries: the company's and its plan's
`updated_at` (every company and plan service saves them), a per-reseller
generation (bumped by reseller writes: features, fee schedule) and a global
generation (bumped by catalog writes). Old entries simply stop being read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from partnerhub.companies.models import Company
from partnerhub.companies.selectors import _scope as company_scope
from partnerhub.companies.selectors import company_get_for_actor, resolve_entitlements
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound

_GLOBAL = "ent:gen:all"
TTL_SECONDS = 3600


def _reseller_key(reseller_id: int) -> str:
    return f"ent:gen:r{reseller_id}"


def entitlements_invalidate(*, reseller_id: int | None) -> None:
    """Make every cached entitlement of one reseller (None: of all resellers) stale."""
    key = _GLOBAL if reseller_id is None else _reseller_key(reseller_id)
    cache.add(key, 0, None)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, None)


def etag_for(data: dict[str, Any]) -> str:
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _key_parts(actor: Actor, company_id: int) -> tuple[int, int | None, Any, Any]:
    """(reseller id, plan id, company and plan `updated_at`) in one narrow query that builds
    no model: the cached path's only database work. Tenant-scoped like the selector."""
    rows = list(
        Company.objects.filter(company_scope(actor), pk=company_id)
        .order_by()
        .values_list("reseller_id", "plan_id", "updated_at", "plan__updated_at")[:1]
    )
    if not rows:
        raise NotFound("Company not found.")
    return rows[0]


def company_entitlements_cached(actor: Actor, company_id: int) -> tuple[dict[str, Any], str]:
    """(entitlements as the SPEC §12 dict, its ETag). Tenant-checked like the selector."""
    reseller_id, plan_id, company_stamp, plan_updated_at = _key_parts(actor, company_id)
    reseller_key = _reseller_key(reseller_id)
    gens = cache.get_many([_GLOBAL, reseller_key])
    plan_stamp = plan_updated_at.timestamp() if plan_updated_at else 0
    key = (
        f"ent:c{company_id}:{gens.get(_GLOBAL, 0)}:{gens.get(reseller_key, 0)}:"
        f"{company_stamp.timestamp()}:{plan_id}:{plan_stamp}"
    )
    hit = cache.get(key)
    if hit is not None:
        return hit
    data = resolve_entitlements(company_get_for_actor(actor, company_id)).as_dict()
    result = (data, etag_for(data))
    cache.set(key, result, TTL_SECONDS)
    return result
