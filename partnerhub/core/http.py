"""Request facts shared by the API and the web hub."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address, for per-client limits.

    REMOTE_ADDR unless the deployment declares how many reverse proxies it runs behind
    (setting PARTNERHUB_TRUSTED_PROXIES, default 0): then the address that many hops from
    the right of X-Forwarded-For, the one the outermost trusted proxy saw. Never the
    left-most entry, which any client can write.
    """
    proxies = settings.PARTNERHUB_TRUSTED_PROXIES
    if proxies > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR") or "unknown")
