"""Cached entitlements with an ETag.

The cache key carries everything a resolved configuration depends on, so a write never
has to find and delete entries: the company's and its plan's `updated_at` (every company
and plan service saves them) and the reseller's entitlements version (bumped by reseller
features and fees and by catalog writes, resellers/versions.py). All of them are read
from the database in one narrow query, so a write in one web process is seen at once by
every other, whatever the cache backend. Old entries simply stop being read.

A company detached from a deleted plan reads that plan's `PlanSnapshot` (models.py): no
stamp of it is needed, since a snapshot never changes and the delete sets the company's
`updated_at`; copying the snapshot in on the company's first own write changes nothing the
company gets.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from partnerhub.companies.models import Company
from partnerhub.companies.selectors import (
    company_get_for_actor,
    company_visible_to,
    resolve_entitlements,
)
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound
from partnerhub.core.versioned_cache import versioned_get, versioned_set
from partnerhub.plans.models import Plan
from partnerhub.resellers.models import ResellerVersions

TTL_SECONDS = 3600


def etag_for(data: dict[str, Any]) -> str:
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def stamps_sql() -> str:
    """What company %s's cache key is made of, as one row: id, reseller, `updated_at`, plan
    id, the plan's `updated_at`, the reseller's entitlements version.
    Not scoped: `_cache_key` checks the actor. The entitlements endpoint reads it inside
    the API key lookup's own statement (companies/api.py, EntitlementsKeyAuth)."""
    companies, plans = Company._meta.db_table, Plan._meta.db_table
    versions = ResellerVersions._meta.db_table
    return (
        f"SELECT c.id, c.reseller_id, c.updated_at AS company_updated_at, c.plan_id, "
        f"p.updated_at AS plan_updated_at, v.entitlements "
        f"FROM {companies} c LEFT JOIN {plans} p ON p.id = c.plan_id "
        f"LEFT JOIN {versions} v ON v.reseller_id = c.reseller_id "
        f"WHERE c.id = %s"
    )


def _read_stamps(company_id: int) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(stamps_sql(), [company_id])
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def _cache_key(actor: Actor, company_id: int, stamps: tuple[Any, ...] | None = None) -> str | None:
    """The entry's key, from the company's stamps: read here by one query that builds no
    model, unless the caller already has them (`stamps`, as `stamps_sql` selects them).
    Tenant-scoped like the selector (an outsider's id is NotFound); None when the key
    cannot be told (no version row), so nothing is cached."""
    if stamps is None or stamps[0] != company_id:
        stamps = _read_stamps(company_id)
    if (
        stamps is None
        or stamps[0] is None
        or not company_visible_to(actor, pk=company_id, reseller_id=stamps[1])
    ):
        raise NotFound("Company not found.")
    _id, _reseller, company_stamp, plan_id, plan_stamp, version = stamps
    if version is None:
        return None
    return f"ent:c{company_id}:{version}:{_stamp(company_stamp)}:{plan_id}:{_stamp(plan_stamp)}"


def _stamp(value: Any) -> str:
    """An `updated_at` as read by a raw cursor (a datetime, or text on SQLite), without
    spaces: cache keys must be portable to any backend."""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text.replace(" ", "T")


def company_entitlements_cached(
    actor: Actor, company_id: int, stamps: tuple[Any, ...] | None = None
) -> tuple[bytes, str]:
    """(entitlements as the SPEC §12 JSON body, its ETag). Tenant-checked like the selector.

    The entry holds the rendered body, not the dict: a hit is the stamps query (none when
    `stamps` are given), one cache read of two small strings and no JSON work."""
    key = _cache_key(actor, company_id, stamps)
    hit = versioned_get(key) if key is not None else None
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    data = resolve_entitlements(company_get_for_actor(actor, company_id)).as_dict()
    result = (json.dumps(data, cls=DjangoJSONEncoder).encode(), etag_for(data))
    if key is not None:
        versioned_set(key, result, TTL_SECONDS)
    return result
