"""Who is calling: a hub user's or a bearer API key's Actor (the authentication hot path).

The API (`accounts/api_auth.py`) and the hub (`accounts/hub.py`) read the request; the
decision is here. Key management (create, revoke) is in accounts/services.py.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from partnerhub.accounts.models import ApiKey, Membership
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, Role

KEY_PREFIX = "ph"
# last_used_at is a hint for humans, not an access log: writing it at most once
# a minute keeps the authentication hot path read-only.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_SCOPE_ROLES = {
    ApiKey.Scope.PLATFORM: Role.PLATFORM,
    ApiKey.Scope.RESELLER_ADMIN: Role.RESELLER_ADMIN,
    ApiKey.Scope.RESELLER_VIEWER: Role.RESELLER_VIEWER,
    ApiKey.Scope.COMPANY: Role.COMPANY,
}
_MEMBERSHIP_ROLES = {
    Membership.Role.PLATFORM: Role.PLATFORM,
    Membership.Role.ADMIN: Role.RESELLER_ADMIN,
    Membership.Role.VIEWER: Role.RESELLER_VIEWER,
}


def actor_for_user(user: AbstractBaseUser | AnonymousUser | None) -> Actor | None:
    """The Actor a logged-in hub user acts as, or None when the user has no role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    label = f"user:{user.get_username()}"
    membership = Membership.objects.filter(user_id=user.pk).first()
    if membership is not None:
        return Actor(
            role=_MEMBERSHIP_ROLES[Membership.Role(membership.role)],
            reseller_id=membership.reseller_id,
            user_id=user.pk,
            label=label,
        )
    if getattr(user, "is_superuser", False):
        return Actor(role=Role.PLATFORM, user_id=user.pk, label=label)
    return None


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _parse_raw_key(raw_key: str) -> str | None:
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


@dataclass(frozen=True)
class KeyLookupExtra:
    """A read that rides along in the key lookup's own statement, saving a hot endpoint a
    database round trip: `sql` selects at most one row (a derived table joined to the
    key's row; no row gives NULLs). It must not depend on who is asking: the caller
    applies the actor's scope to the row (companies/cache.py)."""

    sql: str
    params: tuple[Any, ...]


def _key_lookup_sql(extra: KeyLookupExtra | None = None) -> str:
    """The one statement behind every API request: a key by its prefix, with its company's
    reseller and whether `last_used_at` is due for an update. Written as SQL because the
    ORM spends three times the database's own time compiling it (bench/api.py)."""
    key, company = ApiKey._meta.db_table, Company._meta.db_table
    return (
        "SELECT k.id, k.hashed_secret, k.scope, k.reseller_id, k.company_id, c.reseller_id, "
        "k.revoked_at IS NOT NULL, k.last_used_at IS NULL OR k.last_used_at < %s"
        + (", x.*" if extra else "")
        + f" FROM {key} k LEFT JOIN {company} c ON c.id = k.company_id"
        + (f" LEFT JOIN ({extra.sql}) x ON 1 = 1" if extra else "")
        + " WHERE k.prefix = %s"
    )


def api_key_authenticate(raw_key: str) -> Actor | None:
    """The Actor a bearer key stands for, or None for an unknown, wrong or revoked key."""
    return api_key_authenticate_with(raw_key, None)[0]


def api_key_authenticate_with(
    raw_key: str, extra: KeyLookupExtra | None
) -> tuple[Actor | None, tuple[Any, ...] | None]:
    """`api_key_authenticate`, plus the row of `extra` read in the same statement (None
    when the key is not accepted)."""
    raw_key = (raw_key or "").strip()
    prefix = _parse_raw_key(raw_key)
    if prefix is None:
        return None, None
    now = timezone.now()
    stale_before = connection.ops.adapt_datetimefield_value(now - LAST_USED_RESOLUTION)
    params = [stale_before, *(extra.params if extra else ()), prefix]
    with connection.cursor() as cursor:
        cursor.execute(_key_lookup_sql(extra), params)
        row = cursor.fetchone()
    if row is None:
        # Hash anyway, so a wrong prefix costs as long as a wrong secret.
        hmac.compare_digest(_hash_key(raw_key), "0" * 64)
        return None, None
    key_id, hashed_secret, scope, reseller_id, company_id, company_reseller_id, revoked, touch = (
        row[:8]
    )
    if not hmac.compare_digest(_hash_key(raw_key), hashed_secret):
        return None, None
    if revoked:
        return None, None
    if touch:
        _touch_last_used(key_id, now)
    actor = Actor(
        role=_SCOPE_ROLES[ApiKey.Scope(scope)],
        reseller_id=company_reseller_id if company_id is not None else reseller_id,
        company_id=company_id,
        api_key_id=key_id,
        label=f"key:{prefix}",
    )
    return actor, (tuple(row[8:]) if extra else None)


def _touch_last_used(key_id: int, now: datetime) -> None:
    # Conditional UPDATE: of several concurrent requests at most one writes.
    ApiKey.objects.filter(pk=key_id).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
