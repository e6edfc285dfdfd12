"""Version counters that cached reads are keyed on (companies/cache.py; the plan list).

A cached entry is keyed on the counters it was built under, so a write never has to
find the entries it makes stale: it bumps a counter inside its own transaction, and
entries built under the old value are simply never read again. The counters live in
the database, not in the cache, so every web process sees a bump the moment it
commits, whatever the cache backend (local memory is per process).

A reseller's row starts at a random value, so that a database built again from
scratch (tests, benchmarks, a re-seeded demo) never repeats the keys an older one
left in a shared cache such as Redis.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import connection
from django.db.models import F
from django.db.models.signals import post_save

from partnerhub.audit.services import audit_record
from partnerhub.core.actor import Actor
from partnerhub.resellers.models import Reseller, ResellerVersions

_BASE_BITS = 40  # a million resellers' counters still sum inside a signed 64-bit integer


def _random_base() -> int:
    return secrets.randbelow(2**_BASE_BITS - 1) + 1


def versions_create(reseller_id: int) -> None:
    ResellerVersions.objects.get_or_create(
        reseller_id=reseller_id,
        defaults={"plans": _random_base(), "entitlements": _random_base()},
    )


def _on_reseller_saved(sender: Any, instance: Reseller, created: bool, **kwargs: Any) -> None:
    # Every path that creates a reseller (service, seed, fixtures, factories) gets its row.
    if created and not kwargs.get("raw"):
        versions_create(instance.pk)


post_save.connect(_on_reseller_saved, sender=Reseller, dispatch_uid="reseller-versions")


def versions_bump(reseller_id: int | None, *, entitlements: bool = False) -> None:
    """Inside the write's transaction: the reseller's plan lists (and, with `entitlements`,
    its companies' entitlements) may read differently now. None: every reseller's (a
    catalog change)."""
    rows = ResellerVersions.objects.all()
    if reseller_id is not None:
        rows = rows.filter(reseller_id=reseller_id)
    changes: dict[str, Any] = {"plans": F("plans") + 1}
    if entitlements:
        changes["entitlements"] = F("entitlements") + 1
    rows.update(**changes)


def write_recorded(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int,
    object_repr: str,
    reseller_id: int,
    old: dict[str, Any],
    new: dict[str, Any],
) -> None:
    """The tail every plan and company write repeats, inside its transaction: the
    reseller's plan lists may read differently now, and the audit row says who changed
    what (old and new)."""
    versions_bump(reseller_id)
    audit_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        reseller_id=reseller_id,
        old=old,
        new=new,
    )


def _tables() -> tuple[str, str]:
    return Reseller._meta.db_table, ResellerVersions._meta.db_table


def plans_version(actor: Actor) -> str | None:
    """The version of everything a plan list can show to this actor, as one cache-key part;
    None when it cannot be told (then nothing may be cached). One narrow query."""
    resellers, versions = _tables()
    if actor.is_platform:
        sql = (
            f"SELECT COUNT(*), COUNT(v.reseller_id), SUM(v.plans) "
            f"FROM {resellers} r LEFT JOIN {versions} v ON v.reseller_id = r.id"
        )
        params: list[Any] = []
    elif actor.is_reseller_member and actor.reseller_id is not None:
        sql = f"SELECT 1, COUNT(*), SUM(plans) FROM {versions} WHERE reseller_id = %s"
        params = [actor.reseller_id]
    else:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        resellers_count, with_versions, total = cursor.fetchone()
    if resellers_count != with_versions or total is None:
        return None
    return f"{resellers_count}.{total}"
