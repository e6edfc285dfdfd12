"""Partnerhub for host platforms: typed API, cached entitlements, batched usage, webhooks.

from partnerhub_client import Partnerhub
partnerhub = Partnerhub("https://partnerhub.example.com", api_key=KEY, webhook_secret=WHSEC)
if partnerhub.entitlements(company_id).has("seating"): ...
partnerhub.record_usage(company_id, "messages", 1)
urlpatterns += [path("partnerhub/webhooks", partnerhub.django_view())]
"""

from __future__ import annotations

__version__ = "0.1.0"

from partnerhub_client import models
from partnerhub_client.client import Partnerhub, new_id
from partnerhub_client.entitlements import Entitlements, Fallback
from partnerhub_client.errors import (
    ApiError,
    AuthenticationError,
    Conflict,
    NotFound,
    PartnerhubError,
    PermissionDenied,
    RateLimited,
    ServerError,
    Unavailable,
    UsageQueueFull,
    ValidationError,
    WebhookVerificationError,
)

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Conflict",
    "Entitlements",
    "Fallback",
    "NotFound",
    "Partnerhub",
    "PartnerhubError",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "Unavailable",
    "UsageQueueFull",
    "ValidationError",
    "WebhookVerificationError",
    "models",
    "new_id",
]
