"""Rate limit for self-service registration, shared by the web form and the API.

A fixed window per client key, counted in the database (accounts.ratecounter): every web
process counts against the same number, on the embedded SQLite default as on PostgreSQL,
whatever the cache backend (local memory is per process).
"""

from __future__ import annotations

from django.conf import settings

from partnerhub.accounts.ratecounter import counter_hit, window_for
from partnerhub.core.errors import RateLimited


def registration_rate_check(client_key: str) -> None:
    """Count one attempt; raise RateLimited(retry_after=seconds) once over the limit."""
    window = window_for("registration", client_key, settings.REGISTRATION_RATE_WINDOW_SECONDS)
    if counter_hit(window) > settings.REGISTRATION_RATE_LIMIT:
        retry_after = window.retry_after
        raise RateLimited(
            f"Too many registration attempts. Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )
