"""Rate limit for self-service registration, shared by the web form and the API.

A fixed window per client key in Django's cache: `add` creates the counter
only if absent and `incr` is atomic, so concurrent attempts (also across
processes with a shared cache such as Redis) never lose a count.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from partnerhub.core.errors import RateLimited


def _now() -> int:
    return int(time.time())


def _cache_key(client_key: str, window_start: int) -> str:
    # Hashed: client keys are addresses or headers, not safe cache-key material.
    digest = hashlib.sha256(client_key.encode()).hexdigest()[:32]
    return f"registration-rate:{digest}:{window_start}"


def registration_rate_check(client_key: str) -> None:
    """Count one attempt; raise RateLimited(retry_after=seconds) once over the limit."""
    limit = settings.REGISTRATION_RATE_LIMIT
    window = max(1, settings.REGISTRATION_RATE_WINDOW_SECONDS)
    now = _now()
    window_start = now - now % window
    key = _cache_key(client_key, window_start)
    cache.add(key, 0, timeout=window + 1)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first attempt
        cache.add(key, 1, timeout=window + 1)
        attempts = 1
    if attempts > limit:
        retry_after = max(1, window_start + window - now)
        raise RateLimited(
            f"Too many registration attempts. Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )
