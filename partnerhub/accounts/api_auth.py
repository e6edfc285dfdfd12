"""Who is calling: a bearer API key (or a hub session), turned into an Actor.

The key check itself (hash lookup, constant-time compare, revocation) is
accounts.authentication.api_key_authenticate; this module only reads the header.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from partnerhub.accounts.authentication import (
    KeyLookupExtra,
    actor_for_user,
    api_key_authenticate_with,
)
from partnerhub.core.actor import Actor

# Keys are short; anything longer is not one of ours and is not worth hashing.
MAX_KEY_LENGTH = 256


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        token = token.strip()
        if not token or len(token) > MAX_KEY_LENGTH:
            return None
        extra = self.lookup_extra(request)
        actor, row = api_key_authenticate_with(token, extra)
        if extra is not None and actor is not None:
            cast(Any, request).key_lookup_extra = row
        return actor

    def lookup_extra(self, request: HttpRequest) -> KeyLookupExtra | None:
        """A hot endpoint's own read, to run in the key lookup's statement; its row is left
        on the request for the view (`key_lookup_extra`)."""
        return None


def key_lookup_extra(request: HttpRequest) -> tuple[Any, ...] | None:
    """The row an endpoint's `ApiKeyAuth.lookup_extra` read with the key, if any (a hub
    session's request has none)."""
    return cast(tuple[Any, ...] | None, getattr(request, "key_lookup_extra", None))


class HubSessionAuth(SessionAuth):
    """A logged-in hub user may call the API from the browser (CSRF-checked by ninja)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return actor_for_user(user)


def actor_of(request: HttpRequest) -> Actor:
    """The authenticated actor of a request that went through the API's auth."""
    return cast(Actor, cast(Any, request).auth)
