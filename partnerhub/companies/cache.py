"""Cached entitlements with an ETag.

The cache key carries everything a resolved configuration depends on, so a write never
has to find and delete entries: the company's and its plan's `updated_at` (every company
and plan service saves them) and the reseller's entitlements version (bumped by reseller
features and fees and by catalog writes, resellers/versions.py). All of them are read
from the database in one narrow query, so a write in one web process is seen at once by
every other, whatever the cache backend. Old entries simply stop being read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_get_for_actor, resolve_entitlements
from partnerhub.core.actor import Actor, Role
from partnerhub.core.errors import NotFound
from partnerhub.plans.models import Plan
from partnerhub.resellers.models import ResellerVersions

TTL_SECONDS = 3600


def etag_for(data: dict[str, Any]) -> str:
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _key_sql(scope: str) -> str:
    companies, plans = Company._meta.db_table, Plan._meta.db_table
    versions = ResellerVersions._meta.db_table
    return (
        f"SELECT c.updated_at, c.plan_id, p.updated_at, v.entitlements "
        f"FROM {companies} c LEFT JOIN {plans} p ON p.id = c.plan_id "
        f"LEFT JOIN {versions} v ON v.reseller_id = c.reseller_id "
        f"WHERE c.id = %s{scope}"
    )


def _cache_key(actor: Actor, company_id: int) -> str | None:
    """The entry's key, from one query that builds no model: the cached path's only
    database work. Tenant-scoped like the selector (an outsider's id is NotFound);
    None when the key cannot be told (no version row), so nothing is cached."""
    params: list[int | None] = [company_id]
    if actor.is_platform:
        scope = ""
    elif actor.role == Role.COMPANY:
        scope = " AND c.id = %s"
        params.append(actor.company_id)
    elif actor.is_reseller_member:
        scope = " AND c.reseller_id = %s"
        params.append(actor.reseller_id)
    else:
        raise NotFound("Company not found.")
    with connection.cursor() as cursor:
        cursor.execute(_key_sql(scope), params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Company not found.")
    company_stamp, plan_id, plan_stamp, version = row
    if version is None:
        return None
    return f"ent:c{company_id}:{version}:{_stamp(company_stamp)}:{plan_id}:{_stamp(plan_stamp)}"


def _stamp(value: Any) -> str:
    """An `updated_at` as read by a raw cursor (a datetime, or text on SQLite), without
    spaces: cache keys must be portable to any backend."""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text.replace(" ", "T")


def company_entitlements_cached(actor: Actor, company_id: int) -> tuple[dict[str, Any], str]:
    """(entitlements as the SPEC §12 dict, its ETag). Tenant-checked like the selector."""
    key = _cache_key(actor, company_id)
    hit = cache.get(key) if key is not None else None
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    data = resolve_entitlements(company_get_for_actor(actor, company_id)).as_dict()
    result = (data, etag_for(data))
    if key is not None:
        cache.set(key, result, TTL_SECONDS)
    return result
