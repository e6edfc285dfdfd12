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

from partnerhub.companies.selectors import company_get_for_actor, resolve_entitlements
from partnerhub.core.actor import Actor

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


def company_entitlements_cached(actor: Actor, company_id: int) -> tuple[dict[str, Any], str]:
    """(entitlements as the SPEC §12 dict, its ETag). Tenant-checked like the selector."""
    company = company_get_for_actor(actor, company_id)
    reseller_key = _reseller_key(company.reseller_id)
    gens = cache.get_many([_GLOBAL, reseller_key])
    plan_stamp = company.plan.updated_at.timestamp() if company.plan else 0  # type: ignore[union-attr]
    key = (
        f"ent:c{company.pk}:{gens.get(_GLOBAL, 0)}:{gens.get(reseller_key, 0)}:"
        f"{company.updated_at.timestamp()}:{company.plan_id}:{plan_stamp}"
    )
    hit = cache.get(key)
    if hit is not None:
        return hit
    data = resolve_entitlements(company).as_dict()
    result = (data, etag_for(data))
    cache.set(key, result, TTL_SECONDS)
    return result
