"""Reading API keys: each actor sees only its own tenant's keys."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from partnerhub.accounts.models import ApiKey
from partnerhub.core.actor import Actor, reseller_scope
from partnerhub.core.errors import NotFound, PermissionDenied


def api_key_list_for_actor(actor: Actor) -> QuerySet[ApiKey]:
    """Platform: every key. Reseller member: its reseller's keys (its companies' included)."""
    if not (actor.is_platform or actor.is_reseller_member):
        raise PermissionDenied("This account cannot list API keys.")
    return ApiKey.objects.filter(reseller_scope(actor)).order_by("-id")


def api_key_get_for_actor(actor: Actor, api_key_id: int) -> ApiKey:
    key = api_key_list_for_actor(actor).filter(pk=api_key_id).first()
    if key is None:
        raise NotFound("Not found.")
    return key


def api_key_serialize(key: ApiKey) -> dict[str, Any]:
    """An API key as the API and the hub show it: never the secret, never its hash."""
    return {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "scope": key.scope,
        "reseller_id": key.reseller_id,
        "company_id": key.company_id,
        "created_at": key.created_at.isoformat() if key.created_at else None,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked": key.revoked_at is not None,
    }
