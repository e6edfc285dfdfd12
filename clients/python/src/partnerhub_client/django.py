"""The Django webhook view: `path("partnerhub/webhooks", client.django_view())`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

if TYPE_CHECKING:
    from partnerhub_client.client import Partnerhub


def webhook_view(client: Partnerhub) -> Any:
    """CSRF-exempt (Partnerhub signs instead), POST only; see webhooks.py for the answers."""
    handler = client.webhooks

    @csrf_exempt
    @require_POST
    def partnerhub_webhook(request: HttpRequest) -> HttpResponse:
        result = handler.handle(request.body, dict(request.headers))
        return HttpResponse(result.body, status=result.status, content_type="application/json")

    return partnerhub_webhook
